import type { Job, TestConfig } from '../model.js';
import { requestBaseline } from '../queue/baseline.js';
import { jobKind } from '../queue/jobs.js';
import { revisionSetOf, type FlakyTest } from '../results/history.js';
import type { StateData } from '../store/schema.js';
import type { Store } from '../store/types.js';
import type { FaultEvidence, FaultSettings } from './fault.js';
import { jobsOfPatchSet, latestByKey } from './patchsets.js';

/**
 * The I/O around the fault rules: which jobs a report is about, their baselines (queued when a
 * failing job has none), the runs of their revision sets and the projects' flaky tests.
 */

/** The finished latest job of each template of each config's current patch set. */
export function reportedJobs(state: StateData, configs: readonly TestConfig[]): Job[] {
  return configs.flatMap((config) => [...latestByKey(jobsOfPatchSet(state, config.id, config.patchSet)).values()].filter((j) => j.finishedAt && jobKind(j) === 'queue'));
}

/**
 * Gives every failing job without one its baseline (the worker does so when the job finishes;
 * this covers jobs finished otherwise). Answers whether the state changed.
 */
export async function ensureBaselines(store: Store, jobs: readonly Job[], settings: FaultSettings, now: Date): Promise<boolean> {
  const missing = jobs.filter((j) => j.status === 'test_failed' && !j.comparedWith);
  if (missing.length === 0 || !settings.baseline.enabled) return false;
  const requests = await store.update((state) => missing.map((j) => requestBaseline(state, j.id, settings.baseline, settings.quarantine, now)));
  return requests.some((r) => r.kind !== 'none');
}

/** Reads what the fault rules need about these jobs from the store. */
export async function gatherFaultEvidence(store: Store, state: StateData, jobs: readonly Job[], settings: FaultSettings, now: Date): Promise<FaultEvidence> {
  const evidence: FaultEvidence = { baselines: new Map(), runs: new Map(), flaky: new Map() };
  for (const job of jobs) {
    if (job.comparedWith && !evidence.baselines.has(job.comparedWith)) {
      const baseline = state.jobs[job.comparedWith] ?? (await store.getJob(job.comparedWith));
      if (baseline) evidence.baselines.set(baseline.id, baseline);
    }
    if (job.status !== 'test_failed' && !job.comparedWith) continue;
    const set = revisionSetOf(job);
    if (!evidence.runs.has(set)) evidence.runs.set(set, await store.testRunsOf(set));
    if (job.status === 'test_failed' && !evidence.flaky.has(job.project)) {
      const since = new Date(now.getTime() - settings.flaky.windowDays * 86_400_000);
      const flaky = await store.flakyTests({ project: job.project, since });
      evidence.flaky.set(job.project, new Map(flaky.map((t: FlakyTest) => [t.id, t])));
    }
  }
  return evidence;
}

/** The evidence with each baseline job as the live state has it now (it may have finished meanwhile). */
export function withLiveBaselines(evidence: FaultEvidence, state: StateData): FaultEvidence {
  const baselines = new Map(evidence.baselines);
  for (const job of Object.values(state.jobs)) if (job.kind === 'baseline') baselines.set(job.id, job);
  return { ...evidence, baselines };
}
