import fs from 'node:fs';
import type { Job } from '../model.js';
import type { StateData } from '../store/schema.js';
import type { Store } from '../store/types.js';
import { isFinished } from './jobs.js';

export interface PrunePlan {
  /** Finished jobs old enough to go, oldest first. */
  remove: string[];
  /** Old jobs kept because they are the results of a change's current patch set. */
  keptCurrent: number;
}

/** When a job stopped mattering: when it finished (or, if it never ran, when it was created). */
export function endOf(job: Job): number {
  return Date.parse(job.finishedAt ?? job.createdAt);
}

/**
 * Which jobs to drop from the store: finished, ended before `now - olderThanMs`, and not a result of
 * an open change's current patch set (those still feed `bellows comment` and the report). Pure.
 */
export function planPrune(state: StateData, olderThanMs: number, now: Date): PrunePlan {
  const cutoff = now.getTime() - olderThanMs;
  const plan: PrunePlan = { remove: [], keptCurrent: 0 };
  const old = Object.values(state.jobs)
    .filter((job) => isFinished(job.status) && endOf(job) < cutoff)
    .sort((a, b) => endOf(a) - endOf(b));
  for (const job of old) {
    const config = state.configs[job.configId];
    if (config && config.patchSet === job.patchSet) plan.keptCurrent++;
    else plan.remove.push(job.id);
  }
  return plan;
}

export interface PruneResult extends PrunePlan {
  dryRun: boolean;
  /** Log directories removed (or that would be). */
  logDirs: string[];
}

/**
 * Removes old finished jobs from the store, then their log directories. The store goes first: a
 * crash in between leaves only orphaned directories, never a job pointing at missing logs.
 */
export async function pruneJobs(store: Store, options: { olderThanMs: number; now: Date; dryRun?: boolean }): Promise<PruneResult> {
  const apply = (state: StateData): PrunePlan => {
    const plan = planPrune(state, options.olderThanMs, options.now);
    if (!options.dryRun) for (const id of plan.remove) delete state.jobs[id];
    return plan;
  };
  const plan = options.dryRun ? apply(await store.read()) : await store.update(apply);
  const cutoff = new Date(options.now.getTime() - options.olderThanMs);
  plan.remove.push(...(await store.pruneHistory(cutoff, { dryRun: Boolean(options.dryRun) })));
  const logDirs = plan.remove.map((id) => store.jobDir(id)).filter((dir) => fs.existsSync(dir));
  if (!options.dryRun) for (const dir of logDirs) fs.rmSync(dir, { recursive: true, force: true });
  return { ...plan, dryRun: Boolean(options.dryRun), logDirs };
}
