import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfraError, UserError } from '../errors.js';
import type { GroupDefinition } from '../config/schema.js';
import { urlCarriesCredentials } from '../config/url-credentials.js';
import type { Host, ServerGroup } from '../model.js';
import { renderHostsFile } from './hosts-file.js';
import { normalizeGroupDefinition } from './normalize.js';
import { groupDir, groupsDir, recordGroupResource, updateStoredGroup } from './record.js';
import type { ExecOptions, ExecResult, HostConnection, OwnedResource, ProviderContext, ServerGroupProvider } from './types.js';

/** Exit code reported for a command stopped by its timeout (as timeout(1) does). */
export const TIMEOUT_EXIT_CODE = 124;

/** Marks a group directory as made by the local provider (other providers keep known_hosts there too). */
const LOCAL_MARKER = '.local-group';

/** The hosts file of a local group (a host named like this is impossible: host names have no "_"). */
export function localHostsFile(ctx: Pick<ProviderContext, 'store'>, group: string): string {
  return path.join(groupDir(ctx.store, group), 'etc_hosts');
}

/**
 * This machine: every host is a working directory beside the store
 * (`<store dir>/groups/<group>/<host>`) and commands run through /bin/sh there. No root needed.
 */
export class LocalProvider implements ServerGroupProvider {
  readonly name = 'local' as const;

  async create(name: string, definition: GroupDefinition, ctx: ProviderContext): Promise<ServerGroup> {
    const specs = normalizeGroupDefinition(definition, name);
    const dir = groupDir(ctx.store, name);
    const user = safeUser();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, LOCAL_MARKER), `${name}\n`);
    await recordGroupResource(ctx.store, name, { kind: 'local-group-dir', id: dir, name }, ctx.now());
    const hosts: Host[] = [];
    for (const spec of specs) {
      const hostDir = path.join(dir, spec.name);
      fs.mkdirSync(hostDir, { recursive: true });
      hosts.push({
        name: spec.name,
        address: '127.0.0.1',
        port: 0,
        user,
        roles: spec.roles,
        gateway: spec.gateway,
        resourceId: hostDir,
        workDir: hostDir,
        hostsFile: localHostsFile(ctx, name),
      });
    }
    return updateStoredGroup(ctx.store, name, (group) => {
      group.hosts = hosts;
    });
  }

  async waitReachable(group: ServerGroup): Promise<void> {
    for (const host of group.hosts) {
      if (!host.workDir || !fs.existsSync(host.workDir)) {
        throw new InfraError(`host ${host.name} of group ${group.name}: working directory ${host.workDir ?? '(none)'} is missing`);
      }
    }
  }

  /** Writes the group's hosts file; every host's SMOKESTACK_HOSTS_FILE points at it. */
  async setup(group: ServerGroup, ctx: ProviderContext): Promise<ServerGroup> {
    fs.writeFileSync(localHostsFile(ctx, group.name), renderHostsFile(group));
    return group;
  }

  async describe(group: ServerGroup): Promise<ServerGroup> {
    return group;
  }

  async delete(group: ServerGroup, ctx: ProviderContext): Promise<void> {
    removeGroupDir(ctx, groupDir(ctx.store, group.name));
  }

  async listOwned(ctx: ProviderContext): Promise<OwnedResource[]> {
    const root = groupsDir(ctx.store);
    if (!fs.existsSync(root)) return [];
    return fs
      .readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(root, entry.name, LOCAL_MARKER)))
      .map((entry) => {
        const dir = path.join(root, entry.name);
        return { kind: 'local-group-dir', id: dir, name: entry.name, group: entry.name, createdAt: fs.statSync(dir).mtime.toISOString() };
      });
  }

  async deleteOwned(resource: OwnedResource, ctx: ProviderContext): Promise<void> {
    if (resource.kind === 'local-group-dir') removeGroupDir(ctx, resource.id);
  }

  async connect(group: ServerGroup, host: Host, ctx: ProviderContext): Promise<HostConnection> {
    return new LocalHostConnection(group, host, ctx);
  }
}

function removeGroupDir(ctx: ProviderContext, dir: string): void {
  const root = groupsDir(ctx.store);
  const relative = path.relative(root, dir);
  // Only ever remove directories this provider made beside the store.
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative) || relative.includes(path.sep)) {
    throw new InfraError(`refusing to remove ${dir}: not a group directory under ${root}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'user';
  }
}

/** What a command on a local host may see of this machine's environment: what any host would have, nothing of the worker's. */
const HOST_VARIABLES = new Set(['PATH', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR']);
const PROXY_VARIABLES = /^(https?|ftp|all|no)_proxy$/i;

/**
 * The environment of a command on a local host. Code from a patch set runs there, so it gets the machine's
 * basics (PATH, locale, time zone, temp dir), proxies without a login in them and the host directory as its
 * HOME; never the worker's credentials (GERRIT_HTTP_PASSWORD, OS_*, the ~/.netrc its HOME would lead to),
 * its SmokeStack settings or anything else it happens to carry.
 */
export function localHostEnvironment(worker: Record<string, string | undefined>, home: string): Record<string, string> {
  const env: Record<string, string> = { HOME: home };
  for (const [name, value] of Object.entries(worker)) {
    if (value === undefined) continue;
    const proxy = PROXY_VARIABLES.test(name) && !urlCarriesCredentials(value);
    if (HOST_VARIABLES.has(name) || name.startsWith('LC_') || proxy) env[name] = value;
  }
  return env;
}

/** Runs scripts through /bin/sh in the host's working directory. */
export class LocalHostConnection implements HostConnection {
  constructor(
    readonly group: ServerGroup,
    readonly host: Host,
    private readonly ctx: ProviderContext,
  ) {}

  private get dir(): string {
    if (!this.host.workDir) throw new InfraError(`host ${this.host.name} of group ${this.group.name} has no working directory`);
    return this.host.workDir;
  }

  async exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    const env = localHostEnvironment(this.ctx.env, this.dir);
    Object.assign(env, {
      SMOKESTACK_HOST: this.host.name,
      SMOKESTACK_GROUP: this.group.name,
      SMOKESTACK_HOSTS_FILE: this.host.hostsFile ?? localHostsFile(this.ctx, this.group.name),
      SMOKESTACK_WORKDIR: this.dir,
    });
    const { execa } = await import('execa');
    const child = execa('/bin/sh', ['-c', script], {
      cwd: this.dir,
      env,
      extendEnv: false,
      input: options.stdin ?? '',
      reject: false,
      stripFinalNewline: false,
      // Own process group, so a timeout kills the whole script and not just sh.
      detached: true,
    });
    if (options.onStdout) child.stdout?.on('data', (b: Buffer) => options.onStdout!(b.toString('utf8')));
    if (options.onStderr) child.stderr?.on('data', (b: Buffer) => options.onStderr!(b.toString('utf8')));
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killGroup();
        }, options.timeoutMs)
      : undefined;
    const signals = [options.signal, this.ctx.signal].filter((s): s is AbortSignal => Boolean(s));
    for (const s of signals) s.addEventListener('abort', killGroup, { once: true });
    try {
      const result = await child;
      return {
        code: timedOut ? TIMEOUT_EXIT_CODE : (result.exitCode ?? 128),
        signal: result.signal ?? undefined,
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        durationMs: Date.now() - started,
        timedOut: timedOut || undefined,
      };
    } finally {
      if (timer) clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', killGroup);
    }
  }

  /** Copies a file or directory into the host; relative paths are relative to the host directory. */
  async upload(localPath: string, remotePath: string): Promise<void> {
    copyPath(localPath, path.resolve(this.dir, remotePath), `upload to ${this.host.name}`);
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    copyPath(path.resolve(this.dir, remotePath), localPath, `download from ${this.host.name}`);
  }

  async close(): Promise<void> {}
}

function copyPath(from: string, to: string, what: string): void {
  if (!fs.existsSync(from)) throw new UserError(`${what}: ${from} does not exist`);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true, force: true });
}
