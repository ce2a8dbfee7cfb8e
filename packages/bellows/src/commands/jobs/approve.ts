import os from 'node:os';
import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { approveJob } from '@smokestack/core/bellows/job-actions';
import type { Job } from '@smokestack/core/model';

export default class JobsApprove extends SmokestackCommand {
  static override summary = 'Approve a failed job of a template without autoApprove, so "bellows comment" may vote -1.';
  static override examples = ['<%= config.bin %> jobs approve j42', '<%= config.bin %> jobs approve j42 --by carol --json'];
  static override args = { id: Args.string({ description: 'job id (see "bellows jobs list")', required: true }) };
  static override flags = {
    by: Flags.string({ description: 'who approves (default: the current user)', env: 'SMOKESTACK_USER' }),
  };

  async run(): Promise<{ job: Job }> {
    const { args, flags } = await this.parse(JobsApprove);
    const job = await approveJob(this.store, args.id, flags.by ?? os.userInfo().username, new Date());
    this.log(`Approved ${job.id} (${job.status}) of ${job.project} ${job.number},${job.patchSet}; the next "bellows comment" reports it.`);
    return { job };
  }
}
