import type { Job } from '../model.js';
import type { NewJob } from '../queue/jobs.js';
import type { StateData } from '../store/schema.js';
import { listConfigs } from './configs.js';
import type { BellowsContext } from './context.js';
import { indexJobs, jobsToQueue, queueJobs } from './patchsets.js';
import { findTarget, selectTargets, type ProjectTarget, type TemplatePolicy } from './settings.js';

/**
 * The jobs to queue for current patch sets that lack one per template (and infra retries that
 * are due), oldest change first; `limit` caps how many patch sets are fired. Pure.
 */
export function planFire(state: StateData, targets: ProjectTarget[], policies: Record<string, TemplatePolicy>, options: { limit?: number } = {}): NewJob[] {
  const out: NewJob[] = [];
  let fired = 0;
  const index = indexJobs(state);
  for (const config of listConfigs(state)) {
    if (options.limit !== undefined && fired >= options.limit) break;
    if (!findTarget(targets, config.project, config.branch)) continue;
    const needed = jobsToQueue(state, config, policies, { index });
    if (needed.length === 0) continue;
    out.push(...needed);
    fired++;
  }
  return out;
}

export interface FireOptions {
  projects?: string[];
  limit?: number;
  dryRun?: boolean;
}

export interface FireResult {
  queued: Job[];
  dryRun: boolean;
}

export async function fireJobs(ctx: BellowsContext, options: FireOptions = {}): Promise<FireResult> {
  const targets = selectTargets(ctx.settings, options.projects);
  const fire = (state: StateData): Job[] => {
    const now = ctx.now();
    return queueJobs(state, planFire(state, targets, ctx.settings.templates, { limit: options.limit }), now);
  };
  const queued = options.dryRun ? fire(structuredClone(await ctx.store.read())) : await ctx.store.update(fire);
  for (const job of queued) ctx.logger.info(`queued ${job.id}: ${job.project} ${job.number},${job.patchSet} ${job.template}${job.reason === 'retry' ? ` (attempt ${job.attempt})` : ''}`);
  return { queued, dryRun: Boolean(options.dryRun) };
}
