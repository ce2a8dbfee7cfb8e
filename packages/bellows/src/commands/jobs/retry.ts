import { Args } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { retryJob } from '@smokestack/core/bellows/job-actions';
import type { Job } from '@smokestack/core/model';

export default class JobsRetry extends SmokestackCommand {
  static override summary = 'Queue a new attempt of a finished job of the current patch set.';
  static override examples = ['<%= config.bin %> jobs retry j42', '<%= config.bin %> jobs retry j42 --json'];
  static override args = { id: Args.string({ description: 'job id (see "bellows jobs list")', required: true }) };

  async run(): Promise<{ job: Job; previous: Job }> {
    const { args } = await this.parse(JobsRetry);
    const result = await retryJob(this.store, args.id, new Date());
    this.log(`Queued ${result.job.id}: attempt ${result.job.attempt} of ${result.job.template} for ${result.job.project} ${result.job.number},${result.job.patchSet}.`);
    return result;
  }
}
