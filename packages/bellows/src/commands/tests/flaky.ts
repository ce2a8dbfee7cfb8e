import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand, renderTable, formatAge } from '@smokestack/core/cli';
import { listFlakyTests, type FlakyList } from '@smokestack/core/bellows/flaky';

export default class TestsFlaky extends SmokestackCommand {
  static override summary = 'List flaky tests: tests that both passed and failed on the same revision set.';
  static override examples = ['<%= config.bin %> tests flaky', '<%= config.bin %> tests flaky --project openstack/nova --json'];
  static override flags = {
    project: Flags.string({ char: 'p', description: 'only this project' }),
    days: Flags.integer({ description: 'look back this many days (default: config flaky.windowDays, else 30)', min: 1 }),
  };

  async run(): Promise<FlakyList> {
    const { flags } = await this.parse(TestsFlaky);
    const now = new Date();
    const list = await listFlakyTests(this.store, this.settings.config, { ...(flags.project ? { project: flags.project } : {}), ...(flags.days ? { days: flags.days } : {}), now });
    this.log(
      list.tests.length === 0
        ? `No flaky tests seen since ${list.since.slice(0, 10)}.`
        : renderTable(
            ['test', 'project', 'templates', 'failed', 'runs', 'revision sets', 'last seen'],
            list.tests.map((t) => [t.id, t.project, t.templates.join(', '), t.failed, t.runs, t.revisionSets, formatAge(t.lastSeen, now)]),
            { color: this.globals.color },
          ),
    );
    return list;
  }
}
