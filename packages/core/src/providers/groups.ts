import fs from 'node:fs';
import path from 'node:path';
import { InfraError, UserError, errorMessage, isUserError } from '../errors.js';
import type { GroupDefinition } from '../config/schema.js';
import { loadGroupFile } from '../config/load.js';
import type { Host, ServerGroup } from '../model.js';
import { shellJoin } from '../render/quote.js';
import { TemplateRenderer } from '../render/render.js';
import { linePrefixer } from '../ssh/output.js';
import { SshPool } from '../ssh/pool.js';
import { HOSTS_BLOCK_BEGIN, HOSTS_BLOCK_END, renderHostsFile } from './hosts-file.js';
import { assertGroupName, normalizeGroupDefinition } from './normalize.js';
import { groupDir, updateStoredGroup } from './record.js';
import { PROVIDERS, providerFor } from './registry.js';
import { knownHostsFilesFor } from './ssh.js';
import type { ExecResult, HostConnection, OwnedResource, ProviderContext, ServerGroupProvider } from './types.js';

function providerOf(name: string, ctx: ProviderContext): ServerGroupProvider {
  return providerFor(name, ctx.providers ?? PROVIDERS);
}

/** A group name unique to one job run of a template, e.g. `devstack-42`. */
export function groupNameForJob(template: string, jobId: string): string {
  const base = `${template}-${jobId}`.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return assertGroupName(base || `group-${jobId}`, 'job group name');
}

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

export interface CreateGroupOptions {
  /** Overrides the definition's name (`--name`, or a per-job name from groupNameForJob). */
  name?: string;
  jobId?: string;
  /** Names the definition's source in error messages (a file name or `templates.x.group`). */
  where?: string;
}

/**
 * Creates a server group: records it as `creating` before any resource exists, lets the provider
 * create (recording each resource as it appears), waits until every host is reachable, then writes
 * the hosts file and working directories. On any failure everything created is deleted and the
 * group is left marked `deleted` (or `failed`, when cleanup failed too) with the error.
 */
export async function createGroup(definition: GroupDefinition, options: CreateGroupOptions, ctx: ProviderContext): Promise<ServerGroup> {
  const where = options.where ?? 'group definition';
  const name = options.name ?? definition.name;
  if (!name) throw new UserError(`${where}: name: the group has no name`, { hint: 'add name: to the definition or pass --name' });
  assertGroupName(name, options.name ? '--name' : `${where}: name`);
  const provider = providerOf(definition.provider, ctx);

  await ctx.store.update((state) => {
    const existing = state.groups[name];
    if (existing && existing.state !== 'deleted') {
      throw new UserError(`server group "${name}" already exists (${existing.state}, provider ${existing.provider})`, {
        hint: `delete it with: firestack group delete ${name}, or choose another --name`,
      });
    }
    state.groups[name] = {
      name,
      provider: provider.name,
      hosts: [],
      createdAt: ctx.now().toISOString(),
      state: 'creating',
      ...(options.jobId ? { jobId: options.jobId } : {}),
      resources: [],
      definition: { ...definition, name },
    };
  });
  fs.rmSync(groupDir(ctx.store, name), { recursive: true, force: true });

  const count = normalizeGroupDefinition(definition, where).length;
  if (provider.prepare) {
    try {
      await provider.prepare(definition, ctx);
    } catch (err) {
      throw await abandonCreate(provider, name, err, ctx);
    }
  }
  return withPool(ctx, async (run) => {
    try {
      const progress: { group?: ServerGroup } = {};
      await ctx.logger.steps(
        [
          { title: `create ${count} host(s) of group ${name} (${provider.name})`, run: async (c) => void (c.group = await provider.create(name, definition, run)) },
          { title: 'wait until every host is reachable', run: (c) => provider.waitReachable(c.group!, run) },
          {
            title: 'write the hosts file and working directories',
            run: async (c) => void (c.group = provider.setup ? await provider.setup(c.group!, run) : await setupOverConnections(provider, c.group!, run)),
          },
        ],
        progress,
      );
      return await updateStoredGroup(ctx.store, name, (group) => {
        group.hosts = progress.group!.hosts;
        group.state = 'ready';
        delete group.error;
      });
    } catch (err) {
      throw await abandonCreate(provider, name, err, run);
    }
  });
}

/** Loads a group definition file and creates the group. */
export async function createGroupFromFile(file: string, options: Omit<CreateGroupOptions, 'where'>, ctx: ProviderContext): Promise<ServerGroup> {
  return createGroup(loadGroupFile(file), { ...options, where: path.basename(file) }, ctx);
}

async function abandonCreate(provider: ServerGroupProvider, name: string, err: unknown, ctx: ProviderContext): Promise<Error> {
  const message = errorMessage(err);
  const stored = (await ctx.store.read()).groups[name];
  let cleanup = '';
  if (stored) {
    try {
      await provider.delete(stored, ctx);
      removeGroupFiles(ctx, name);
    } catch (cleanupErr) {
      cleanup = `; cleanup failed too, run firestack group delete ${name}: ${errorMessage(cleanupErr)}`;
    }
    await updateStoredGroup(ctx.store, name, (group) => {
      group.state = cleanup ? 'failed' : 'deleted';
      group.error = `${message}${cleanup}`;
    });
  }
  const text = `creating server group ${name} failed: ${message}${cleanup || '; everything created was deleted'}`;
  return isUserError(err) ? new UserError(text, { cause: err }) : new InfraError(text, { cause: err });
}

function removeGroupFiles(ctx: ProviderContext, name: string): void {
  fs.rmSync(groupDir(ctx.store, name), { recursive: true, force: true });
}

/**
 * The setup every SSH-reached host gets: a working directory (configured, or
 * ~/.smokestack/<group>/<host>) and the group's hosts file, as a managed /etc/hosts block where
 * writable, else `$workdir/hosts`.
 */
export async function setupOverConnections(
  provider: ServerGroupProvider,
  group: ServerGroup,
  ctx: ProviderContext,
  renderer: TemplateRenderer = new TemplateRenderer(),
): Promise<ServerGroup> {
  const hostsLines = renderHostsFile(group).trimEnd().split('\n');
  const hosts = await Promise.all(
    group.hosts.map(async (host): Promise<Host> => {
      const script = renderer.render('group-setup.sh.hbs', {
        workDir: host.workDir && !host.workDir.startsWith('~/') && path.posix.isAbsolute(host.workDir) ? host.workDir : '',
        homeWorkDir: host.workDir ? host.workDir.replace(/^~\//, '') : `.smokestack/${group.name}/${host.name}`,
        hostsLines,
        manageEtcHosts: true,
        beginMarker: `${HOSTS_BLOCK_BEGIN} ${group.name}`,
        endMarker: `${HOSTS_BLOCK_END} ${group.name}`,
      });
      const conn = await provider.connect(group, { ...host, workDir: undefined }, ctx);
      try {
        const result = await conn.exec(script, { timeoutMs: 120_000 });
        if (result.code !== 0) {
          throw new InfraError(`host ${host.name}: setup script exited ${result.code}: ${lastLine(result.stderr)}`);
        }
        const out = Object.fromEntries(
          result.stdout
            .split('\n')
            .map((l) => l.match(/^(workdir|hostsfile)=(.*)$/))
            .filter((m): m is RegExpMatchArray => m !== null)
            .map((m) => [m[1]!, m[2]!]),
        );
        return { ...host, workDir: out.workdir ?? host.workDir, hostsFile: out.hostsfile };
      } finally {
        await conn.close();
      }
    }),
  );
  return { ...group, hosts };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

/** The stored group, or a one-line error listing the known names. */
export async function getGroup(name: string, ctx: Pick<ProviderContext, 'store'>): Promise<ServerGroup> {
  const state = await ctx.store.read();
  const group = state.groups[name];
  if (!group) {
    const known = Object.keys(state.groups).sort();
    throw new UserError(`no server group named "${name}"`, { hint: known.length ? `known groups: ${known.join(', ')}` : 'create one with: firestack group create FILE' });
  }
  return group;
}

export async function listGroups(ctx: Pick<ProviderContext, 'store'>): Promise<ServerGroup[]> {
  const state = await ctx.store.read();
  return Object.values(state.groups).sort((a, b) => a.name.localeCompare(b.name));
}

/** The stored group as its provider describes it now. */
export async function showGroup(name: string, ctx: ProviderContext): Promise<ServerGroup> {
  const group = await getGroup(name, ctx);
  if (group.state === 'deleted') return group;
  return providerOf(group.provider, ctx).describe(group, ctx);
}

/**
 * Deletes everything the group owns and removes its record. A failure leaves the group
 * marked `failed` with the error, so `group delete` can be run again.
 */
export async function deleteGroup(name: string, ctx: ProviderContext): Promise<ServerGroup> {
  const group = await getGroup(name, ctx);
  if (group.state !== 'deleted') {
    const provider = providerOf(group.provider, ctx);
    await updateStoredGroup(ctx.store, name, (g) => {
      g.state = 'deleting';
    });
    try {
      await withPool(ctx, (run) => provider.delete(group, run));
    } catch (err) {
      await updateStoredGroup(ctx.store, name, (g) => {
        g.state = 'failed';
        g.error = `delete failed: ${errorMessage(err)}`;
      });
      throw isUserError(err) ? err : new InfraError(`deleting server group ${name} failed: ${errorMessage(err)}`, { cause: err });
    }
  }
  removeGroupFiles(ctx, name);
  await ctx.store.update((state) => {
    delete state.groups[name];
  });
  return { ...group, state: 'deleted' };
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

function assertUsable(group: ServerGroup): void {
  if (group.state !== 'ready') {
    throw new UserError(`server group ${group.name} is ${group.state}, not ready${group.error ? `: ${group.error}` : ''}`);
  }
}

/** Connects to one host of a ready group (pooled when ctx.pool is set). */
export async function connectHost(group: ServerGroup, host: Host | string, ctx: ProviderContext): Promise<HostConnection> {
  const target = typeof host === 'string' ? selectHosts(group, { host })[0]! : host;
  return providerOf(group.provider, ctx).connect(group, target, ctx);
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
  assertUsable(group);
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
  assertUsable(group);
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

export interface SweepOptions {
  olderThanMs: number;
  dryRun?: boolean;
}

export interface SweepItem {
  provider: string;
  kind: 'group' | string;
  id: string;
  name?: string;
  group?: string;
  createdAt?: string;
  action: 'deleted' | 'would delete' | 'failed' | 'skipped';
  error?: string;
}

/** Pure: which groups and owned resources are older than the cutoff and not owned by a live, younger group. */
export function planSweep(
  groups: ServerGroup[],
  owned: Array<OwnedResource & { provider: string }>,
  cutoff: Date,
): { groups: ServerGroup[]; orphans: Array<OwnedResource & { provider: string }> } {
  const old = (iso?: string) => iso !== undefined && new Date(iso).getTime() < cutoff.getTime();
  const staleGroups = groups.filter((g) => old(g.createdAt));
  const live = new Set(groups.filter((g) => g.state !== 'deleted').map((g) => g.name));
  const orphans = owned.filter((r) => old(r.createdAt) && !(r.group && live.has(r.group)));
  return { groups: staleGroups, orphans };
}

/**
 * Deletes groups older than the cutoff, then resources any provider still owns that no live group
 * records (left by a crash). With dryRun only reports what it would delete.
 */
export async function sweepGroups(options: SweepOptions, ctx: ProviderContext): Promise<{ cutoff: string; items: SweepItem[] }> {
  const cutoff = new Date(ctx.now().getTime() - options.olderThanMs);
  const items: SweepItem[] = [];
  const providers = ctx.providers ?? PROVIDERS;
  const owned: Array<OwnedResource & { provider: string }> = [];
  for (const name of Object.keys(providers)) {
    try {
      for (const r of await providerOf(name, ctx).listOwned(ctx)) owned.push({ ...r, provider: name });
    } catch (err) {
      items.push({ provider: name, kind: 'provider', id: name, action: 'skipped', error: errorMessage(err) });
    }
  }
  const plan = planSweep(await listGroups(ctx), owned, cutoff);
  for (const group of plan.groups) {
    const item: SweepItem = { provider: group.provider, kind: 'group', id: group.name, name: group.name, createdAt: group.createdAt, action: 'would delete' };
    if (!options.dryRun) {
      try {
        await deleteGroup(group.name, ctx);
        item.action = 'deleted';
      } catch (err) {
        item.action = 'failed';
        item.error = errorMessage(err);
      }
    }
    items.push(item);
  }
  const sweptGroups = new Set(plan.groups.map((g) => g.name));
  for (const resource of plan.orphans) {
    if (resource.group && sweptGroups.has(resource.group)) continue;
    const provider = providerOf(resource.provider, ctx);
    const item: SweepItem = { provider: resource.provider, kind: resource.kind, id: resource.id, name: resource.name, group: resource.group, createdAt: resource.createdAt, action: 'would delete' };
    if (!provider.deleteOwned) item.action = 'skipped';
    else if (!options.dryRun) {
      try {
        await provider.deleteOwned(resource, ctx);
        item.action = 'deleted';
      } catch (err) {
        item.action = 'failed';
        item.error = errorMessage(err);
      }
    }
    items.push(item);
  }
  return { cutoff: cutoff.toISOString(), items };
}

/** Parses an age such as `90m`, `24h`, `7d` or `3600s`. */
export function parseAge(text: string, where = '--older-than'): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new UserError(`${where}: "${text}" is not an age`, { hint: 'use e.g. 30m, 24h or 7d' });
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(m[2] ?? 'h') as 's' | 'm' | 'h' | 'd' | 'w'];
  return Math.round(Number(m[1]) * unit * 1000);
}
