import { errorMessage } from '../errors.js';
import type { ServerGroup } from '../model.js';
import { deleteGroup, listGroups, providerOfGroup } from './group-records.js';
import { PROVIDERS } from './registry.js';
import type { OwnedResource, ProviderContext } from './types.js';

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
      for (const r of await providerOfGroup(name, ctx).listOwned(ctx)) owned.push({ ...r, provider: name });
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
    const provider = providerOfGroup(resource.provider, ctx);
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

