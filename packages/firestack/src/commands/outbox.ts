import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { reviewOutbox, type OutboxReport } from '@smokestack/core/loghost/shipper';

export default class Outbox extends SmokestackCommand {
  static override summary = "List the jobs whose logs wait on this worker for the log host; --deliver sends them now.";
  static override description =
    'A worker with logHost in its config sends every finished job to the log host and keeps what it could not send yet in its outbox, ' +
    'retrying with backoff. Use this on a worker that stopped for good, or to see why logs are late.';
  static override examples = ['<%= config.bin %> outbox', '<%= config.bin %> outbox --deliver', '<%= config.bin %> outbox --json'];

  static override flags = {
    deliver: Flags.boolean({ description: 'send everything waiting now, whatever its next retry time' }),
  };

  async run(): Promise<OutboxReport> {
    const { flags } = await this.parse(Outbox);
    const report = await reviewOutbox({ ...this.providerContext(), logHost: this.settings.config.logHost, deliver: flags.deliver });
    for (const id of report.delivered) this.log(`${id}: delivered to ${report.logHost}`);
    for (const id of report.dropped) this.log(`${id}: dropped (run again since, or gone from the store)`);
    for (const e of report.waiting) this.log(`${e.job}: waiting since ${e.queuedAt}, ${e.attempts} tries${e.lastError ? `, last: ${e.lastError}` : ''}`);
    if (report.waiting.length === 0) this.log('Nothing waits for the log host.');
    return report;
  }
}
