import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { UserError } from '@smokestack/core/errors';
import { execArgvOnGroup, type GroupExecResult } from '@smokestack/core/providers/group-exec';
import { getGroup } from '@smokestack/core/providers/group-records';

export default class GroupExec extends SmokestackCommand {
  static override summary = 'Run a command on every host of a group (or one host, or one role), output prefixed per host.';
  static override description =
    'Hosts run in parallel over one pooled SSH connection each; every output line is prefixed with [host]. ' +
    'Exits non-zero when any host fails. A single quoted argument is run as a shell command line.';
  static override examples = [
    '<%= config.bin %> group exec cluster -- uname -a',
    "<%= config.bin %> group exec cluster --role db -- 'systemctl is-active mysql'",
    '<%= config.bin %> group exec cluster --host web1 --json -- cat /etc/hosts',
  ];

  static override strict = false;
  static override args = {
    name: Args.string({ description: 'group name', required: true }),
  };

  static override flags = {
    host: Flags.string({ description: 'run on this host only', exclusive: ['role'] }),
    role: Flags.string({ description: 'run on the hosts with this role', exclusive: ['host'] }),
    timeout: Flags.integer({ description: 'seconds before the command is killed on a host' }),
  };

  async run(): Promise<GroupExecResult> {
    const { args, argv, flags } = await this.parse(GroupExec);
    const command = (argv as string[]).slice(1);
    if (command.length === 0) throw new UserError('group exec: no command given', { hint: 'write it after --, e.g. firestack group exec NAME -- uname -a' });
    const ctx = this.providerContext();
    const group = await getGroup(args.name, ctx);
    const json = this.jsonEnabled();
    const result = await execArgvOnGroup(group, { host: flags.host, role: flags.role }, command, ctx, {
      timeoutMs: flags.timeout ? flags.timeout * 1000 : undefined,
      onLine: json ? undefined : (host, stream, line) => (stream === 'stdout' ? this.log(`[${host}] ${line}`) : this.logToStderr(`[${host}] ${line}`)),
    });
    for (const r of result.results) {
      if (r.code !== 0 && !json) this.logToStderr(`[${r.host}] ${r.timedOut ? 'timed out' : `exited ${r.code}`}`);
    }
    if (!result.ok) process.exitCode = 1;
    return result;
  }
}
