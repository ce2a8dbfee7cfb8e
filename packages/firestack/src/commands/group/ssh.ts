import { spawnSync } from 'node:child_process';
import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { interactiveShellCommand, type InteractiveCommand } from '@smokestack/core/providers/group-shell';

export default class GroupSsh extends SmokestackCommand {
  static override summary = 'Open an interactive shell on a host of a group (the gateway by default) through the system ssh.';
  static override description = 'Uses the host\'s key, port and known_hosts with StrictHostKeyChecking=yes; for a local group, a shell in the host directory.';
  static override examples = ['<%= config.bin %> group ssh cluster', '<%= config.bin %> group ssh cluster db1', '<%= config.bin %> group ssh cluster db1 --print'];

  static override args = {
    name: Args.string({ description: 'group name', required: true }),
    host: Args.string({ description: 'host name (default: the gateway)' }),
  };

  static override flags = {
    print: Flags.boolean({ description: 'print the command instead of running it' }),
  };

  async run(): Promise<InteractiveCommand & { exitCode?: number }> {
    const { args, flags } = await this.parse(GroupSsh);
    const shell = await interactiveShellCommand(args.name, args.host, this.providerContext());
    if (flags.print) {
      this.log(shell.line);
      return shell;
    }
    const result = spawnSync(shell.command, shell.args, { stdio: 'inherit', cwd: shell.cwd, env: { ...process.env, ...shell.env } });
    const exitCode = result.status ?? 1;
    if (exitCode !== 0) process.exitCode = exitCode;
    return { ...shell, exitCode };
  }
}
