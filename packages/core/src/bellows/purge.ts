import { buildQuery } from '../gerrit/query.js';
import type { Change, ChangeStatus } from '../model.js';
import type { StateData } from '../store/schema.js';
import { configIdFor, listConfigs } from './configs.js';
import type { BellowsContext } from './context.js';
import { selectTargets } from './settings.js';
import { applySyncPlan, emptySyncPlan, planClosed, type SyncPlan } from './sync.js';
import { indexJobs } from './patchsets.js';

/**
 * Configs of closed changes to remove, and their queued/running jobs to cancel, unless a config rests on
 * an answer newer than `observedAt` (when Gerrit was asked) that showed the change open. Pure.
 */
export function planPurge(state: StateData, closed: Array<Pick<Change, 'project' | 'number' | 'status'>>, observedAt: Date): SyncPlan {
  const plan = emptySyncPlan(observedAt);
  const index = indexJobs(state);
  for (const change of closed) {
    if (change.status === 'NEW') continue;
    planClosed(state, plan, configIdFor(change.project, change.number), change.status, index);
  }
  return plan;
}

export interface PurgeOptions {
  projects?: string[];
  dryRun?: boolean;
  /** Change numbers asked about per Gerrit query. */
  batchSize?: number;
}

export interface PurgeResult {
  purged: Array<{ configId: string; status: ChangeStatus }>;
  cancelled: string[];
  requests: number;
  dryRun: boolean;
}

/** Asks Gerrit which stored changes are merged or abandoned, removes their configs and cancels their jobs. */
export async function purgeChanges(ctx: BellowsContext, options: PurgeOptions = {}): Promise<PurgeResult> {
  const targets = selectTargets(ctx.settings, options.projects);
  const startRequests = ctx.gerrit.requestCount;
  const configs = listConfigs(await ctx.store.read(), { project: targets.map((t) => t.name) });
  const observedAt = ctx.now();
  const closed: Change[] = [];
  const batch = options.batchSize ?? 50;
  for (let i = 0; i < configs.length; i += batch) {
    const numbers = configs.slice(i, i + batch).map((c) => c.number);
    const found = await ctx.gerrit.queryChanges(buildQuery({ status: 'closed', numbers }), { options: ['DETAILED_ACCOUNTS'] });
    closed.push(...found.filter((c) => c.status !== 'NEW'));
  }
  const apply = (state: StateData): PurgeResult => {
    const plan = planPurge(state, [...closed].sort((a, b) => a.number - b.number), observedAt);
    const outcome = applySyncPlan(state, plan, ctx.now());
    return { purged: plan.purge.filter((p) => outcome.purged.includes(p.configId)), cancelled: outcome.cancelled, requests: 0, dryRun: Boolean(options.dryRun) };
  };
  const result = options.dryRun ? apply(structuredClone(await ctx.store.read())) : await ctx.store.update(apply);
  result.requests = ctx.gerrit.requestCount - startRequests;
  for (const p of result.purged) ctx.logger.info(`purged ${p.configId} (${p.status.toLowerCase()})`);
  return result;
}
