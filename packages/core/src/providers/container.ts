import fs from 'node:fs';
import path from 'node:path';
import { InfraError, UserError, errorMessage } from '../errors.js';
import type { GroupDefinition } from '../config/schema.js';
import { DEFAULT_IMAGE, type ImageSpec } from '../images/definition.js';
import { ensureImage } from '../images/build.js';
import { imageEnvironment, imageSettings, imageSpec, type ImageSettings } from '../images/service.js';
import { ImageStore } from '../images/store.js';
import type { Host, ServerGroup } from '../model.js';
import { generateSshKeyPair } from '../ssh/keys.js';
import { NspawnRuntime, type ContainerFile, type ContainerRuntime } from './container-runtime.js';
import { CONTAINER_SUBNET, isContainerId, newContainerId } from './container-state.js';
import { normalizeGroupDefinition, type HostSpec } from './normalize.js';
import { forgetGroupResource, groupDir, groupKnownHostsFile, updateStoredGroup } from './record.js';
import { SshHostConnection, openSsh, waitForSsh } from './ssh.js';
import type { HostConnection, OwnedResource, ProviderContext, ServerGroupProvider } from './types.js';

export const CONTAINER_KIND = 'container';
export const BRIDGE_KIND = 'bridge';

/** The group's client key beside the store: `groups/<group>/id_ed25519` (0600). */
export function containerKeyFile(ctx: Pick<ProviderContext, 'store'>, group: string): string {
  return path.join(groupDir(ctx.store, group), 'id_ed25519');
}

/**
 * Container groups: every host a booted Linux container on this machine (systemd-nspawn) with its
 * own copy-on-write root over a cached base image, its own processes, hostname and network
 * namespace with an address on the provider's bridge in 10.213.0.0/25, and its own sshd whose
 * host key is generated here and pinned before the container boots. Reached over SSH like any host.
 */
export class ContainerProvider implements ServerGroupProvider {
  readonly name = 'container' as const;
  /** Hosts reach nothing beyond their group: sources are fetched here and shipped to them. */
  readonly isolatedHosts = true;

  constructor(private readonly runtime: ContainerRuntime = new NspawnRuntime()) {}

  private settings(ctx: ProviderContext): ImageSettings {
    return ctx.images ?? imageSettings(undefined, ctx.env);
  }

  /** Checks the runtime and builds (or finds) every image the group needs, with progress, before anything is created. */
  async prepare(definition: GroupDefinition, ctx: ProviderContext): Promise<void> {
    await this.assertRuntime();
    await this.images(normalizeGroupDefinition(definition, definition.name ?? 'group definition'), ctx);
  }

  private async assertRuntime(): Promise<void> {
    const reason = await this.runtime.unavailable();
    if (reason) throw new UserError(`container provider: ${reason}`);
  }

  /** The built image of each image name the hosts use; builds what is missing. */
  private async images(specs: HostSpec[], ctx: ProviderContext): Promise<Map<string, { spec: ImageSpec; rootfs: string; builtAt: string }>> {
    const settings = this.settings(ctx);
    const store = new ImageStore(settings.dir);
    const env = imageEnvironment();
    const out = new Map<string, { spec: ImageSpec; rootfs: string; builtAt: string }>();
    for (const name of new Set(specs.map((s) => s.image ?? DEFAULT_IMAGE))) {
      const spec = imageSpec(name, settings, env);
      if (!store.find(spec)) ctx.logger.info(`image ${name} (${spec.key}) is not built yet: building it now (it is cached for every later group)`);
      const { image } = await ensureImage(spec, store, { logger: ctx.logger, signal: ctx.signal });
      out.set(name, { spec, rootfs: image.rootfs, builtAt: image.builtAt });
    }
    return out;
  }

  async create(name: string, definition: GroupDefinition, ctx: ProviderContext): Promise<ServerGroup> {
    await this.assertRuntime();
    const specs = normalizeGroupDefinition(definition, name);
    const images = await this.images(specs, ctx);
    const keyFile = writeClientKey(ctx, name);
    const authorized = fs.readFileSync(`${keyFile}.pub`, 'utf8');
    const knownHosts = groupKnownHostsFile(ctx.store, name);
    fs.rmSync(knownHosts, { force: true });
    const ids = specs.map(() => newContainerId());
    // Recorded before any container exists: a crash from here on leaves nothing the store does not name.
    await updateStoredGroup(ctx.store, name, (group) => {
      group.resources = [...(group.resources ?? []), ...specs.map((spec, i) => ({ kind: CONTAINER_KIND, id: ids[i]!, name: spec.name, createdAt: ctx.now().toISOString() }))];
    });
    const hosts = await Promise.all(
      specs.map(async (spec, i): Promise<Host> => {
        const id = ids[i]!;
        const hostKey = generateSshKeyPair(`${spec.name}@${name}`);
        const image = images.get(spec.image ?? DEFAULT_IMAGE)!;
        const record = await this.runtime.start({
          id,
          store: ctx.store.location,
          storeDir: ctx.store.dataDir,
          group: name,
          host: spec.name,
          image: { name: image.spec.name, key: image.spec.key, rootfs: image.rootfs },
          files: hostFiles(spec.name, hostKey, authorized),
          createdAt: ctx.now().toISOString(),
        });
        fs.appendFileSync(knownHosts, `${record.address} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`, { mode: 0o600 });
        ctx.logger.info(`host ${spec.name}: container ${id} at ${record.address} (image ${image.spec.name})`);
        return {
          name: spec.name,
          address: record.address,
          port: 22,
          user: 'root',
          roles: spec.roles,
          gateway: spec.gateway,
          identityFile: keyFile,
          knownHosts,
          resourceId: id,
          // The same spec built again (newer packages) is another image: when it was built is part of its name.
          containerImage: `${image.spec.name}-${image.spec.key}@${image.builtAt}`,
          ...(spec.workDir ? { workDir: spec.workDir } : {}),
        };
      }),
    );
    return updateStoredGroup(ctx.store, name, (group) => {
      group.hosts = hosts;
    });
  }

  async waitReachable(group: ServerGroup, ctx: ProviderContext): Promise<void> {
    await waitForSsh(group, ctx, { initialDelayMs: 100, maxDelayMs: 500 });
  }

  async describe(group: ServerGroup, ctx: ProviderContext): Promise<ServerGroup> {
    const running = new Set((await this.runtime.list()).map((c) => c.id));
    const missing = group.hosts.filter((h) => h.resourceId && !running.has(h.resourceId)).map((h) => h.name);
    if (missing.length === 0) return group;
    ctx.logger.warn(`server group ${group.name}: no container left for host(s) ${missing.join(', ')}`);
    return { ...group, error: `containers gone: ${missing.join(', ')}` };
  }

  /** Removes every container the group recorded (each one's processes, layer, namespace and link), then the bridge if unused. */
  async delete(group: ServerGroup, ctx: ProviderContext): Promise<void> {
    const ids = new Set<string>();
    for (const r of group.resources ?? []) if (r.kind === CONTAINER_KIND) ids.add(r.id);
    for (const h of group.hosts) if (h.resourceId && isContainerId(h.resourceId)) ids.add(h.resourceId);
    for (const host of group.hosts) await ctx.pool?.release(host);
    const errors: string[] = [];
    await Promise.all(
      [...ids].map((id) =>
        this.runtime
          .remove(id)
          .then(() => forgetGroupResource(ctx.store, group.name, { kind: CONTAINER_KIND, id }))
          .catch((err: unknown) => void errors.push(`${id}: ${errorMessage(err)}`)),
      ),
    );
    if (errors.length > 0) throw new InfraError(`removing containers failed: ${errors.join('; ')}`);
  }

  /** This store's containers on the machine, those of stores whose directory is gone, and an unused bridge. */
  async listOwned(ctx: ProviderContext): Promise<OwnedResource[]> {
    if (process.getuid?.() !== 0) return [];
    const owned: OwnedResource[] = [];
    for (const c of await this.runtime.list()) {
      if ('broken' in c) owned.push({ kind: CONTAINER_KIND, id: c.id, createdAt: c.createdAt });
      else if (c.store === ctx.store.location) owned.push({ kind: CONTAINER_KIND, id: c.id, name: c.host, group: c.group, createdAt: c.createdAt });
      else if (!fs.existsSync(c.storeDir)) owned.push({ kind: CONTAINER_KIND, id: c.id, name: `${c.host} (store ${c.store} is gone)`, createdAt: c.createdAt });
    }
    const bridge = await this.runtime.strayBridge();
    // An unused bridge is never in anybody's way; its age is unknown, so any sweep may take it.
    if (bridge) owned.push({ kind: BRIDGE_KIND, id: bridge, name: `${bridge} (${CONTAINER_SUBNET.bridgeAddress})`, createdAt: new Date(0).toISOString() });
    return owned;
  }

  async deleteOwned(resource: OwnedResource, ctx: ProviderContext): Promise<void> {
    if (resource.kind === CONTAINER_KIND && isContainerId(resource.id)) {
      await this.runtime.remove(resource.id);
      if (resource.group) await forgetGroupResource(ctx.store, resource.group, resource);
    } else if (resource.kind === BRIDGE_KIND) {
      await this.runtime.removeBridgeIfUnused();
    }
  }

  async connect(group: ServerGroup, host: Host, ctx: ProviderContext): Promise<HostConnection> {
    const { conn, pooled } = await openSsh(group, host, ctx);
    return new SshHostConnection(group, host, conn, pooled);
  }
}

/** The group's client key pair, generated once per group and authorised on every host. */
function writeClientKey(ctx: ProviderContext, group: string): string {
  const file = containerKeyFile(ctx, group);
  if (fs.existsSync(file) && fs.existsSync(`${file}.pub`)) return file;
  const pair = generateSshKeyPair(`smokestack-${group}`);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, pair.private, { mode: 0o600 });
  fs.writeFileSync(`${file}.pub`, `${pair.public}\n`, { mode: 0o644 });
  return file;
}

/** What makes a container this host: its name, its own sshd host key, the group's key for root. */
function hostFiles(hostname: string, hostKey: { private: string; public: string }, authorized: string): ContainerFile[] {
  return [
    { path: '/etc/hostname', content: `${hostname}\n`, mode: 0o644 },
    { path: '/etc/ssh/ssh_host_ed25519_key', content: hostKey.private, mode: 0o600 },
    { path: '/etc/ssh/ssh_host_ed25519_key.pub', content: `${hostKey.public}\n`, mode: 0o644 },
    { path: '/root/.ssh/authorized_keys', content: authorized, mode: 0o600 },
  ];
}
