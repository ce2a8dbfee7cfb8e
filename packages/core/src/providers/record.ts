import path from 'node:path';
import { InfraError } from '../errors.js';
import type { ServerGroup } from '../model.js';
import type { Store } from '../store/types.js';

/** Directory beside the store holding per-group files (known_hosts, hosts file, local host dirs). */
export function groupsDir(store: Store): string {
  return path.join(store.dataDir, 'groups');
}

export function groupDir(store: Store, group: string): string {
  return path.join(groupsDir(store), group);
}

/** The group-specific known_hosts file, written at create time or on first pinned contact. */
export function groupKnownHostsFile(store: Store, group: string): string {
  return path.join(groupDir(store, group), 'known_hosts');
}

/** Applies `fn` to the stored group under the store lock and returns the updated copy. */
export async function updateStoredGroup(store: Store, name: string, fn: (group: ServerGroup) => void): Promise<ServerGroup> {
  return store.update((state) => {
    const group = state.groups[name];
    if (!group) throw new InfraError(`server group "${name}" is not in the store ${store.location}`);
    fn(group);
    return structuredClone(group);
  });
}

/** Appends a provider resource to the group the moment it exists, so a crash never leaks it. */
export async function recordGroupResource(
  store: Store,
  name: string,
  resource: { kind: string; id: string; name?: string },
  now: Date,
): Promise<void> {
  await updateStoredGroup(store, name, (group) => {
    group.resources ??= [];
    if (!group.resources.some((r) => r.kind === resource.kind && r.id === resource.id)) {
      group.resources.push({ ...resource, createdAt: now.toISOString() });
    }
  });
}

/** Removes a resource from the group's record once the provider has deleted it. */
export async function forgetGroupResource(store: Store, name: string, resource: { kind: string; id: string }): Promise<void> {
  await store.update((state) => {
    const group = state.groups[name];
    if (group?.resources) group.resources = group.resources.filter((r) => !(r.kind === resource.kind && r.id === resource.id));
  });
}
