import { UserError, errorMessage, isUserError } from '../errors.js';
import type { Host, ServerGroup } from '../model.js';
import { shellJoin } from '../render/quote.js';
import { linePrefixer } from '../ssh/output.js';
import { SshPool } from '../ssh/pool.js';
import { assertGroupReady, providerOfGroup } from './group-records.js';
import type { ExecResult, HostConnection, ProviderContext } from './types.js';

/** Runs `fn` with a connection pool: the caller's, or one opened and closed around the call. */
export async function withPool<T>(ctx: ProviderContext, fn: (ctx: ProviderContext) => Promise<T>): Promise<T> {
  if (ctx.pool) return fn(ctx);
  const pool = new SshPool();
  try {
    return await fn({ ...ctx, pool });
  } finally {
    await pool.closeAll();
  }
}

export interface HostSelector {
  host?: string;
  role?: string;
}

/** The hosts a command targets: one by name, all with a role, or every host. */
export function selectHosts(group: ServerGroup, selector: HostSelector = {}): Host[] {
  if (selector.host) {
    const host = group.hosts.find((h) => h.name === selector.host);
    if (!host) throw new UserError(`server group ${group.name} has no host "${selector.host}"`, { hint: `hosts: ${group.hosts.map((h) => h.name).join(', ')}` });
    return [host];
  }
  if (selector.role) {
    const hosts = group.hosts.filter((h) => h.roles.includes(selector.role!));
    if (hosts.length === 0) {
      const roles = [...new Set(group.hosts.flatMap((h) => h.roles))];
      throw new UserError(`server group ${group.name} has no host with role "${selector.role}"`, { hint: roles.length ? `roles: ${roles.join(', ')}` : 'no host has a role' });
    }
    return hosts;
  }
  return group.hosts;
}

/** Connects to one host of a ready group (pooled when ctx.pool is set). */
export async function connectHost(group: ServerGroup, host: Host | string, ctx: ProviderContext): Promise<HostConnection> {
  const target = typeof host === 'string' ? selectHosts(group, { host })[0]! : host;
  return providerOfGroup(group.provider, ctx).connect(group, target, ctx);
}

export interface HostExecResult extends ExecResult {
  host: string;
  /** Set when the host could not be reached or the connection was lost (code is then 255). */
  error?: string;
}

export interface GroupExecResult {
  group: string;
  ok: boolean;
  results: HostExecResult[];
}

export interface GroupExecOptions {
  timeoutMs?: number;
  /** Each complete output line as it arrives, with its host; lines of different hosts never interleave mid-line. */
  onLine?: (host: string, stream: 'stdout' | 'stderr', line: string) => void;
  stdin?: string;
}

/** Runs one script on the selected hosts in parallel; `ok` only when every host exited 0. */
export async function execOnGroup(group: ServerGroup, selector: HostSelector, script: string, ctx: ProviderContext, options: GroupExecOptions = {}): Promise<GroupExecResult> {
  assertGroupReady(group);
  const hosts = selectHosts(group, selector);
  const results = await withPool(ctx, (run) =>
    Promise.all(
      hosts.map(async (host): Promise<HostExecResult> => {
        const out = linePrefixer('', (line) => options.onLine?.(host.name, 'stdout', line));
        const err = linePrefixer('', (line) => options.onLine?.(host.name, 'stderr', line));
        const started = Date.now();
        try {
          const conn = await connectHost(group, host, run);
          try {
            const result = await conn.exec(script, { timeoutMs: options.timeoutMs, stdin: options.stdin, signal: ctx.signal, onStdout: out.push, onStderr: err.push });
            return { host: host.name, ...result };
          } finally {
            out.flush();
            err.flush();
            await conn.close();
          }
        } catch (e) {
          if (isUserError(e)) throw e;
          const message = errorMessage(e);
          options.onLine?.(host.name, 'stderr', message);
          return { host: host.name, code: 255, stdout: '', stderr: message, durationMs: Date.now() - started, error: message };
        }
      }),
    ),
  );
  return { group: group.name, ok: results.every((r) => r.code === 0), results };
}

/** Runs a command given as an argv on the selected hosts (quoted; no shell parsing of its words). */
export function execArgvOnGroup(group: ServerGroup, selector: HostSelector, argv: string[], ctx: ProviderContext, options: GroupExecOptions = {}): Promise<GroupExecResult> {
  // A single word is taken as a shell command line, as `ssh host 'cmd | grep x'` does.
  const script = argv.length === 1 ? argv[0]! : shellJoin(argv);
  return execOnGroup(group, selector, script, ctx, options);
}

