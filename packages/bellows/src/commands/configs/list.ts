import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand, renderTable, formatAge } from '@smokestack/core/cli';
import { listConfigs } from '@smokestack/core/bellows/configs';
import type { TestConfig } from '@smokestack/core/model';

export default class ConfigsList extends SmokestackCommand {
  static override summary = 'List test configurations, one per open change.';
  static override examples = ['<%= config.bin %> configs list', '<%= config.bin %> configs list --project openstack/nova --json'];
  static override flags = {
    project: Flags.string({ char: 'p', description: 'only this project (repeatable)', multiple: true }),
  };

  async run(): Promise<{ configs: TestConfig[] }> {
    const { flags } = await this.parse(ConfigsList);
    const configs = listConfigs(await this.store.read(), { project: flags.project });
    const now = new Date();
    this.logTable(
      configs.length === 0
        ? 'No test configurations. Run "bellows sync" to create them from Gerrit.'
        : renderTable(
            ['change', 'project', 'patch set', 'templates', 'description', 'updated'],
            configs.map((c) => [c.number, c.project, c.patchSet, c.templates.join(', '), c.description, formatAge(c.updatedAt, now)]),
            { color: this.globals.color },
          ),
    );
    return { configs };
  }
}
