import { Args } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { cancelJob } from '@smokestack/core/bellows/job-actions';
import type { Job } from '@smokestack/core/model';

export default class JobsCancel extends SmokestackCommand {
  static override summary = 'Cancel a queued or running job.';
  static override examples = ['<%= config.bin %> jobs cancel j42', '<%= config.bin %> jobs cancel j42 --json'];
  static override args = { id: Args.string({ description: 'job id (see "bellows jobs list")', required: true }) };

  async run(): Promise<{ job: Job }> {
    const { args } = await this.parse(JobsCancel);
    const job = await cancelJob(this.store, args.id, new Date());
    this.log(`Cancelled ${job.id} (${job.template} for ${job.project} ${job.number},${job.patchSet}).`);
    return { job };
  }
}
