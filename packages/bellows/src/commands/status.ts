import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { statusReport, type StatusResult } from '@smokestack/core/web/status-page';
import { formatStatus } from '@smokestack/core/web/status';

export default class Status extends SmokestackCommand {
  static override summary = 'Queued and running jobs by pool, the workers and their last heartbeat, and the last sync, stream connection and comment run.';
  static override description =
    'With --write (or --out DIR) it also writes status/index.html and status/status.json into the pages directory (web.dir): run it from cron every minute for a status page any web server can serve.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --write', '<%= config.bin %> status --out /var/www/smokestack --json'];
  static override flags = {
    write: Flags.boolean({ description: 'write the status page into the pages directory (web.dir)' }),
    out: Flags.string({ description: 'write the status page under this pages directory instead', env: 'SMOKESTACK_WEB_DIR' }),
  };

  async run(): Promise<StatusResult> {
    const { flags } = await this.parse(Status);
    const result = await statusReport({ store: this.store, loaded: this.settings, write: flags.write, ...(flags.out ? { out: flags.out } : {}) });
    for (const line of formatStatus(result.status)) this.log(line);
    if (result.written) this.log(`status page: ${result.written.url ?? result.written.file}`);
    return result;
  }
}
