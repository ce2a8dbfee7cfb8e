import path from 'node:path';
import { InfraError, UserError, errorMessage } from '../errors.js';
import type { GroupDefinition } from '../config/schema.js';
import type { Host, ServerGroup } from '../model.js';
import { expandHome } from '../paths.js';
import { shellJoin } from '../render/quote.js';
import { TemplateRenderer } from '../render/render.js';
import { SSH_TIMEOUT_EXIT_CODE, SshConnection, targetLabel, type SshTarget } from '../ssh/connection.js';
import { userKnownHostsFile } from '../ssh/known-hosts.js';
import { connectWithRetry, type RetryOptions } from '../ssh/pool.js';
import { HOSTS_BLOCK_BEGIN, HOSTS_BLOCK_END } from './hosts-file.js';
import { normalizeGroupDefinition, type HostSpec } from './normalize.js';
import { forgetGroupResource, groupKnownHostsFile } from './record.js';
import { reachableTimeout, type ExecOptions, type ExecResult, type HostConnection, type OwnedResource, type ProviderContext, type ServerGroupProvider } from './types.js';

export const SSH_CLAIM_KIND = 'ssh-host';

/** The known_hosts files a host's key is checked against: its own file (if any), the group's pins, the user's. */
export function knownHostsFilesFor(group: Pick<ServerGroup, 'name'>, host: Pick<Host, 'knownHosts'>, ctx: Pick<ProviderContext, 'store' | 'env'>): string[] {
  const pinned = groupKnownHostsFile(ctx.store, group.name);
  return host.knownHosts ? [expandHome(host.knownHosts, ctx.env), pinned] : [pinned, userKnownHostsFile(ctx.env)];
}

/** Said every time an unknown host key is let through. */
export function unknownKeyWarning(label: string, fingerprint: string, why: string, pinFile: string): string {
  return `${label}: accepted unknown SSH host key ${fingerprint} without verifying it (${why}); pinned in ${pinFile}`;
}

/** Where and how to reach a host over SSH, with the group's host-key policy. */
export function sshTargetFor(group: ServerGroup, host: Host, ctx: ProviderContext): SshTarget {
  const byDefinition = Boolean((group.definition as GroupDefinition | undefined)?.insecureAcceptHostKeys);
  const acceptUnknown = Boolean(ctx.insecureAcceptHostKeys) || byDefinition;
  const pinFile = groupKnownHostsFile(ctx.store, group.name);
  const why = ctx.insecureAcceptHostKeys ? '--insecure-accept-host-keys or SMOKESTACK_INSECURE_ACCEPT_HOST_KEYS' : `insecureAcceptHostKeys in server group ${group.name}`;
  return {
    address: host.address,
    port: host.port,
    user: host.user,
    identityFile: host.identityFile ? expandHome(host.identityFile, ctx.env) : undefined,
    knownHostsFiles: knownHostsFilesFor(group, host, ctx),
    acceptUnknownHostKeys: acceptUnknown,
    onUnknownKeyAccepted: (key) => ctx.logger.warn(unknownKeyWarning(targetLabel({ ...host, label: host.name }), key, why, pinFile)),
    pinFile,
    label: host.name,
  };
}

/**
 * Opens (or reuses, with ctx.pool) the SSH connection to a host. Retries for `timeoutMs` while the
 * host is still coming up; for ordinary commands the default is short.
 */
export async function openSsh(
  group: ServerGroup,
  host: Host,
  ctx: ProviderContext,
  timeoutMs = 30_000,
  backoff: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs'> = {},
): Promise<{ conn: SshConnection; pooled: boolean }> {
  const target = sshTargetFor(group, host, ctx);
  const retry = {
    ...backoff,
    timeoutMs,
    env: ctx.env,
    signal: ctx.signal,
    onRetry: (attempt: number, err: Error, delay: number) =>
      ctx.logger.debug(`waiting for ${host.name} (attempt ${attempt}, retry in ${delay} ms): ${errorMessage(err)}`),
  };
  if (ctx.pool) return { conn: await ctx.pool.acquire(target, retry), pooled: true };
  return { conn: await connectWithRetry(target, retry), pooled: false };
}

// Fixed transport: exports the host's identity, enters its working directory, runs the script (under timeout(1),
// which kills the script's whole process group, when a timeout is set). Values are positional arguments.
const EXEC_WRAPPER =
  'export SMOKESTACK_GROUP="$1" SMOKESTACK_HOST="$2" SMOKESTACK_HOSTS_FILE="$3" SMOKESTACK_WORKDIR="$4"; ' +
  'if [ -n "$4" ]; then cd -- "$4" || exit 125; fi; ' +
  'if [ -n "$6" ] && command -v timeout >/dev/null 2>&1; then exec timeout -k 2 "$6" /bin/sh -c "$5"; fi; exec /bin/sh -c "$5"';

/** Extra time the client waits beyond a remote timeout before it gives up on the channel itself. */
const CLIENT_TIMEOUT_GRACE_MS = 5000;

/** A host of a group reached over SSH; relative remote paths are relative to its working directory. */
export class SshHostConnection implements HostConnection {
  constructor(
    readonly group: ServerGroup,
    readonly host: Host,
    readonly connection: SshConnection,
    private readonly pooled: boolean,
  ) {}

  /** The command line sent to sshd for a script (exported for `group ssh --print` style diagnostics). */
  commandFor(script: string, timeoutMs?: number): string {
    const timeout = timeoutMs ? String(Math.max(0.1, timeoutMs / 1000)) : '';
    return shellJoin(['/bin/sh', '-c', EXEC_WRAPPER, 'smokestack', this.group.name, this.host.name, this.host.hostsFile ?? '', this.host.workDir ?? '', script, timeout]);
  }

  async exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const { timeoutMs } = options;
    const result = await this.connection.exec(this.commandFor(script, timeoutMs), {
      ...options,
      timeoutMs: timeoutMs ? timeoutMs + CLIENT_TIMEOUT_GRACE_MS : undefined,
    });
    if (timeoutMs && result.code === SSH_TIMEOUT_EXIT_CODE && result.durationMs >= timeoutMs) return { ...result, timedOut: true };
    return result;
  }

  private remote(p: string): string {
    return path.posix.isAbsolute(p) || !this.host.workDir ? p : path.posix.join(this.host.workDir, p);
  }

  upload(localPath: string, remotePath: string): Promise<void> {
    return this.connection.upload(localPath, this.remote(remotePath));
  }

  download(remotePath: string, localPath: string): Promise<void> {
    return this.connection.download(this.remote(remotePath), localPath);
  }

  async close(): Promise<void> {
    // A pooled connection belongs to the pool, which closes it when the run ends.
    if (!this.pooled) await this.connection.close();
  }
}

/** Waits (bounded by the group's reachable timeout) until every host accepts SSH; names the hosts that never did. */
export async function waitForSsh(group: ServerGroup, ctx: ProviderContext, backoff: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs'> = {}): Promise<void> {
  const timeoutMs = reachableTimeout(group, ctx);
  const results = await Promise.allSettled(
    group.hosts.map(async (host) => {
      const { conn, pooled } = await openSsh(group, host, ctx, timeoutMs, backoff);
      if (!pooled) await conn.close();
    }),
  );
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ host: group.hosts[i]!, error: r.reason as Error }] : []));
  if (failed.length > 0) {
    const names = failed.map((f) => f.host.name).join(', ');
    const first = failed[0]!.error;
    const message = `server group ${group.name}: ${failed.length} of ${group.hosts.length} host(s) not reachable (${names}): ${errorMessage(first)}`;
    throw first instanceof UserError ? new UserError(message) : new InfraError(message, { cause: first });
  }
}

function claimId(host: Pick<Host, 'address' | 'port'>): string {
  return `${host.address}:${host.port}`;
}

function specsOf(group: ServerGroup): HostSpec[] {
  try {
    return group.definition ? normalizeGroupDefinition(group.definition as GroupDefinition, group.name) : [];
  } catch {
    return [];
  }
}

/**
 * Existing machines (bare metal or VMs) reached by address, port, user and identity file.
 * Create and delete only claim and release them; release may run the host's resetCommand.
 */
export class SshProvider implements ServerGroupProvider {
  readonly name = 'ssh' as const;

  constructor(private readonly renderer: TemplateRenderer = new TemplateRenderer()) {}

  async create(name: string, definition: GroupDefinition, ctx: ProviderContext): Promise<ServerGroup> {
    const specs = normalizeGroupDefinition(definition, name);
    const hosts: Host[] = specs.map((spec) => ({
      name: spec.name,
      address: spec.address!,
      port: spec.port ?? 22,
      user: spec.user!,
      roles: spec.roles,
      gateway: spec.gateway,
      identityFile: spec.identityFile,
      knownHosts: spec.knownHosts,
      resourceId: `ssh://${spec.user}@${spec.address}:${spec.port ?? 22}`,
      ...(spec.workDir ? { workDir: spec.workDir } : {}),
    }));
    const now = ctx.now().toISOString();
    // Claim every host in one locked update so two groups can never hold the same host:port.
    return ctx.store.update((state) => {
      for (const host of hosts) {
        for (const other of Object.values(state.groups)) {
          if (other.name === name || other.state === 'deleted') continue;
          if (other.resources?.some((r) => r.kind === SSH_CLAIM_KIND && r.id === claimId(host))) {
            throw new UserError(`host ${host.name} (${claimId(host)}) is already claimed by server group "${other.name}"`, {
              hint: `delete that group first: firestack group delete ${other.name}`,
            });
          }
        }
      }
      const group = state.groups[name];
      if (!group) throw new InfraError(`server group "${name}" is not in the store ${ctx.store.location}`);
      group.resources ??= [];
      for (const host of hosts) group.resources.push({ kind: SSH_CLAIM_KIND, id: claimId(host), name: host.name, createdAt: now });
      group.hosts = hosts;
      return structuredClone(group);
    });
  }

  async waitReachable(group: ServerGroup, ctx: ProviderContext): Promise<void> {
    await waitForSsh(group, ctx);
  }

  async describe(group: ServerGroup): Promise<ServerGroup> {
    return group;
  }

  /** Runs each host's release script (reset command, hosts block, default workdir), then drops the claims. */
  async delete(group: ServerGroup, ctx: ProviderContext): Promise<void> {
    const specs = new Map(specsOf(group).map((s) => [s.name, s]));
    await Promise.all(
      group.hosts.map(async (host) => {
        const spec = specs.get(host.name);
        try {
          await this.release(group, host, spec, ctx);
        } catch (err) {
          ctx.logger.warn(`releasing host ${host.name} of group ${group.name}: ${errorMessage(err)}`);
        }
        if (ctx.pool) await ctx.pool.release(host);
        await forgetGroupResource(ctx.store, group.name, { kind: SSH_CLAIM_KIND, id: claimId(host) });
      }),
    );
  }

  private async release(group: ServerGroup, host: Host, spec: HostSpec | undefined, ctx: ProviderContext): Promise<void> {
    // One attempt only: a host that never came up must not hold up the release of the others.
    const target = sshTargetFor(group, host, ctx);
    const conn = ctx.pool ? await ctx.pool.acquire(target, { timeoutMs: 5000, env: ctx.env }) : await SshConnection.open(target, { readyTimeoutMs: 10_000, env: ctx.env });
    try {
      const script = this.renderer.render('group-release.sh.hbs', {
        resetCommand: spec?.resetCommand ?? '',
        beginMarker: `${HOSTS_BLOCK_BEGIN} ${group.name}`,
        endMarker: `${HOSTS_BLOCK_END} ${group.name}`,
        removeWorkDir: !spec?.workDir && host.workDir ? host.workDir : '',
      });
      const result = await conn.exec(shellJoin(['/bin/sh', '-c', script]), { timeoutMs: 10 * 60_000 });
      if (result.code !== 0) {
        ctx.logger.warn(`host ${host.name}: release script exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
      }
    } finally {
      if (!ctx.pool) await conn.close();
    }
  }

  async listOwned(ctx: ProviderContext): Promise<OwnedResource[]> {
    const state = await ctx.store.read();
    return Object.values(state.groups).flatMap((g) =>
      (g.resources ?? []).filter((r) => r.kind === SSH_CLAIM_KIND).map((r) => ({ kind: r.kind, id: r.id, name: r.name, createdAt: r.createdAt, group: g.name })),
    );
  }

  async deleteOwned(resource: OwnedResource, ctx: ProviderContext): Promise<void> {
    if (resource.kind === SSH_CLAIM_KIND && resource.group) await forgetGroupResource(ctx.store, resource.group, resource);
  }

  async connect(group: ServerGroup, host: Host, ctx: ProviderContext): Promise<HostConnection> {
    const { conn, pooled } = await openSsh(group, host, ctx);
    return new SshHostConnection(group, host, conn, pooled);
  }
}
