import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { createBellowsContext } from '@smokestack/core/bellows/context';
import { syncProjects, type SyncResult } from '@smokestack/core/bellows/sync';

export default class Sync extends SmokestackCommand {
  static override summary = 'Keep one test config per open change of the configured projects; queue jobs of new patch sets with --fire.';
  static override description =
    'The first run reads every open change; later runs only the changes updated since the last complete sweep (with a safety overlap). ' +
    'A new patch set updates its config and supersedes queued/running jobs of older patch sets; merged and abandoned changes are purged.';
  static override examples = [
    '<%= config.bin %> sync',
    '<%= config.bin %> sync --fire',
    '<%= config.bin %> sync openstack/nova --dry-run --json',
  ];
  static override strict = false;
  static override args = { project: Args.string({ description: 'only these configured projects (default: all)' }) };
  static override flags = {
    fire: Flags.boolean({ description: 'queue one job per template for every open, ready patch set that has none', env: 'BELLOWS_FIRE' }),
    'dry-run': Flags.boolean({ description: 'show what would change without touching the store' }),
    full: Flags.boolean({ description: 'read every open change even when an incremental sweep would do' }),
  };

  async run(): Promise<SyncResult> {
    const { argv, flags } = await this.parse(Sync);
    const ctx = createBellowsContext({ loaded: this.settings, store: this.store, logger: this.progress });
    const result = await syncProjects(ctx, { projects: argv as string[], fire: flags.fire, dryRun: flags['dry-run'], full: flags.full });
    const would = result.dryRun ? 'would be ' : '';
    this.log(
      `${result.created.length} config(s) ${would}created, ${result.updated.length} ${would}updated, ${result.purged.length} ${would}purged; ` +
        `${result.superseded.length} job(s) ${would}superseded, ${result.cancelled.length} ${would}cancelled, ${result.queued.length} ${would}queued ` +
        `(${result.requests} Gerrit request(s))`,
    );
    for (const e of result.errors) this.logToStderr(`${this.config.bin}: error: ${e.project} ${e.branch}: ${e.message}`);
    if (result.errors.length) process.exitCode = 1;
    return result;
  }
}
