import type { GroupDefinition } from '../config/schema.js';
import type { ImageSettings } from '../images/service.js';
import type { Logger } from '../log/logger.js';
import type { Host, ServerGroup } from '../model.js';
import type { Store } from '../store/types.js';
import type { SshPool } from '../ssh/pool.js';
import type { HostConnection } from '../ssh/exec.js';

export type { ExecOptions, ExecResult, HostConnection } from '../ssh/exec.js';
import type { ProviderMap } from './registry.js';

/** How long to wait for a group's hosts: the caller's override, else the definition's, else 3 minutes. */
export function reachableTimeout(group: ServerGroup, ctx: ProviderContext): number {
  const seconds = (group.definition as GroupDefinition | undefined)?.reachableTimeoutSeconds;
  return ctx.reachableTimeoutMs ?? (seconds !== undefined ? seconds * 1000 : 180_000);
}

export interface ProviderContext {
  store: Store;
  logger: Logger;
  now: () => Date;
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Accept unknown SSH host keys (never the default). */
  insecureAcceptHostKeys?: boolean;
  /** Shared SSH connections (one per host, reused by every command); without it each connect opens its own. */
  pool?: SshPool;
  /** How long waitReachable keeps retrying a booting host (default 180 s). */
  reachableTimeoutMs?: number;
  /** Providers to choose from (default: every built-in provider). */
  providers?: ProviderMap;
  /** The config's container images and where they are kept (default: the built-in image, the machine's cache). */
  images?: ImageSettings;
}

export interface OwnedResource {
  kind: string;
  id: string;
  name?: string;
  createdAt?: string;
  group?: string;
}

/** One kind of place server groups live: this machine, existing SSH hosts, an OpenStack cloud. */
export interface ServerGroupProvider {
  readonly name: 'local' | 'ssh' | 'openstack' | 'container';
  /** Hosts that reach nothing beyond their group: the pipeline fetches sources here and ships them. */
  readonly isolatedHosts?: boolean;
  /**
   * Long work before any resource exists, with its own progress (a container provider building its
   * base image); a failure here leaves nothing to clean up.
   */
  prepare?(definition: GroupDefinition, ctx: ProviderContext): Promise<void>;
  /** Creates the hosts and records every resource id in the store the moment it exists. */
  create(name: string, definition: GroupDefinition, ctx: ProviderContext): Promise<ServerGroup>;
  /** Waits (bounded, with backoff) until every host accepts commands. */
  waitReachable(group: ServerGroup, ctx: ProviderContext): Promise<void>;
  describe(group: ServerGroup, ctx: ProviderContext): Promise<ServerGroup>;
  /** Removes everything the group owns; safe to call on a half-created group. */
  delete(group: ServerGroup, ctx: ProviderContext): Promise<void>;
  /** Resources this tool created that still exist (for sweep). */
  listOwned(ctx: ProviderContext): Promise<OwnedResource[]>;
  connect(group: ServerGroup, host: Host, ctx: ProviderContext): Promise<HostConnection>;
  /**
   * Group setup after the hosts are reachable (hosts file, working directories). Providers without
   * it get the generic SSH setup: a managed /etc/hosts block (or $workdir/hosts) and ~/.smokestack/<group>/<host>.
   */
  setup?(group: ServerGroup, ctx: ProviderContext): Promise<ServerGroup>;
  /** Deletes one resource found by listOwned that no live group owns any more (for sweep). */
  deleteOwned?(resource: OwnedResource, ctx: ProviderContext): Promise<void>;
}
