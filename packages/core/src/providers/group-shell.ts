import { shellJoin } from '../render/quote.js';
import { selectHosts } from './group-exec.js';
import { assertGroupReady, getGroup } from './group-records.js';
import { knownHostsFilesFor } from './ssh.js';
import type { ProviderContext } from './types.js';

export interface InteractiveCommand {
  command: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** The same command as one printable, copy-pasteable line. */
  line: string;
}

/**
 * The interactive shell for `group ssh`: the system ssh with the host's key, port and known_hosts
 * (StrictHostKeyChecking=yes), or for a local group a shell in the host directory.
 */
export async function interactiveShellCommand(name: string, hostName: string | undefined, ctx: ProviderContext): Promise<InteractiveCommand> {
  const group = await getGroup(name, ctx);
  assertGroupReady(group);
  const host = hostName ? selectHosts(group, { host: hostName })[0]! : (group.hosts.find((h) => h.gateway) ?? group.hosts[0]!);
  if (group.provider === 'local') {
    const shell = ctx.env.SHELL || '/bin/sh';
    const env = { SMOKESTACK_GROUP: group.name, SMOKESTACK_HOST: host.name, SMOKESTACK_HOSTS_FILE: host.hostsFile ?? '', SMOKESTACK_WORKDIR: host.workDir ?? '' };
    return { command: shell, args: [], cwd: host.workDir, env, line: `cd ${shellJoin([host.workDir ?? '.'])} && ${shellJoin([shell])}` };
  }
  const files = knownHostsFilesFor(group, host, ctx);
  const args = [
    '-p',
    String(host.port),
    ...(host.identityFile ? ['-i', host.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    '-o',
    `UserKnownHostsFile=${files.join(' ')}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-t',
    `${host.user}@${host.address}`,
  ];
  if (host.workDir) args.push(shellJoin(['cd', host.workDir]) + ' && exec "${SHELL:-/bin/sh}" -l');
  return { command: 'ssh', args, line: shellJoin(['ssh', ...args]) };
}

