import { SmokestackCommand, renderTable, formatAge } from '@smokestack/core/cli';
import type { ServerGroup } from '@smokestack/core/model';

export default class GroupList extends SmokestackCommand {
  static override summary = 'List server groups: provider, hosts, age and the job that owns each.';
  static override examples = ['<%= config.bin %> group list', '<%= config.bin %> group list --json'];

  async run(): Promise<{ groups: ServerGroup[] }> {
    await this.parse(GroupList);
    const state = await this.store.read();
    const groups = Object.values(state.groups).sort((a, b) => a.name.localeCompare(b.name));
    const now = new Date();
    this.logTable(
      groups.length === 0
        ? 'No server groups. Create one with: firestack group create FILE'
        : renderTable(
            ['name', 'provider', 'state', 'hosts', 'gateway', 'age', 'job'],
            groups.map((g) => [
              g.name,
              g.provider,
              g.state,
              g.hosts.map((h) => h.name).join(', '),
              g.hosts.find((h) => h.gateway)?.name,
              formatAge(g.createdAt, now),
              g.jobId,
            ]),
            { color: this.globals.color },
          ),
    );
    return { groups };
  }
}
