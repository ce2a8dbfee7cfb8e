import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { createBellowsContext } from '@smokestack/core/bellows/context';
import { fireJobs, type FireResult } from '@smokestack/core/bellows/fire';

export default class Fire extends SmokestackCommand {
  static override summary = 'Queue jobs for current patch sets that have no job for a template yet (and infra retries that are due).';
  static override examples = ['<%= config.bin %> fire', '<%= config.bin %> fire openstack/nova --limit 5 --json'];
  static override strict = false;
  static override args = { project: Args.string({ description: 'only these configured projects (default: all)' }) };
  static override flags = {
    limit: Flags.integer({ char: 'n', description: 'fire at most this many patch sets, oldest change first', min: 1 }),
    'dry-run': Flags.boolean({ description: 'show what would be queued without touching the store' }),
  };

  async run(): Promise<FireResult> {
    const { argv, flags } = await this.parse(Fire);
    const ctx = createBellowsContext({ loaded: this.settings, store: this.store, logger: this.progress });
    const result = await fireJobs(ctx, { projects: argv as string[], limit: flags.limit, dryRun: flags['dry-run'] });
    this.log(result.queued.length ? `${result.queued.length} job(s) ${result.dryRun ? 'would be ' : ''}queued.` : 'Nothing to fire.');
    return result;
  }
}
