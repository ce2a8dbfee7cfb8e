import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { openStore } from '@smokestack/core/store/open';
import { copyStore, type CopyReport } from '@smokestack/core/store/transfer';

export default class StoreMigrate extends SmokestackCommand {
  static override summary = 'Copy the state store (history included) into another, empty store: a JSON file into PostgreSQL, or back.';
  static override description =
    'Reads the store named by --state / SMOKESTACK_STATE / state: and writes every test config, job, vote, server group, ' +
    'sync mark and per-test run (flaky tests included) into the store named by --to, then reads the target back and compares the counts. Job logs stay where they are: ' +
    'point the new store\'s dataDir: at the directory that holds jobs/.';
  static override examples = [
    '<%= config.bin %> store migrate --to postgresql://smokestack@db.example.org/smokestack',
    '<%= config.bin %> store migrate --state postgresql://smokestack@db/smokestack --to /var/lib/smokestack/state.json',
  ];
  static override flags = {
    to: Flags.string({ description: 'the target store: a JSON file path or a postgresql:// URL (must be empty)', required: true }),
  };

  async run(): Promise<CopyReport> {
    const { flags } = await this.parse(StoreMigrate);
    const loaded = this.settings;
    const target = openStore({ flag: flags.to, configDataDir: loaded.config.dataDir, configDir: loaded.dir, env: { ...process.env, SMOKESTACK_STATE: undefined } });
    try {
      const report = await copyStore(this.store, target);
      const c = report.verified;
      this.log(`Copied ${report.from} to ${report.to}: ${c.configs} config(s), ${c.jobs} job(s), ${c.votes} vote(s), ${c.groups} server group(s), ${c.workers} worker(s), ${c.testRuns} test run(s); counts verified.`);
      return report;
    } finally {
      await target.close();
    }
  }
}
