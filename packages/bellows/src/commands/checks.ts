import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { reportChecks, type ChecksResult } from '@smokestack/core/bellows/checks';
import { createBellowsContext } from '@smokestack/core/bellows/context';

export default class Checks extends SmokestackCommand {
  static override summary = "Report every recent patch set's jobs to Gerrit's checks plugin: one check per template, SCHEDULED → RUNNING → SUCCESSFUL / FAILED / NOT_RELEVANT.";
  static override description =
    'Needs gerrit.checks in the config and the checks plugin on the server. Registers one checker per project and template the first time, ' +
    'then posts only the checks whose state, message or page changed: run it from cron every minute beside "bellows comment".';
  static override examples = ['<%= config.bin %> checks', '<%= config.bin %> checks --dry-run --json'];
  static override flags = {
    'dry-run': Flags.boolean({ description: 'show the checks that would change without posting them' }),
  };

  async run(): Promise<ChecksResult> {
    const { flags } = await this.parse(Checks);
    const ctx = createBellowsContext({ loaded: this.settings, store: this.store, logger: this.progress });
    const result = await reportChecks(ctx, { dryRun: flags['dry-run'] });
    for (const p of result.posted) this.log(`${p.project} ${p.number},${p.patchSet} ${p.template}: ${p.state} (job ${p.job})`);
    for (const uuid of result.checkers) this.log(`checker ${uuid} registered`);
    this.log(`${result.posted.length} check(s) ${result.dryRun ? 'would be ' : ''}updated, ${result.unchanged} unchanged, ${result.errors.length} failed.`);
    for (const e of result.errors) this.logToStderr(`${this.config.bin}: error: ${e.project} ${e.number},${e.patchSet}: ${e.message}`);
    if (result.errors.length) process.exitCode = 1;
    return result;
  }
}
