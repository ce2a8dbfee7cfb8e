import type { Job, JobKind } from '../model.js';
import { jobKey, jobKind } from '../queue/jobs.js';
import type { TestCaseResult } from './types.js';

/**
 * Per-test history: what every finished job reported for each of its tests, kept by the store so
 * a test that both passed and failed on the same code can be called flaky. All pure.
 */

/** One finished job's per-test outcomes. A test run more than once in the job (a rerun) appears once per outcome. */
export interface TestRun {
  jobId: string;
  project: string;
  template: string;
  kind: JobKind;
  /** The code under test (see revisionSetOf): runs with the same revision set tested the same code. */
  revisionSet: string;
  finishedAt: string;
  passed: string[];
  /** Failed or errored. */
  failed: string[];
  skipped: string[];
}

/** A test known to be flaky in a project: counts over the revision sets on which it both passed and failed. */
export interface FlakyTest {
  project: string;
  id: string;
  templates: string[];
  failed: number;
  runs: number;
  revisionSets: number;
  /** When it was last seen both passing and failing on one revision set. */
  lastSeen: string;
}

/** How one test did on one revision set. */
export interface TestCounts {
  failed: number;
  runs: number;
}

/**
 * The revision set of a job: its template (and combination of the template's axes) and the revision of every source it built or fetched
 * (a source merged onto its branch with the branch's revision too). A recheck, a retry or a second
 * baseline of the same revision has the same set; a new patch set or a moved branch does not.
 */
export function revisionSetOf(job: Pick<Job, 'template' | 'configuration' | 'revision' | 'sources'>): string {
  const parts = (job.sources ?? []).map((s) => `${s.kind}:${s.name}@${s.revision ?? '?'}${s.mergeTargetRevision ? `+${s.mergeTargetRevision}` : ''}`).sort();
  if (parts.length === 0) parts.push(`revision@${job.revision || '?'}`);
  return `${jobKey(job.template, job.configuration)} ${parts.join(' ')}`;
}

/** A finished job's test run, from the cases its suites reported. */
export function testRunOf(job: Job, cases: readonly TestCaseResult[]): TestRun {
  const run: TestRun = {
    jobId: job.id,
    project: job.project,
    template: job.template,
    kind: jobKind(job),
    revisionSet: revisionSetOf(job),
    finishedAt: job.finishedAt ?? job.createdAt,
    passed: [],
    failed: [],
    skipped: [],
  };
  for (const c of cases) {
    if (c.outcome === 'passed') run.passed.push(c.id);
    else if (c.outcome === 'skipped') run.skipped.push(c.id);
    else if (c.outcome === 'flaky') run.failed.push(c.id), run.passed.push(c.id); // failed, then passed on the runner's own rerun
    else run.failed.push(c.id);
  }
  return run;
}

/** How one test did over some runs: every pass or failure is one run of the test. */
export function countsOf(runs: readonly TestRun[], id: string): TestCounts {
  let failed = 0;
  let runsOfTest = 0;
  for (const run of runs) {
    const f = run.failed.filter((t) => t === id).length;
    failed += f;
    runsOfTest += f + run.passed.filter((t) => t === id).length;
  }
  return { failed, runs: runsOfTest };
}

/** The tests that both passed and failed among runs of one revision set, with their counts. */
export function flakyAmong(runs: readonly TestRun[]): Map<string, TestCounts> {
  const passed = new Set(runs.flatMap((r) => r.passed));
  const both = new Set(runs.flatMap((r) => r.failed).filter((id) => passed.has(id)));
  return new Map([...both].sort().map((id) => [id, countsOf(runs, id)]));
}

/** A project's flaky tests as the store keeps them: per test, per revision set on which it was flaky. */
export interface FlakyRegistry {
  project: string;
  tests: Record<string, Record<string, { template: string; failed: number; runs: number; lastSeen: string }>>;
}

/** Revision sets remembered per flaky test (the most recent); enough for counts, bounded whatever the history. */
export const FLAKY_SETS_KEPT = 50;

/**
 * The registry after a run on a revision set: each test flaky among that set's runs gets the set's
 * counts (recomputed from all of them, so a lost update heals on the next run). Answers whether anything changed.
 */
export function noteFlakyRuns(registry: FlakyRegistry, run: TestRun, runsOfSet: readonly TestRun[]): boolean {
  let changed = false;
  for (const [id, counts] of flakyAmong(runsOfSet)) {
    const sets = (registry.tests[id] ??= {});
    const before = sets[run.revisionSet];
    if (before && before.failed === counts.failed && before.runs === counts.runs) continue;
    sets[run.revisionSet] = { template: run.template, ...counts, lastSeen: run.finishedAt };
    const kept = Object.entries(sets).sort(([, a], [, b]) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0));
    registry.tests[id] = Object.fromEntries(kept.slice(0, FLAKY_SETS_KEPT));
    changed = true;
  }
  return changed;
}

/** A registry's flaky tests seen since `since`, most recently seen first. */
export function listFlaky(registry: FlakyRegistry, since: Date): FlakyTest[] {
  const cutoff = since.toISOString();
  const out: FlakyTest[] = [];
  for (const [id, sets] of Object.entries(registry.tests)) {
    const recent = Object.values(sets).filter((s) => s.lastSeen >= cutoff);
    if (recent.length === 0) continue;
    out.push({
      project: registry.project,
      id,
      templates: [...new Set(recent.map((s) => s.template))].sort(),
      failed: recent.reduce((n, s) => n + s.failed, 0),
      runs: recent.reduce((n, s) => n + s.runs, 0),
      revisionSets: recent.length,
      lastSeen: recent.map((s) => s.lastSeen).sort().pop()!,
    });
  }
  return out.sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : a.id < b.id ? -1 : 1));
}

/** Drops revision sets last seen before the cutoff (prune); answers whether anything changed. */
export function forgetFlakyBefore(registry: FlakyRegistry, cutoff: Date): boolean {
  const at = cutoff.toISOString();
  let changed = false;
  for (const [id, sets] of Object.entries(registry.tests)) {
    for (const [set, s] of Object.entries(sets)) {
      if (s.lastSeen >= at) continue;
      delete sets[set];
      changed = true;
    }
    if (Object.keys(sets).length === 0) delete registry.tests[id];
  }
  return changed;
}
