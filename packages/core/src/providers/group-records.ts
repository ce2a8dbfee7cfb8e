import fs from 'node:fs';
import { InfraError, UserError, errorMessage, isUserError } from '../errors.js';
import type { ServerGroup } from '../model.js';
import { withPool } from './group-exec.js';
import { groupDir, updateStoredGroup } from './record.js';
import { PROVIDERS, providerFor } from './registry.js';
import type { ProviderContext, ServerGroupProvider } from './types.js';

/** The provider of a group definition or stored group, among the context's providers. */
export function providerOfGroup(name: string, ctx: ProviderContext): ServerGroupProvider {
  return providerFor(name, ctx.providers ?? PROVIDERS);
}

/** Removes the group's files beside the store (keys, pinned host keys). */
export function removeGroupFiles(ctx: ProviderContext, name: string): void {
  fs.rmSync(groupDir(ctx.store, name), { recursive: true, force: true });
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
  return providerOfGroup(group.provider, ctx).describe(group, ctx);
}

/**
 * Deletes everything the group owns and removes its record. A failure leaves the group
 * marked `failed` with the error, so `group delete` can be run again.
 */
export async function deleteGroup(name: string, ctx: ProviderContext): Promise<ServerGroup> {
  const group = await getGroup(name, ctx);
  if (group.state !== 'deleted') {
    const provider = providerOfGroup(group.provider, ctx);
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

/** A command on a group's hosts needs it ready. */
export function assertGroupReady(group: ServerGroup): void {
  if (group.state !== 'ready') {
    throw new UserError(`server group ${group.name} is ${group.state}, not ready${group.error ? `: ${group.error}` : ''}`);
  }
}

