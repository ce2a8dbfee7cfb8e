import type { QuarantineEntry } from '../config/schema.js';
import type { BaselineSpec, BranchSource, Job } from '../model.js';
import { quarantineEntryFor } from '../results/patterns.js';
import type { StateData } from '../store/schema.js';
import { enqueueJob, isActive, jobKey, jobKind } from './jobs.js';

/**
 * Baselines: a run of a change job's template on its target branch, at the revision the change was
 * tested against, so the change's failures can be compared with the branch's own. Pure decisions.
 */

/** The config id baseline jobs carry: they belong to no change, so sync, fire and comment never touch them. */
export const BASELINE_CONFIG_ID = 'baseline';

export interface BaselineSettings {
  enabled: boolean;
  /** A baseline younger than this is reused for the same key. */
  maxAgeHours: number;
}

/** Baselines that can stand in for each other: same template and combination of its axes, same projects at the same branch revisions ("tip" when unknown). */
export function baselineKey(spec: Pick<BaselineSpec, 'template' | 'configuration' | 'projects'>): string {
  const projects = Object.entries(spec.projects)
    .map(([name, p]) => `${name}@${p.branch}@${p.revision ?? 'tip'}`)
    .sort();
  return `${jobKey(spec.template, spec.configuration)} ${projects.join(' ')}`;
}

const branchName = (ref: string): string => ref.replace(/^refs\/heads\//, '');

/**
 * What a baseline of this job runs: each project the job changed, at the revision of its target
 * branch the change was merged onto (recorded by the build), or — when the change was not merged
 * onto its branch (a Puppet module, a build without mergeTarget) — the tip of `branch` when the
 * baseline runs. Undefined when the job changed no source.
 */
export function baselineSpecFor(job: Job, branch: string): Omit<BaselineSpec, 'requestedBy'> | undefined {
  const projects: BaselineSpec['projects'] = {};
  for (const s of job.sources ?? []) {
    if (!s.changed || s.localPath) continue;
    const target = branchName(s.mergeTarget || branch);
    const known = projects[s.project];
    if (known?.revision) continue;
    projects[s.project] = { url: s.url, branch: target, ...(s.mergeTarget && s.mergeTargetRevision ? { revision: s.mergeTargetRevision } : {}) };
  }
  const names = Object.keys(projects);
  if (names.length === 0) return undefined;
  const spec = {
    template: job.template,
    ...(job.configuration && Object.keys(job.configuration).length ? { configuration: { ...job.configuration } } : {}),
    ...(job.pool ? { pool: job.pool } : {}),
    branch: projects[job.project]?.branch ?? projects[names[0]!]!.branch,
    projects,
  };
  return { key: baselineKey(spec), ...spec };
}

/** The sources a baseline job runs with: each project's target branch at the revision, never merged again. */
export function baselineBranches(spec: BaselineSpec): Record<string, BranchSource> {
  return Object.fromEntries(Object.entries(spec.projects).map(([name, p]) => [name, { url: p.url, ref: p.revision ?? p.branch, mergeTarget: '' }]));
}

/** The failures of a job that a baseline can explain: failed tests not quarantined on its template. */
export function failuresToCompare(job: Job, quarantine: readonly QuarantineEntry[]): string[] {
  return (job.failedTests ?? []).filter((id) => !quarantineEntryFor(quarantine, job.template, id));
}

export type BaselineRequest =
  | { kind: 'none'; reason: string }
  | { kind: 'reused'; baselineId: string }
  | { kind: 'queued'; baseline: Job };

/** Whether an indexed baseline can stand in for one this job would queue. */
function reusable(state: StateData, entry: { jobId: string; createdAt: string }, spec: Omit<BaselineSpec, 'requestedBy'>, job: Job, now: Date, settings: BaselineSettings): boolean {
  if (now.getTime() - Date.parse(entry.createdAt) > settings.maxAgeHours * 3_600_000) return false;
  // A branch tip is only the change's base if the baseline saw the branch no earlier than the change's run did.
  const pinned = Object.values(spec.projects).every((p) => p.revision);
  if (!pinned && entry.createdAt < (job.startedAt ?? job.createdAt)) return false;
  const baseline = state.jobs[entry.jobId];
  if (!baseline) return true;
  return isActive(baseline) || !['cancelled', 'superseded', 'infra_failed'].includes(baseline.status);
}

/**
 * Pure: gives a change job with test failures its baseline — a recent one of the same key, else a
 * new baseline job (queued; workers take baselines first, since a review waits on them). A job that
 * passed is only linked to a recent baseline of its key that has finished (so a failure of the branch
 * it fixes is called out), never queues one and never waits. Records the link on the job
 * (`comparedWith`), and forgets index entries too old to be reused.
 */
export function requestBaseline(state: StateData, jobId: string, settings: BaselineSettings, quarantine: readonly QuarantineEntry[], now: Date): BaselineRequest {
  const job = state.jobs[jobId];
  if (!settings.enabled) return { kind: 'none', reason: 'baselines are disabled' };
  if (!job || jobKind(job) !== 'queue') return { kind: 'none', reason: 'not a change job' };
  if (job.comparedWith) return { kind: 'reused', baselineId: job.comparedWith };
  const failing = job.status === 'test_failed';
  if (!failing && !PASSED.includes(job.status)) return { kind: 'none', reason: `a job that ended ${job.status} has no test results to compare` };
  if (failing && failuresToCompare(job, quarantine).length === 0) return { kind: 'none', reason: 'every failure is quarantined' };
  const spec = baselineSpecFor(job, state.configs[job.configId]?.branch ?? 'master');
  if (!spec) return { kind: 'none', reason: 'the job changed no source' };
  for (const [key, entry] of Object.entries(state.baselines)) {
    if (now.getTime() - Date.parse(entry.createdAt) > settings.maxAgeHours * 3_600_000) delete state.baselines[key];
  }
  const entry = state.baselines[spec.key];
  if (entry && reusable(state, entry, spec, job, now, settings) && (failing || hasTestResults(state.jobs[entry.jobId]))) {
    job.comparedWith = entry.jobId;
    return { kind: 'reused', baselineId: entry.jobId };
  }
  if (!failing) return { kind: 'none', reason: 'no finished baseline of its revision to compare a passing job with' };
  const baseline = queueBaseline(state, { ...spec, requestedBy: job.id }, job.project, now);
  job.comparedWith = baseline.id;
  return { kind: 'queued', baseline: structuredClone(baseline) };
}

/** Statuses of a job whose tests ran without failing. */
const PASSED: readonly string[] = ['success', 'incomplete'];

/** Whether a baseline has finished with test results to compare with. */
function hasTestResults(baseline: Job | undefined): boolean {
  return baseline !== undefined && (baseline.status === 'test_failed' || PASSED.includes(baseline.status));
}

/** Pure: a queued baseline job for a spec (listed under `project`; in the spec's pool and combination), indexed under its key. */
export function queueBaseline(state: StateData, spec: BaselineSpec, project: string, now: Date, attempt = 1): Job {
  const revision = spec.projects[project]?.revision ?? '';
  const fields = {
    configId: BASELINE_CONFIG_ID,
    project,
    number: 0,
    patchSet: 0,
    revision,
    template: spec.template,
    ...(spec.pool ? { pool: spec.pool } : {}),
    ...(spec.configuration ? { configuration: spec.configuration } : {}),
    reason: 'new' as const,
    attempt,
  };
  const baseline = enqueueJob(state, fields, now);
  baseline.kind = 'baseline';
  baseline.baseline = structuredClone(spec);
  state.baselines[spec.key] = { jobId: baseline.id, createdAt: baseline.createdAt };
  return baseline;
}
