import { Args } from '@smokestack/core/oclif';
import { SmokestackCommand, formatAge, renderTable } from '@smokestack/core/cli';
import { showGroup } from '@smokestack/core/providers/group-records';
import type { ServerGroup } from '@smokestack/core/model';

export default class GroupShow extends SmokestackCommand {
  static override summary = 'Show a server group: its hosts, addresses, roles, working directories and resources.';
  static override examples = ['<%= config.bin %> group show cluster', '<%= config.bin %> group show cluster --json'];

  static override args = {
    name: Args.string({ description: 'group name', required: true }),
  };

  async run(): Promise<{ group: ServerGroup }> {
    const { args } = await this.parse(GroupShow);
    const group = await showGroup(args.name, this.providerContext());
    const age = formatAge(group.createdAt, new Date());
    this.log(`${group.name}: ${group.provider}, ${group.state}, created ${age}${group.jobId ? `, job ${group.jobId}` : ''}`);
    if (group.error) this.log(`error: ${group.error}`);
    if (group.hosts.length > 0) {
      this.logTable(
        renderTable(
          ['host', 'address', 'user', 'roles', 'gateway', 'workdir', 'hosts file'],
          group.hosts.map((h) => [h.name, h.port ? `${h.address}:${h.port}` : h.address, h.user, h.roles.join(', '), h.gateway ? 'yes' : '', h.workDir, h.hostsFile]),
          { color: this.globals.color },
        ),
      );
    }
    if (group.resources?.length) {
      this.logTable(renderTable(['resource', 'id', 'name', 'created'], group.resources.map((r) => [r.kind, r.id, r.name, r.createdAt]), { color: this.globals.color }));
    }
    return { group };
  }
}
