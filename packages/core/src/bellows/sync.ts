import pLimit from 'p-limit';
import { errorMessage, isUserError } from '../errors.js';
import { sleep } from '../net/retry.js';
import { accountLabel } from '../gerrit/map.js';
import type { Change, ChangeStatus, Job, TestConfig } from '../model.js';
import { keyOfJob, type NewJob } from '../queue/jobs.js';
import type { StateData, SyncMark } from '../store/schema.js';
import { noteActivity } from './activity.js';
import { malformedChange } from './check-change.js';
import { configIdFor } from './configs.js';
import { effectiveBranches } from './sources.js';
import type { BellowsContext } from './context.js';
import { outdatedDependency, resolveDependencies, rootsToResolve, type DependencyResolution, type RootToResolve, type WalkOptions } from './dependencies.js';
import { indexJobs, isActive, jobsOfConfig, jobsToQueue, queueJobs, voteKey, type JobIndex } from './patchsets.js';
import { findTarget, projectGitUrl, selectTargets, targetKey, type ProjectTarget, type TemplatePolicy } from './settings.js';

/** The test config a change should have; sources set by hand (`custom`) are kept over the change's and the project's. */
export function configFromChange(change: Change, target: ProjectTarget, now: Date, custom?: TestConfig['custom']): TestConfig {
  const ps = change.currentPatchSet;
  const config: TestConfig = {
    id: configIdFor(change.project, change.number),
    project: change.project,
    branch: change.branch,
    number: change.number,
    description: `${accountLabel(change.owner)}: ${change.subject}`,
    branches: effectiveBranches({ project: change.project, branch: change.branch, ref: ps.ref }, target, custom),
    templates: [...target.templates],
    patchSet: ps.number,
    revision: ps.revision,
    ref: ps.ref,
    changeStatus: change.status,
    wip: change.wip,
    subject: change.subject,
    owner: change.owner,
    updatedAt: now.toISOString(),
  };
  if (change.topic) config.topic = change.topic;
  if (custom && Object.keys(custom).length) config.custom = structuredClone(custom);
  return config;
}

/** JSON with object keys sorted, so equal data compares equal whatever the key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function sameConfig(a: TestConfig, b: TestConfig): boolean {
  return canonicalJson({ ...a, updatedAt: undefined, seenAt: undefined }) === canonicalJson({ ...b, updatedAt: undefined, seenAt: undefined });
}

/** How long a purged change is remembered: far longer than any sync can take between asking Gerrit and applying. */
export const PURGE_MEMORY_MS = 2 * 86_400_000;

/**
 * Of two facts about a change, Gerrit showing it closed (asked at `closedAt`) and showing it open
 * (asked at `openAt`), whether the closure is the newer one. Merged is final; an abandoned change can be restored. Pure.
 */
export function closureIsNewer(status: ChangeStatus, closedAt: string, openAt: string | undefined): boolean {
  return status === 'MERGED' || openAt === undefined || Date.parse(closedAt) >= Date.parse(openAt);
}

export interface SyncPlan {
  /** When Gerrit was asked for what this plan rests on. */
  observedAt: string;
  create: TestConfig[];
  update: TestConfig[];
  /** Configs seen open, unchanged or not: their seenAt moves to observedAt. */
  seen: string[];
  purge: Array<{ configId: string; status: ChangeStatus }>;
  /** Every change seen closed, with a config or not: remembered, so an older answer cannot bring it back. */
  closed: Array<{ configId: string; status: ChangeStatus }>;
  /** `key`: the job's template and combination (see jobKey), so the job that replaces it can be named. */
  supersede: Array<{ jobId: string; configId: string; key: string; patchSet: number; reason?: string }>;
  cancel: Array<{ jobId: string; reason: string }>;
  enqueue: NewJob[];
  ignored: Array<{ project: string; number: number; reason: string }>;
  /** Changes whose Gerrit data cannot be trusted (see malformedChange): skipped, each worth a warning. */
  rejected: Array<{ project: string; number: number; reason: string }>;
  /** Vote keys of Depends-On problems that cleared: what is tested now gets reported. */
  unreport: string[];
}

export interface SyncPlanOptions {
  targets: ProjectTarget[];
  policies: Record<string, TemplatePolicy>;
  /** Queue the jobs each open, ready patch set still needs. */
  fire?: boolean;
  /** When Gerrit was asked for these changes (default: now). */
  observedAt?: Date;
  /**
   * Resolved Depends-On chains by config id: of the changes given, and of stored configs that depend on
   * one of them (those are updated here too). A change with footers and no entry keeps what its config had.
   */
  dependencies?: ReadonlyMap<string, DependencyResolution>;
}

export function emptySyncPlan(observedAt: Date): SyncPlan {
  return { observedAt: observedAt.toISOString(), create: [], update: [], seen: [], purge: [], closed: [], supersede: [], cancel: [], enqueue: [], ignored: [], rejected: [], unreport: [] };
}

/** Of several copies of one change (paging overlap, repeated events), the newest. */
function newestPerChange(changes: Change[]): Change[] {
  const byId = new Map<string, Change>();
  for (const change of changes) {
    const id = configIdFor(change.project, change.number);
    const seen = byId.get(id);
    if (
      !seen ||
      change.currentPatchSet.number > seen.currentPatchSet.number ||
      (change.currentPatchSet.number === seen.currentPatchSet.number && (change.updated ?? '') > (seen.updated ?? ''))
    ) {
      byId.set(id, change);
    }
  }
  return [...byId.values()];
}

/**
 * Decides what the changes Gerrit reported mean for the store: configs to create or update,
 * jobs of older patch sets to supersede, jobs to queue, closed changes to purge. Pure.
 */
export function planSync(state: StateData, changes: Change[], options: SyncPlanOptions, now: Date): SyncPlan {
  const plan = emptySyncPlan(options.observedAt ?? now);
  const index = indexJobs(state);
  for (const change of newestPerChange(changes)) {
    const malformed = malformedChange(change);
    if (malformed) {
      plan.rejected.push({ project: change.project, number: change.number, reason: malformed });
      continue;
    }
    const target = findTarget(options.targets, change.project, change.branch);
    if (!target) {
      plan.ignored.push({ project: change.project, number: change.number, reason: `${change.project} ${change.branch} is not configured` });
      continue;
    }
    const id = configIdFor(change.project, change.number);
    const existing = state.configs[id];
    if (change.status !== 'NEW') {
      planClosed(state, plan, id, change.status, index);
      continue;
    }
    const purged = state.purged[id];
    if (purged && closureIsNewer(purged.status, purged.observedAt, plan.observedAt)) {
      plan.ignored.push({ project: change.project, number: change.number, reason: `seen ${purged.status.toLowerCase()} after this answer was asked for` });
      continue;
    }
    if (existing && existing.patchSet > change.currentPatchSet.number) {
      plan.ignored.push({ project: change.project, number: change.number, reason: `patch set ${change.currentPatchSet.number} is older than the stored ${existing.patchSet}` });
      continue;
    }
    let config: TestConfig = { ...configFromChange(change, target, now, existing?.custom), seenAt: plan.observedAt };
    withDependencies(config, change.dependsOn, options.dependencies?.get(id), existing);
    if (!existing) plan.create.push(config);
    else if (!sameConfig(existing, config)) plan.update.push(config);
    else config = existing;
    plan.seen.push(id);
    planJobsOfConfig(state, plan, existing, config, options, index);
  }
  planDependents(state, plan, changes, options, index, now);
  return plan;
}

/** Puts a change's Depends-On footers and their resolution on its config; unresolved footers keep what the config had. */
function withDependencies(config: TestConfig, dependsOn: string[] | undefined, resolution: DependencyResolution | undefined, existing: TestConfig | undefined): void {
  const footers = dependsOn ?? existing?.dependsOn;
  if (footers?.length) config.dependsOn = [...footers];
  const resolved = resolution ?? (footers?.length && existing ? { dependencies: existing.dependencies ?? [], problem: existing.dependencyProblem } : undefined);
  if (resolved?.dependencies.length) config.dependencies = resolved.dependencies;
  if (resolved?.problem) config.dependencyProblem = resolved.problem;
}

/**
 * What a config's (new) state means for its jobs: those of older patch sets are superseded, and so are
 * those that tested an older patch set of a change it depends on; a Depends-On problem or WIP cancels;
 * with --fire, what the patch set still needs is queued.
 */
function planJobsOfConfig(state: StateData, plan: SyncPlan, existing: TestConfig | undefined, config: TestConfig, options: SyncPlanOptions, index: JobIndex): void {
  const id = config.id;
  for (const job of jobsOfConfig(state, id, index)) {
    if (!isActive(job)) continue;
    const outdated = outdatedDependency(job, config);
    if (job.patchSet < config.patchSet) plan.supersede.push({ jobId: job.id, configId: id, key: keyOfJob(job), patchSet: config.patchSet });
    else if (config.dependencyProblem) plan.cancel.push({ jobId: job.id, reason: `cancelled: ${config.dependencyProblem}` });
    else if (outdated) {
      const reason = `superseded: Depends-On ${outdated.project} ${outdated.number} has patch set ${outdated.patchSet}`;
      plan.supersede.push({ jobId: job.id, configId: id, key: keyOfJob(job), patchSet: config.patchSet, reason });
    } else if (config.wip && job.status === 'queued') plan.cancel.push({ jobId: job.id, reason: 'cancelled: the change is work in progress' });
  }
  const cleared = existing?.dependencyProblem !== undefined && config.dependencyProblem === undefined;
  const key = voteKey(config.project, config.number, config.patchSet);
  if (cleared && state.votes[key]?.problem) plan.unreport.push(key);
  if (options.fire) {
    // A change back from WIP, from closed or from a Depends-On problem gets again what was cancelled then.
    const resumed = !existing || (existing.wip === true && !config.wip) || cleared;
    const superseding = new Set(plan.supersede.filter((x) => x.configId === id).map((x) => x.jobId));
    plan.enqueue.push(...jobsToQueue(state, config, options.policies, { resumed, index, superseding }));
  }
}

/** Stored configs that depend on one of the changes given: their resolution is renewed, their jobs follow. */
function planDependents(state: StateData, plan: SyncPlan, changes: Change[], options: SyncPlanOptions, index: JobIndex, now: Date): void {
  const given = new Set(changes.map((c) => configIdFor(c.project, c.number)));
  for (const [id, resolution] of options.dependencies ?? []) {
    const existing = state.configs[id];
    if (given.has(id) || !existing) continue;
    let config: TestConfig = { ...existing };
    delete config.dependencies;
    delete config.dependencyProblem;
    withDependencies(config, existing.dependsOn, resolution, existing);
    if (!sameConfig(existing, config)) plan.update.push({ ...config, updatedAt: now.toISOString() });
    else config = existing;
    planJobsOfConfig(state, plan, existing, config, options, index);
  }
}

/**
 * A change seen closed: remembered, and unless its config rests on a newer answer that showed it open,
 * the config is marked for removal and its queued/running jobs for cancellation.
 */
export function planClosed(state: StateData, plan: SyncPlan, configId: string, status: ChangeStatus, index?: JobIndex): void {
  const existing = state.configs[configId];
  if (existing && !closureIsNewer(status, plan.observedAt, existing.seenAt ?? existing.updatedAt)) return;
  plan.closed.push({ configId, status });
  if (!existing) return;
  plan.purge.push({ configId, status });
  for (const job of jobsOfConfig(state, configId, index)) {
    if (isActive(job)) plan.cancel.push({ jobId: job.id, reason: `cancelled: the change was ${status.toLowerCase()}` });
  }
}

export interface SyncOutcome {
  created: string[];
  updated: string[];
  superseded: string[];
  cancelled: string[];
  purged: string[];
  queued: Job[];
}

export function emptyOutcome(): SyncOutcome {
  return { created: [], updated: [], superseded: [], cancelled: [], purged: [], queued: [] };
}

/** Applies a plan to the state (inside a store update). */
export function applySyncPlan(state: StateData, plan: SyncPlan, now: Date): SyncOutcome {
  const out = emptyOutcome();
  const at = now.toISOString();
  for (const c of plan.create) {
    state.configs[c.id] = c;
    delete state.purged[c.id];
    out.created.push(c.id);
  }
  for (const c of plan.update) {
    state.configs[c.id] = c;
    out.updated.push(c.id);
  }
  for (const id of plan.seen) {
    const config = state.configs[id];
    if (config && !(config.seenAt && config.seenAt > plan.observedAt)) config.seenAt = plan.observedAt;
  }
  out.queued.push(...queueJobs(state, plan.enqueue, now));
  for (const key of plan.unreport) if (state.votes[key]?.problem) delete state.votes[key];
  for (const s of plan.supersede) {
    const job = state.jobs[s.jobId];
    if (!job || !isActive(job)) continue;
    const next = out.queued.find((q) => q.configId === s.configId && keyOfJob(q) === s.key);
    job.status = 'superseded';
    job.supersededBy = next?.id ?? `patch set ${s.patchSet}`;
    job.message = s.reason ?? `superseded by patch set ${s.patchSet}`;
    job.finishedAt = at;
    out.superseded.push(job.id);
  }
  for (const c of plan.cancel) {
    const job = state.jobs[c.jobId];
    if (!job || !isActive(job)) continue;
    job.status = 'cancelled';
    job.message = c.reason;
    job.finishedAt = at;
    out.cancelled.push(job.id);
  }
  for (const p of plan.purge) {
    if (!state.configs[p.configId]) continue;
    delete state.configs[p.configId];
    out.purged.push(p.configId);
  }
  for (const c of plan.closed) {
    const mark = state.purged[c.configId];
    if (!mark || mark.observedAt < plan.observedAt) state.purged[c.configId] = { status: c.status, observedAt: plan.observedAt };
  }
  forgetOldPurges(state, now);
  return out;
}

/** Drops purge marks older than PURGE_MEMORY_MS: no answer asked for that long ago is still being applied. */
function forgetOldPurges(state: StateData, now: Date): void {
  const cutoff = now.getTime() - PURGE_MEMORY_MS;
  for (const [id, mark] of Object.entries(state.purged)) if (Date.parse(mark.observedAt) < cutoff) delete state.purged[id];
}

export function mergeOutcome(into: SyncOutcome, from: SyncOutcome): SyncOutcome {
  into.created.push(...from.created);
  into.updated.push(...from.updated);
  into.superseded.push(...from.superseded);
  into.cancelled.push(...from.cancelled);
  into.purged.push(...from.purged);
  into.queued.push(...from.queued);
  return into;
}

export interface SyncOptions {
  projects?: string[];
  fire?: boolean;
  dryRun?: boolean;
  /** Sweep every open change even when an incremental sweep would do. */
  full?: boolean;
  /** Project branches swept at the same time. */
  concurrency?: number;
}

export interface SweepReport {
  project: string;
  branch: string;
  mode: 'full' | 'incremental';
  since?: string;
  changes: number;
}

export interface SyncResult extends SyncOutcome {
  sweeps: SweepReport[];
  /** Changes of Gerrit's answers skipped because their data cannot be trusted. */
  skipped: Array<{ project: string; branch: string; number: number; reason: string }>;
  errors: Array<{ project: string; branch: string; message: string }>;
  /** HTTP requests sent to Gerrit, retries included. */
  requests: number;
  dryRun: boolean;
}

interface FetchedSweep {
  target: ProjectTarget;
  sweepStart: Date;
  since?: Date;
  changes: Change[];
  /** Depends-On chains the sweep's changes moved, by config id. */
  dependencies: Map<string, DependencyResolution>;
}

/** Where Depends-On changes are fetched from and which URLs are ours. */
function walkOptions(ctx: BellowsContext): WalkOptions {
  const gerrit = ctx.settings.gerrit ?? { url: ctx.gerrit.baseUrl };
  return { gerritUrl: gerrit.url, gitUrl: (project) => ctx.settings.projects.find((p) => p.name === project)?.url ?? projectGitUrl(gerrit, project) };
}

/** Resolves (asking Gerrit) the Depends-On chains that these changes may have moved. */
export async function resolveFor(ctx: BellowsContext, state: StateData, changes: Change[], targets: ProjectTarget[]): Promise<Map<string, DependencyResolution>> {
  const roots = rootsToResolve(state, changes, targets, ctx.settings.projects);
  if (roots.length === 0) return new Map();
  const resolutions = await resolveDependencies(ctx.gerrit, roots.map((r) => r.root), { ...walkOptions(ctx), known: changes });
  return new Map(roots.map((r, i) => [r.configId, resolutions[i]!]));
}

/**
 * Sweeps Gerrit for each configured project branch (all open changes the first time, then only
 * changes updated since the last complete sweep minus the overlap) and applies the plans in one
 * store update, so a sync costs one read and one write of the store however many projects it has.
 */
export async function syncProjects(ctx: BellowsContext, options: SyncOptions = {}): Promise<SyncResult> {
  const targets = selectTargets(ctx.settings, options.projects);
  const startRequests = ctx.gerrit.requestCount;
  const result: SyncResult = { ...emptyOutcome(), sweeps: [], skipped: [], errors: [], requests: 0, dryRun: Boolean(options.dryRun) };
  const snapshot = options.dryRun ? structuredClone(await ctx.store.read()) : await ctx.store.read();
  const limit = pLimit(options.concurrency ?? 8);
  const fetched = await Promise.all(
    targets.map((target) =>
      limit(async (): Promise<FetchedSweep | undefined> => {
        try {
          return await fetchSweep(ctx, target, snapshot, options);
        } catch (err) {
          if (isUserError(err)) throw err;
          ctx.logger.warn(`sync ${target.name} ${target.branch}: ${errorMessage(err)}`);
          result.errors.push({ project: target.name, branch: target.branch, message: errorMessage(err) });
          return undefined;
        }
      }),
    ),
  );
  const sweeps = await resolveSweeps(ctx, snapshot, fetched.filter((f): f is FetchedSweep => f !== undefined), result);
  const applyAll = (state: StateData): AppliedSweep[] => sweeps.map((sweep) => applySweep(ctx, state, sweep, options));
  // The run is noted in the same update that applies it (a separate one only when every sweep failed).
  const noted = (state: StateData): AppliedSweep[] => {
    const applied = applyAll(state);
    noteActivity(state, 'sync', syncActivity(sweeps, applied, result.errors), ctx.now());
    return applied;
  };
  const applied = options.dryRun ? applyAll(snapshot) : await ctx.store.update(noted);
  for (const [i, sweep] of sweeps.entries()) {
    const { outcome, rejected } = applied[i]!;
    const { target, since, changes } = sweep;
    mergeOutcome(result, outcome);
    for (const r of rejected) {
      ctx.logger.warn(`sync ${target.name} ${target.branch}: change ${r.number} skipped: ${r.reason}`);
      result.skipped.push({ ...r, branch: target.branch });
    }
    result.sweeps.push({ project: target.name, branch: target.branch, mode: since ? 'incremental' : 'full', since: since?.toISOString(), changes: changes.length });
    ctx.logger.info(
      `${target.name} ${target.branch}: ${changes.length} change(s) ${since ? 'updated since the last sweep' : 'open'}; ` +
        `${outcome.created.length} created, ${outcome.updated.length} updated, ${outcome.purged.length} purged, ${outcome.superseded.length} superseded, ${outcome.queued.length} queued`,
    );
  }
  result.requests = ctx.gerrit.requestCount - startRequests;
  return result;
}

/** One line on the status page: what the sweeps did, or which failed. */
function syncActivity(sweeps: FetchedSweep[], applied: AppliedSweep[], errors: SyncResult['errors']): { ok: boolean; summary: string } {
  const total = emptyOutcome();
  for (const a of applied) mergeOutcome(total, a.outcome);
  const did = `${sweeps.length} project branch(es) swept: ${total.created.length} created, ${total.updated.length} updated, ${total.purged.length} purged, ${total.superseded.length} superseded, ${total.queued.length} job(s) queued`;
  if (errors.length === 0) return { ok: true, summary: did };
  return { ok: false, summary: `${errors.map((e) => `${e.project} ${e.branch}: ${e.message}`).join('; ')}${sweeps.length ? ` (${did})` : ''}` };
}

async function fetchSweep(ctx: BellowsContext, target: ProjectTarget, snapshot: StateData, options: SyncOptions): Promise<FetchedSweep> {
  const sweepStart = ctx.now();
  const mark: SyncMark | undefined = snapshot.sync[targetKey(target)];
  const lastSweep = mark?.lastSweepAt ? new Date(mark.lastSweepAt) : undefined;
  const incremental = !options.full && lastSweep !== undefined && !Number.isNaN(lastSweep.getTime());
  const since = incremental ? new Date(lastSweep!.getTime() - ctx.settings.overlapSeconds * 1000) : undefined;
  const changes = since
    ? await ctx.gerrit.fetchChangesUpdatedSince(target.name, target.branch, since)
    : await ctx.gerrit.fetchOpenChanges(target.name, target.branch);
  return { target, sweepStart, since, changes, dependencies: new Map() };
}

/**
 * Resolves the Depends-On chains the sweeps moved, all at once (every sweep's changes known, each question
 * asked once), before the store update like the changes themselves: if Gerrit fails, the sweeps that needed
 * an answer fail and the next sync repeats them.
 */
async function resolveSweeps(ctx: BellowsContext, snapshot: StateData, sweeps: FetchedSweep[], result: SyncResult): Promise<FetchedSweep[]> {
  const owner = new Map<string, { sweep: FetchedSweep; root: RootToResolve['root'] }>();
  for (const sweep of sweeps) {
    for (const r of rootsToResolve(snapshot, sweep.changes, [sweep.target], ctx.settings.projects)) if (!owner.has(r.configId)) owner.set(r.configId, { sweep, root: r.root });
  }
  if (owner.size === 0) return sweeps;
  try {
    const known = sweeps.flatMap((s) => s.changes);
    const resolutions = await resolveDependencies(ctx.gerrit, [...owner.values()].map((o) => o.root), { ...walkOptions(ctx), known });
    [...owner].forEach(([configId, { sweep }], i) => sweep.dependencies.set(configId, resolutions[i]!));
    return sweeps;
  } catch (err) {
    if (isUserError(err)) throw err;
    const failed = new Set([...owner.values()].map((o) => o.sweep));
    for (const { target } of failed) {
      ctx.logger.warn(`sync ${target.name} ${target.branch}: Depends-On: ${errorMessage(err)}`);
      result.errors.push({ project: target.name, branch: target.branch, message: `Depends-On: ${errorMessage(err)}` });
    }
    return sweeps.filter((s) => !failed.has(s));
  }
}

interface AppliedSweep {
  outcome: SyncOutcome;
  rejected: SyncPlan['rejected'];
}

function applySweep(ctx: BellowsContext, state: StateData, sweep: FetchedSweep, options: SyncOptions): AppliedSweep {
  const now = ctx.now();
  const plan = planSync(
    state,
    sweep.changes,
    { targets: [sweep.target], policies: ctx.settings.templates, fire: options.fire, observedAt: sweep.sweepStart, dependencies: sweep.dependencies },
    now,
  );
  const outcome = applySyncPlan(state, plan, now);
  state.sync[targetKey(sweep.target)] = { lastSweepAt: sweep.sweepStart.toISOString(), lastSweepChanges: sweep.changes.length };
  return { outcome, rejected: plan.rejected };
}

/** Re-reads one change from Gerrit and applies it (for stream events); undefined when Gerrit does not know it. */
export async function syncChange(
  ctx: BellowsContext,
  project: string,
  number: number,
  options: { fire?: boolean; minPatchSet?: number; lagRetries?: number; lagRetryMs?: number } = {},
): Promise<SyncOutcome | undefined> {
  for (let attempt = 0; ; attempt++) {
    const observedAt = ctx.now();
    const change = await ctx.gerrit.getChange({ project, number });
    if (!change) return undefined;
    // The event announced a patch set Gerrit's REST view does not show yet: give it a moment.
    if (options.minPatchSet !== undefined && change.status === 'NEW' && change.currentPatchSet.number < options.minPatchSet && attempt < (options.lagRetries ?? 3)) {
      await sleep(options.lagRetryMs ?? 2000);
      continue;
    }
    const dependencies = await resolveFor(ctx, await ctx.store.read(), [change], ctx.settings.projects);
    const { outcome, rejected } = await ctx.store.update((state) => {
      const now = ctx.now();
      const plan = planSync(state, [change], { targets: ctx.settings.projects, policies: ctx.settings.templates, fire: options.fire, observedAt, dependencies }, now);
      return { outcome: applySyncPlan(state, plan, now), rejected: plan.rejected };
    });
    for (const r of rejected) ctx.logger.warn(`sync: change ${r.number} skipped: ${r.reason}`);
    return outcome;
  }
}
