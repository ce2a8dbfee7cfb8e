import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { parseAge } from '@smokestack/core/age';
import { pruneJobs, type PruneResult } from '@smokestack/core/queue/prune';

export default class JobsPrune extends SmokestackCommand {
  static override summary = 'Remove old finished jobs and their logs from the store (results of current patch sets are kept).';
  static override description =
    'Keeps the state store small: every update rewrites the whole file. Votes stay, so nothing is reported twice.';
  static override examples = ['<%= config.bin %> jobs prune --older-than 30d', '<%= config.bin %> jobs prune --older-than 2w --dry-run --json'];
  static override flags = {
    'older-than': Flags.string({ description: 'age of the jobs to remove: e.g. 12h, 30d, 8w', required: true }),
    'dry-run': Flags.boolean({ description: 'say what would be removed without removing it' }),
  };

  async run(): Promise<PruneResult> {
    const { flags } = await this.parse(JobsPrune);
    const olderThanMs = parseAge(flags['older-than']);
    const result = await pruneJobs(this.store, { olderThanMs, now: new Date(), dryRun: flags['dry-run'] });
    const verb = result.dryRun ? 'Would remove' : 'Removed';
    this.log(`${verb} ${result.remove.length} job(s) and ${result.logDirs.length} log directory(ies); kept ${result.keptCurrent} old job(s) that are results of current patch sets.`);
    return result;
  }
}
