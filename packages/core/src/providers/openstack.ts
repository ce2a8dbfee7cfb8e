import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { InfraError, UserError, errorMessage, isUserError } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { sleep } from '../net/retry.js';
import type { GroupDefinition } from '../config/schema.js';
import type { Host, ServerGroup } from '../model.js';
import type { Logger } from '../log/logger.js';
import { checkHostKey, knownHostsName } from '../ssh/known-hosts.js';
import { generateSshKeyPair } from '../ssh/keys.js';
import { connectWithRetry } from '../ssh/pool.js';
import { unknownKeyWarning } from './ssh.js';
import { targetLabel, type SshConnection, type SshTarget } from '../ssh/connection.js';
import { OpenStackSession } from './openstack-auth.js';
import { loadCloudConfig, type CloudConfig } from './openstack-config.js';
import { NovaClient, parseConsoleHostKeys, pickServerAddress, type NovaServer } from './openstack-nova.js';
import { assertGroupName, normalizeGroupDefinition, type HostSpec } from './normalize.js';
import { forgetGroupResource, groupDir, groupKnownHostsFile, recordGroupResource, updateStoredGroup } from './record.js';
import { reachableTimeout, type ExecOptions, type ExecResult, type HostConnection, type OwnedResource, type ProviderContext, type ServerGroupProvider } from './types.js';

// Only OpenStack groups need the YAML library; every command that lists or shows groups loads this module.
const yaml = lazyRequire<typeof import('yaml')>('yaml');

export { apiErrorMessage, selectEndpoint, OpenStackApiError, OpenStackSession } from './openstack-auth.js';
export type { ApiRequest, CatalogEndpoint, CatalogService, EndpointChoice, KeystoneToken, SessionOptions } from './openstack-auth.js';
export { cloudFromEntry, cloudFromEnv, cloudsSearchPath, findCloudsFile, loadCloudConfig, cloudSecrets } from './openstack-config.js';
export type { CloudConfig, CloudSelection, EndpointInterface, OpenStackAuthType } from './openstack-config.js';
export { NovaClient, parseConsoleHostKeys, pickServerAddress } from './openstack-nova.js';
export type { AddressChoice, NovaAddress, NovaKeypair, NovaServer, ServerCreateRequest } from './openstack-nova.js';

/** Tag on every server this tool creates; sweep lists by it. */
export const OPENSTACK_OWNER_TAG = 'smokestack';
/** Nova tags are at most 60 characters. */
const MAX_GROUP_NAME = 60 - 'smokestack-group-'.length;

export function openstackGroupTag(group: string): string {
  return `smokestack-group-${group}`;
}

export function openstackKeypairName(group: string): string {
  return `smokestack-${group}`;
}

export function openstackServerName(group: string, host: string): string {
  return `${group}-${host}`;
}

/** The group's private key beside the store: `groups/<group>/id_ed25519` (0600). */
export function openstackKeyFile(ctx: Pick<ProviderContext, 'store'>, group: string): string {
  return path.join(groupDir(ctx.store, group), 'id_ed25519');
}

/** A resource found by listOwned, with the cloud it lives in. */
export interface OpenStackOwnedResource extends OwnedResource {
  kind: 'server' | 'keypair';
  cloud?: string;
}

export interface OpenStackProviderOptions {
  /** Compute microversion sent on every Nova call (tags on create need 2.52 or later). */
  microversion?: string;
  /** First wait between status polls; grows by half each poll up to maxPollIntervalMs. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** Give up on servers not ACTIVE after this long (default 15 min). */
  createTimeoutMs?: number;
  /** Give up on servers still answering after DELETE after this long (default 5 min). */
  deleteTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Server creates in flight at once (default 10). */
  concurrency?: number;
  /** Cloud for listOwned/deleteOwned when OS_CLOUD is unset. */
  cloud?: string;
  /** Where ./clouds.yaml is looked for (default: the working directory). */
  cwd?: string;
  /** Login user on the servers when the definition names none (default "debian"). */
  defaultUser?: string;
}

/**
 * Server groups on an OpenStack cloud: Keystone v3 auth from clouds.yaml or OS_*, a keypair per
 * group, servers created in parallel with key_name + user_data and tagged with the group, only
 * our own server ids polled, every id recorded in the store the moment Nova answers, and on any
 * failure everything already created deleted again.
 */
export class OpenStackProvider implements ServerGroupProvider {
  readonly name = 'openstack' as const;
  private readonly sessions = new Map<string, OpenStackSession>();

  constructor(private readonly options: OpenStackProviderOptions = {}) {}

  /** A Nova client for a cloud; sessions (and their tokens) are reused while the credentials are the same. */
  client(cloudName: string | undefined, ctx: ProviderContext): { nova: NovaClient; cloud: CloudConfig } {
    const cloud = loadCloudConfig({ cloud: cloudName ?? this.options.cloud, env: ctx.env, cwd: this.options.cwd });
    const key = createHash('sha256').update(JSON.stringify(cloud)).digest('hex');
    let session = this.sessions.get(key);
    if (!session) {
      session = new OpenStackSession(cloud, {
        logger: ctx.logger,
        now: ctx.now,
        requestTimeoutMs: this.options.requestTimeoutMs,
        computeMicroversion: this.options.microversion ?? '2.79',
      });
      this.sessions.set(key, session);
    }
    session.attach(ctx.logger, ctx.now);
    return { nova: new NovaClient(session), cloud };
  }

  async create(name: string, definition: GroupDefinition, ctx: ProviderContext): Promise<ServerGroup> {
    assertGroupName(name);
    if (name.length > MAX_GROUP_NAME) {
      throw new UserError(`group name "${name}" is too long for OpenStack tags`, { hint: `use at most ${MAX_GROUP_NAME} characters` });
    }
    const specs = normalizeGroupDefinition(definition, name);
    const cloudName = singleCloud(specs, name);
    const { nova, cloud } = this.client(cloudName, ctx);
    const log = ctx.logger.child(name);
    await ctx.store.update((state) => {
      const group = (state.groups[name] ??= { name, provider: 'openstack', hosts: [], createdAt: ctx.now().toISOString(), state: 'creating' });
      group.definition ??= definition;
    });

    const created = new Map<string, string>();
    let keypairRecorded = false;
    const abort = new AbortController();
    const onOuterAbort = () => abort.abort();
    ctx.signal?.addEventListener('abort', onOuterAbort);
    let failure: unknown;
    try {
      const refs = await this.resolveRefs(nova, specs, name, ctx.signal);
      keypairRecorded = true;
      const keyFile = await this.createKeypair(nova, name, ctx);
      const knownHosts = groupKnownHostsFile(ctx.store, name);
      fs.rmSync(knownHosts, { force: true });
      const deadline = Date.now() + (this.options.createTimeoutMs ?? 900_000);
      const limit = pLimit(this.options.concurrency ?? 10);
      log.info(`creating ${specs.length} server(s) on cloud ${cloud.name}`);
      const server = { nova, refs, group: name, definition, keyFile, knownHosts, deadline, signal: abort.signal, created, ctx, log };
      // The first failure stops the others: servers not yet asked for are never created.
      const results = await Promise.allSettled(
        specs.map((spec) =>
          limit(() => {
            if (failure) throw failure;
            return this.createServer(spec, server);
          }).catch((err: unknown) => {
            failure ??= err;
            abort.abort();
            throw err;
          }),
        ),
      );
      if (failure) throw failure;
      const hosts = results.map((r) => (r as PromiseFulfilledResult<Host>).value);
      return await updateStoredGroup(ctx.store, name, (group) => {
        group.hosts = hosts;
      });
    } catch (err) {
      const cause = failure ?? err;
      if (ctx.signal?.aborted && !failure) log.warn('create interrupted; deleting what was created');
      throw await this.abandonCreate(name, cloudName, keypairRecorded ? [...created.values()] : undefined, cause, ctx);
    } finally {
      ctx.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** One server of a group: created with the group's key and tags, recorded at once, waited for, and its address picked. */
  private async createServer(spec: HostSpec, run: ServerCreation): Promise<Host> {
    const { nova, refs, group, definition, ctx, log } = run;
    const serverName = openstackServerName(group, spec.name);
    const { id } = await nova.createServer({
      name: serverName,
      imageRef: refs.images.get(spec.image!)!,
      flavorRef: refs.flavors.get(spec.flavor!)!,
      key_name: openstackKeypairName(group),
      user_data: Buffer.from(spec.userData ?? defaultUserData(spec)).toString('base64'),
      networks: spec.network ? [{ uuid: refs.networks.get(spec.network)!.id }] : 'auto',
      metadata: { smokestack_group: group, smokestack_host: spec.name, smokestack_created: ctx.now().toISOString() },
      tags: [OPENSTACK_OWNER_TAG, openstackGroupTag(group)],
    });
    run.created.set(spec.name, id);
    await recordGroupResource(ctx.store, group, { kind: 'server', id, name: serverName }, ctx.now());
    log.info(`server ${serverName} is ${id}`);
    const server = await this.waitForActive(nova, id, serverName, spec.name, run.deadline, run.signal);
    const network = spec.network ? refs.networks.get(spec.network)!.name : undefined;
    const address = pickServerAddress(server.addresses, { addressType: definition.addressType, ipVersion: definition.ipVersion, network });
    if (!address) {
      const wanted = [definition.addressType, definition.ipVersion ? `IPv${definition.ipVersion}` : undefined].filter(Boolean).join(' ');
      throw new InfraError(`server ${serverName} (host ${spec.name}) is ACTIVE but has no ${wanted ? `${wanted} ` : ''}address${network ? ` on network ${network}` : ''}`);
    }
    log.info(`server ${serverName} is ACTIVE at ${address}`);
    return {
      name: spec.name,
      address,
      port: spec.port ?? 22,
      user: spec.user ?? this.options.defaultUser ?? 'debian',
      roles: spec.roles,
      gateway: spec.gateway,
      identityFile: run.keyFile,
      knownHosts: spec.knownHosts ?? run.knownHosts,
      resourceId: id,
      ...(spec.workDir ? { workDir: spec.workDir } : {}),
    };
  }

  /** Deletes what a failed create made (servers known by id, the keypair) and says what went wrong, keeping the kind of error. */
  private async abandonCreate(name: string, cloudName: string | undefined, servers: string[] | undefined, cause: unknown, ctx: ProviderContext): Promise<Error> {
    const cleanup = await (servers ? this.deleteEverything(name, cloudName, servers, ctx) : Promise.resolve()).then(
      () => '',
      (cleanupErr: unknown) => `; cleanup failed too (${errorMessage(cleanupErr)}): run firestack group delete ${name}`,
    );
    const message = `openstack: ${errorMessage(cause).replace(/^openstack: /, '')}${cleanup}`;
    if (isUserError(cause)) return new UserError(message, { hint: cause.options.hint, cause });
    return new InfraError(message, { cause });
  }

  private async resolveRefs(nova: NovaClient, specs: HostSpec[], group: string, signal?: AbortSignal) {
    const images = new Map<string, string>();
    const flavors = new Map<string, string>();
    const networks = new Map<string, { id: string; name: string }>();
    specs.forEach((spec, i) => {
      if (!spec.image) throw new UserError(`${group}: hosts[${i}].image: the openstack provider needs an image for host "${spec.name}"`);
      if (!spec.flavor) throw new UserError(`${group}: hosts[${i}].flavor: the openstack provider needs a flavor for host "${spec.name}"`);
    });
    for (const spec of specs) {
      if (!images.has(spec.image!)) images.set(spec.image!, await nova.resolveImage(spec.image!, signal));
      if (!flavors.has(spec.flavor!)) flavors.set(spec.flavor!, await nova.resolveFlavor(spec.flavor!, signal));
      if (spec.network && !networks.has(spec.network)) networks.set(spec.network, await nova.resolveNetwork(spec.network, signal));
    }
    return { images, flavors, networks };
  }

  /** Generates the group's ed25519 key (0600 beside the store) and uploads its public half. */
  private async createKeypair(nova: NovaClient, group: string, ctx: ProviderContext): Promise<string> {
    const keyFile = openstackKeyFile(ctx, group);
    const keyName = openstackKeypairName(group);
    const pair = generateSshKeyPair(keyName);
    fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    fs.rmSync(keyFile, { force: true });
    fs.writeFileSync(keyFile, pair.private, { mode: 0o600 });
    fs.writeFileSync(`${keyFile}.pub`, `${pair.public}\n`, { mode: 0o644 });
    // Recorded before the upload: the name is ours, and deleting a keypair that never arrived is harmless.
    await recordGroupResource(ctx.store, group, { kind: 'keypair', id: keyName, name: keyName }, ctx.now());
    await nova.createKeypair(keyName, pair.public, ctx.signal);
    return keyFile;
  }

  /** Polls one server (ours) with growing waits until ACTIVE; ERROR, disappearance and the deadline fail. */
  private async waitForActive(nova: NovaClient, id: string, serverName: string, host: string, deadline: number, signal: AbortSignal): Promise<NovaServer> {
    let wait = this.options.pollIntervalMs ?? 1000;
    const maxWait = this.options.maxPollIntervalMs ?? 10_000;
    for (;;) {
      if (signal.aborted) throw new InfraError(`server ${serverName}: interrupted while building`);
      const server = await nova.getServer(id, signal);
      if (!server) throw new InfraError(`server ${serverName} (host ${host}) disappeared while building`);
      if (server.status === 'ACTIVE') return server;
      if (server.status === 'ERROR') {
        const fault = server.fault?.message ?? 'no fault message';
        throw new InfraError(`server ${serverName} (host ${host}) went to ERROR: ${fault}${server.fault?.code ? ` (fault ${server.fault.code})` : ''}`);
      }
      if (Date.now() + wait > deadline) {
        throw new InfraError(`server ${serverName} (host ${host}) still ${server.status} after ${Math.round((this.options.createTimeoutMs ?? 900_000) / 1000)} s`);
      }
      await sleep(wait, signal);
      if (signal.aborted) throw new InfraError('stopped waiting');
      wait = Math.min(maxWait, Math.round(wait * 1.5));
    }
  }

  /** Deletes the group's servers (recorded, given, or found by the group tag) and keypair; waits until they are gone. */
  private async deleteEverything(group: string, cloudName: string | undefined, extraIds: string[], ctx: ProviderContext): Promise<void> {
    const { nova } = this.client(cloudName, ctx);
    const stored = (await ctx.store.read()).groups[group];
    const ids = new Set<string>(extraIds);
    for (const r of stored?.resources ?? []) if (r.kind === 'server') ids.add(r.id);
    for (const h of stored?.hosts ?? []) if (h.resourceId) ids.add(h.resourceId);
    // Servers whose id never reached the store (a crash right after POST) still carry the group tag.
    for (const s of await nova.listServers({ tags: openstackGroupTag(group) })) ids.add(s.id);
    const errors: string[] = [];
    await Promise.all(
      [...ids].map((id) =>
        this.deleteServer(nova, id)
          .then(() => forgetGroupResource(ctx.store, group, { kind: 'server', id }))
          .catch((err: unknown) => void errors.push(errorMessage(err))),
      ),
    );
    const keyName = openstackKeypairName(group);
    await nova.deleteKeypair(keyName).then(
      () => forgetGroupResource(ctx.store, group, { kind: 'keypair', id: keyName }),
      (err: unknown) => void errors.push(errorMessage(err)),
    );
    if (errors.length > 0) throw new InfraError(errors.join('; '));
    const keyFile = openstackKeyFile(ctx, group);
    fs.rmSync(keyFile, { force: true });
    fs.rmSync(`${keyFile}.pub`, { force: true });
  }

  /** DELETE, then poll until 404. */
  private async deleteServer(nova: NovaClient, id: string): Promise<void> {
    if (!(await nova.deleteServer(id))) return;
    const timeoutMs = this.options.deleteTimeoutMs ?? 300_000;
    const deadline = Date.now() + timeoutMs;
    let wait = this.options.pollIntervalMs ?? 1000;
    for (;;) {
      const server = await nova.getServer(id);
      if (!server) return;
      if (Date.now() + wait > deadline) throw new InfraError(`server ${server.name} (${id}) still exists ${Math.round(timeoutMs / 1000)} s after DELETE (status ${server.status})`);
      await sleep(wait);
      wait = Math.min(this.options.maxPollIntervalMs ?? 10_000, Math.round(wait * 1.5));
    }
  }

  async waitReachable(group: ServerGroup, ctx: ProviderContext): Promise<void> {
    const { nova } = this.client(groupCloud(group), ctx);
    await Promise.all(
      group.hosts.map(async (host) => {
        const pinFile = groupKnownHostsFile(ctx.store, group.name);
        const knownHosts = host.knownHosts ?? pinFile;
        let firstContact = false;
        if (knownHosts === pinFile && !hostIsKnown(pinFile, host)) {
          // Prefer the keys cloud-init printed on the console; pin on first contact only when there are none.
          const keys = host.resourceId ? parseConsoleHostKeys((await nova.getConsoleOutput(host.resourceId).catch(() => undefined)) ?? '') : [];
          if (keys.length > 0) writeKnownHosts(pinFile, host, keys);
          else firstContact = true;
        }
        const target = sshTarget(group, host, ctx, firstContact);
        const retry = {
          timeoutMs: reachableTimeout(group, ctx),
          signal: ctx.signal,
          env: ctx.env,
          onRetry: (attempt: number, err: Error, delay: number) =>
            ctx.logger.debug(`${host.name}: not reachable yet (attempt ${attempt}: ${errorMessage(err)}); retrying in ${delay} ms`),
        };
        if (ctx.pool) await ctx.pool.acquire(target, retry);
        else await (await connectWithRetry(target, retry)).close();
      }),
    );
  }

  async describe(group: ServerGroup, ctx: ProviderContext): Promise<ServerGroup> {
    const { nova } = this.client(groupCloud(group), ctx);
    const missing: string[] = [];
    const hosts = await Promise.all(
      group.hosts.map(async (host) => {
        if (!host.resourceId) return host;
        const server = await nova.getServer(host.resourceId);
        if (!server) missing.push(host.name);
        else if (server.status !== 'ACTIVE') missing.push(`${host.name} (${server.status})`);
        return host;
      }),
    );
    const described: ServerGroup = { ...group, hosts };
    if (missing.length > 0) described.error = `server(s) not ACTIVE on the cloud: ${missing.join(', ')}`;
    return described;
  }

  async delete(group: ServerGroup, ctx: ProviderContext): Promise<void> {
    const stored = (await ctx.store.read()).groups[group.name];
    const ids = [...(group.resources ?? []).filter((r) => r.kind === 'server').map((r) => r.id), ...group.hosts.flatMap((h) => (h.resourceId ? [h.resourceId] : []))];
    if (ctx.pool) await Promise.all(group.hosts.map((h) => ctx.pool!.release(h)));
    await this.deleteEverything(group.name, groupCloud(stored ?? group), ids, ctx);
  }

  async listOwned(ctx: ProviderContext): Promise<OpenStackOwnedResource[]> {
    const clouds = new Map<string, string | undefined>();
    const explicit = this.options.cloud ?? ctx.env.OS_CLOUD;
    if (explicit) clouds.set(explicit, explicit);
    else if (ctx.env.OS_AUTH_URL) clouds.set('envvars', undefined);
    for (const group of Object.values((await ctx.store.read()).groups)) {
      const cloud = group.provider === 'openstack' ? groupCloud(group) : undefined;
      if (cloud && !clouds.has(cloud)) clouds.set(cloud, cloud);
    }
    const out = new Map<string, OpenStackOwnedResource>();
    for (const [label, cloudName] of clouds) {
      let nova: NovaClient;
      try {
        nova = this.client(cloudName, ctx).nova;
      } catch (err) {
        if (label === explicit || label === 'envvars') throw err;
        ctx.logger.warn(`openstack: skipping cloud ${label}: ${errorMessage(err)}`);
        continue;
      }
      for (const server of await nova.listServers({ tags: OPENSTACK_OWNER_TAG })) {
        out.set(`server:${server.id}`, {
          kind: 'server',
          id: server.id,
          name: server.name,
          createdAt: server.created ?? server.metadata?.smokestack_created,
          group: server.metadata?.smokestack_group,
          cloud: cloudName,
        });
      }
      for (const keypair of await nova.listKeypairs()) {
        if (!keypair.name.startsWith('smokestack-') || out.has(`keypair:${keypair.name}`)) continue;
        const detail = await nova.getKeypair(keypair.name);
        if (!detail) continue;
        out.set(`keypair:${keypair.name}`, {
          kind: 'keypair',
          id: keypair.name,
          name: keypair.name,
          createdAt: detail.created_at ? novaUtc(detail.created_at) : undefined,
          group: keypair.name.slice('smokestack-'.length),
          cloud: cloudName,
        });
      }
    }
    return [...out.values()];
  }

  async deleteOwned(resource: OwnedResource, ctx: ProviderContext): Promise<void> {
    const { nova } = this.client((resource as OpenStackOwnedResource).cloud, ctx);
    if (resource.kind === 'server') await this.deleteServer(nova, resource.id);
    else if (resource.kind === 'keypair') await nova.deleteKeypair(resource.id);
    else return;
    await ctx.store.update((state) => {
      for (const group of Object.values(state.groups)) {
        if (group.resources) group.resources = group.resources.filter((r) => !(r.kind === resource.kind && r.id === resource.id));
      }
    });
  }

  async connect(group: ServerGroup, host: Host, ctx: ProviderContext): Promise<HostConnection> {
    const target = sshTarget(group, host, ctx, false);
    if (ctx.pool) return new OpenStackHostConnection(host, await ctx.pool.acquire(target, { env: ctx.env, timeoutMs: 30_000 }), false);
    return new OpenStackHostConnection(host, await connectWithRetry(target, { env: ctx.env, timeoutMs: 30_000 }), true);
  }
}

export function createOpenStackProvider(options: OpenStackProviderOptions = {}): OpenStackProvider {
  return new OpenStackProvider(options);
}

/** Runs scripts over the host's SSH connection; closes it only when it is not the pool's. */
class OpenStackHostConnection implements HostConnection {
  constructor(
    readonly host: Host,
    private readonly ssh: SshConnection,
    private readonly owned: boolean,
  ) {}

  exec(script: string, options?: ExecOptions): Promise<ExecResult> {
    return this.ssh.exec(script, options);
  }

  upload(localPath: string, remotePath: string): Promise<void> {
    return this.ssh.upload(localPath, remotePath);
  }

  download(remotePath: string, localPath: string): Promise<void> {
    return this.ssh.download(remotePath, localPath);
  }

  async close(): Promise<void> {
    if (this.owned) await this.ssh.close();
  }
}

function sshTarget(group: ServerGroup, host: Host, ctx: ProviderContext, firstContact: boolean): SshTarget {
  const pinFile = groupKnownHostsFile(ctx.store, group.name);
  return {
    address: host.address,
    port: host.port,
    user: host.user,
    identityFile: host.identityFile,
    knownHostsFiles: [host.knownHosts ?? pinFile],
    acceptUnknownHostKeys: firstContact || Boolean(ctx.insecureAcceptHostKeys),
    onUnknownKeyAccepted: (key) =>
      ctx.logger.warn(
        unknownKeyWarning(
          targetLabel({ ...host, label: host.name }),
          key,
          ctx.insecureAcceptHostKeys ? '--insecure-accept-host-keys or SMOKESTACK_INSECURE_ACCEPT_HOST_KEYS' : 'first contact: the console printed no host keys',
          pinFile,
        ),
      ),
    pinFile,
    label: host.name,
  };
}

function hostIsKnown(file: string, host: Host): boolean {
  if (!fs.existsSync(file)) return false;
  const name = knownHostsName(host.address, host.port);
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .some((line) => line.split(/\s+/)[0]?.split(',').includes(name));
}

function writeKnownHosts(file: string, host: Host, keys: Array<{ type: string; key: string }>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const lines = keys
    .filter((k) => checkHostKey([file], host.address, host.port, Buffer.from(k.key, 'base64')).status !== 'match')
    .map((k) => `${knownHostsName(host.address, host.port)} ${k.type} ${k.key}\n`);
  fs.appendFileSync(file, lines.join(''), { mode: 0o600 });
}

/** What creating each server of one group shares. */
interface ServerCreation {
  nova: NovaClient;
  refs: Awaited<ReturnType<OpenStackProvider['resolveRefs']>>;
  group: string;
  definition: GroupDefinition;
  keyFile: string;
  knownHosts: string;
  deadline: number;
  signal: AbortSignal;
  /** Server ids by host name, as they are created (for cleanup). */
  created: Map<string, string>;
  ctx: ProviderContext;
  log: Logger;
}

function singleCloud(specs: HostSpec[], group: string): string | undefined {
  const clouds = [...new Set(specs.map((s) => s.cloud))];
  if (clouds.length > 1) throw new UserError(`${group}: hosts use several clouds (${clouds.map((c) => c ?? 'OS_CLOUD').join(', ')})`, { hint: 'a group lives in one cloud' });
  return clouds[0];
}

/** The cloud a stored group was created in (its definition's `cloud`, else OS_CLOUD / OS_*). */
function groupCloud(group: Pick<ServerGroup, 'definition'>): string | undefined {
  const def = group.definition as Partial<GroupDefinition> | undefined;
  return def?.cloud ?? def?.hosts?.find((h) => h.cloud)?.cloud;
}

function defaultUserData(spec: HostSpec): string {
  return `#cloud-config\n${yaml().stringify({ hostname: spec.name, preserve_hostname: false })}`;
}

/** Nova's keypair created_at has no zone ("2024-01-02T03:04:05.000000"); it is UTC. */
function novaUtc(value: string): string {
  return /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? new Date(value).toISOString() : new Date(`${value}Z`).toISOString();
}
