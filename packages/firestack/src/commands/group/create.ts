import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand, renderTable } from '@smokestack/core/cli';
import { createGroupFromFile } from '@smokestack/core/providers/group-create';
import type { ServerGroup } from '@smokestack/core/model';

export default class GroupCreate extends SmokestackCommand {
  static override summary = 'Create a server group from a group definition file (YAML or JSON, ours or Kytoon\'s).';
  static override examples = [
    '<%= config.bin %> group create examples/groups/local-pair.yaml',
    '<%= config.bin %> group create cluster.json --name cluster-alice',
  ];

  static override args = {
    file: Args.string({ description: 'group definition file (.yaml, .yml or .json)', required: true }),
  };

  static override flags = {
    name: Flags.string({ char: 'n', description: 'group name (default: the definition\'s name)' }),
    'insecure-accept-host-keys': Flags.boolean({
      description: 'accept and pin SSH host keys no known_hosts file vouches for (never the default)',
      env: 'SMOKESTACK_INSECURE_ACCEPT_HOST_KEYS',
    }),
    'boot-timeout': Flags.integer({ description: 'seconds to wait for every host to accept SSH', default: 180, env: 'SMOKESTACK_BOOT_TIMEOUT' }),
  };

  async run(): Promise<{ group: ServerGroup }> {
    const { args, flags } = await this.parse(GroupCreate);
    const group = await createGroupFromFile(
      args.file,
      { name: flags.name },
      this.providerContext({ insecureAcceptHostKeys: flags['insecure-accept-host-keys'], reachableTimeoutMs: flags['boot-timeout'] * 1000 }),
    );
    this.log(`Server group ${group.name} is ready (${group.provider}).`);
    this.logTable(
      renderTable(
        ['host', 'address', 'roles', 'gateway', 'workdir'],
        group.hosts.map((h) => [h.name, h.port ? `${h.user}@${h.address}:${h.port}` : h.address, h.roles.join(', '), h.gateway ? 'yes' : '', h.workDir]),
        { color: this.globals.color },
      ),
    );
    return { group };
  }
}
