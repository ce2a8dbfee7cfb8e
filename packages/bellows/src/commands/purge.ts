import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { createBellowsContext } from '@smokestack/core/bellows/context';
import { purgeChanges, type PurgeResult } from '@smokestack/core/bellows/purge';

export default class Purge extends SmokestackCommand {
  static override summary = 'Remove test configs of merged or abandoned changes (asking Gerrit) and cancel their jobs.';
  static override examples = ['<%= config.bin %> purge', '<%= config.bin %> purge openstack/nova --json'];
  static override strict = false;
  static override args = { project: Args.string({ description: 'only these configured projects (default: all)' }) };
  static override flags = {
    'dry-run': Flags.boolean({ description: 'show what would be purged without touching the store' }),
  };

  async run(): Promise<PurgeResult> {
    const { argv, flags } = await this.parse(Purge);
    const ctx = createBellowsContext({ loaded: this.settings, store: this.store, logger: this.progress });
    const result = await purgeChanges(ctx, { projects: argv as string[], dryRun: flags['dry-run'] });
    this.log(`${result.purged.length} config(s) ${result.dryRun ? 'would be ' : ''}purged, ${result.cancelled.length} job(s) cancelled.`);
    return result;
  }
}
