import type { FailureVerdict, TestVerdictNote } from '../web/job-page.js';
import type { BaselinePolicy, FlakyPolicy, QuarantineEntry } from '../config/schema.js';
import type { Job, RequiredSkip } from '../model.js';
import { baselineSpecFor } from '../queue/baseline.js';
import { isActive } from '../queue/jobs.js';
import { countsOf, revisionSetOf, type FlakyTest, type TestCounts, type TestRun } from '../results/history.js';
import { quarantineEntryFor } from '../results/patterns.js';

/**
 * Whose fault a job's result is, test by test: a new failure (the change's), a failure the target
 * branch has too (pre-existing), a known-flaky or quarantined test, a baseline failure the change
 * fixes, or a required test that did not run. Pure: the store is read before (gatherFaultEvidence).
 */

export interface FaultSettings {
  quarantine: QuarantineEntry[];
  flaky: FlakyPolicy;
  baseline: BaselinePolicy;
}

export const DEFAULT_FAULT_SETTINGS: FaultSettings = {
  quarantine: [],
  flaky: { failuresVote: false, windowDays: 30 },
  baseline: { enabled: true, waitMinutes: 60, maxAgeHours: 24, uncomparedFailuresVote: false },
};

/** What the store told about a patch set's jobs, read before the decision. */
export interface FaultEvidence {
  /** Baseline jobs by id (live or from history). */
  baselines: Map<string, Job>;
  /** The kept runs of each revision set asked about. */
  runs: Map<string, TestRun[]>;
  /** Known-flaky tests per project, within the flaky window. */
  flaky: Map<string, Map<string, FlakyTest>>;
}

export function emptyEvidence(): FaultEvidence {
  return { baselines: new Map(), runs: new Map(), flaky: new Map() };
}

/** The baseline a job was compared with: its branch and the revision the baseline ran. */
export interface BaselineRef {
  jobId: string;
  branch: string;
  revision: string;
}

export type TestVerdict =
  | { id: string; kind: 'new'; baseline?: BaselineRef }
  /** A failure that could have been the branch's own, but no baseline answered (see Comparison 'without'). */
  | { id: string; kind: 'uncompared' }
  | { id: string; kind: 'pre-existing'; baseline: BaselineRef }
  | { id: string; kind: 'fixed'; baseline: BaselineRef }
  | { id: string; kind: 'flaky'; counts: TestCounts; known?: FlakyTest }
  | { id: string; kind: 'quarantined'; entry: QuarantineEntry }
  | { id: string; kind: 'required-skipped'; skip: RequiredSkip };

export type Comparison =
  | { state: 'none' }
  | { state: 'compared'; baseline: BaselineRef }
  /** The report waits for the baseline. */
  | { state: 'waiting'; reason: string }
  /** Reported without the comparison, saying why; `unanswered`: a baseline was due but gave no answer. */
  | { state: 'without'; reason: string; unanswered?: true };

export interface JobFault {
  jobId: string;
  comparison: Comparison;
  tests: TestVerdict[];
  /** The job's own say: -1 for a build failure or a new test failure, null for infra, a required test not run or a failure not compared. */
  vote: 1 | -1 | null;
}

/** Where a finished baseline stands: usable for a comparison, or why not. */
function baselineOutcome(job: Job, baseline: Job | undefined, settings: FaultSettings, now: Date): Comparison {
  if (!settings.baseline.enabled) return { state: 'none' };
  if (!job.comparedWith) {
    if (!baselineSpecFor(job, 'the target branch')) return { state: 'without', reason: 'the job changed no source to compare with its branch' };
    return { state: 'waiting', reason: 'no baseline queued yet' };
  }
  if (!baseline) return { state: 'without', reason: `baseline ${job.comparedWith} is no longer in the store`, unanswered: true };
  const branch = baseline.baseline?.branch ?? 'the target branch';
  if (isActive(baseline)) {
    const waitedMs = now.getTime() - Date.parse(job.finishedAt ?? job.createdAt);
    if (waitedMs <= settings.baseline.waitMinutes * 60_000) return { state: 'waiting', reason: `baseline ${baseline.id} on ${branch} is ${baseline.status}` };
    return { state: 'without', reason: `baseline ${baseline.id} on ${branch} did not finish within ${settings.baseline.waitMinutes} minutes`, unanswered: true };
  }
  if (!['success', 'test_failed', 'incomplete'].includes(baseline.status)) {
    return { state: 'without', reason: `baseline ${baseline.id} on ${branch} ended ${baseline.status}`, unanswered: true };
  }
  return { state: 'compared', baseline: baselineRef(baseline) };
}

/** The revision a baseline ran: its own project's source as the build resolved it. */
export function baselineRef(baseline: Job): BaselineRef {
  const source = baseline.sources?.find((s) => s.changed && s.project === baseline.project) ?? baseline.sources?.find((s) => s.changed);
  return { jobId: baseline.id, branch: baseline.baseline?.branch ?? 'the target branch', revision: source?.revision ?? baseline.revision };
}

/** Whether a failing test counts as flaky here: it passed on this revision set too, or the project knows it flaky. */
function flakyVerdict(job: Job, id: string, evidence: FaultEvidence): TestVerdict | undefined {
  const counts = countsOf(evidence.runs.get(revisionSetOf(job)) ?? [], id);
  const known = evidence.flaky.get(job.project)?.get(id);
  if (!known && counts.runs <= counts.failed) return undefined;
  return { id, kind: 'flaky', counts: counts.runs > 0 ? counts : { failed: 1, runs: 1 }, ...(known ? { known } : {}) };
}

/** Per failing test: quarantined, pre-existing, flaky, new or (no baseline answered) uncompared — in that order of precedence. */
function failureVerdicts(job: Job, comparison: Comparison, baselineFailures: ReadonlySet<string>, settings: FaultSettings, evidence: FaultEvidence): TestVerdict[] {
  return (job.failedTests ?? []).map((id): TestVerdict => {
    const entry = quarantineEntryFor(settings.quarantine, job.template, id);
    if (entry) return { id, kind: 'quarantined', entry };
    if (comparison.state === 'compared' && baselineFailures.has(id)) return { id, kind: 'pre-existing', baseline: comparison.baseline };
    const flaky = settings.flaky.failuresVote ? undefined : flakyVerdict(job, id, evidence);
    if (flaky) return flaky;
    // A failure the branch may have too (its baseline gave no answer) is not counted against the change.
    if (comparison.state === 'without' && comparison.unanswered && !settings.baseline.uncomparedFailuresVote) return { id, kind: 'uncompared' };
    return { id, kind: 'new', ...(comparison.state === 'compared' ? { baseline: comparison.baseline } : {}) };
  });
}

/** Baseline failures this job ran and passed: the change fixes them. */
function fixedVerdicts(job: Job, baseline: BaselineRef, baselineFailures: ReadonlySet<string>, evidence: FaultEvidence): TestVerdict[] {
  const own = evidence.runs.get(revisionSetOf(job))?.find((r) => r.jobId === job.id);
  if (!own) return [];
  const failed = new Set(job.failedTests ?? []);
  const passed = new Set(own.passed);
  return [...baselineFailures].filter((id) => !failed.has(id) && passed.has(id)).map((id) => ({ id, kind: 'fixed' as const, baseline }));
}

/**
 * A finished job's fault analysis. Failures that need explaining (not quarantined, not excused as
 * flaky) wait for the baseline the job was compared with, up to baseline.waitMinutes after the job
 * finished; then it is reported without the comparison, and those failures give no vote (unless
 * baseline.uncomparedFailuresVote). Only new failures vote -1.
 */
export function analyzeJob(job: Job, settings: FaultSettings, evidence: FaultEvidence, now: Date): JobFault {
  const required: TestVerdict[] = (job.requiredSkipped ?? []).map((skip) => ({ id: skip.id, kind: 'required-skipped', skip }));
  const notRun = required.length > 0 ? null : 1;
  let comparison: Comparison = { state: 'none' };
  const baselineJob = job.comparedWith ? evidence.baselines.get(job.comparedWith) : undefined;
  if (job.status !== 'test_failed') {
    if (baselineJob && !isActive(baselineJob)) comparison = baselineOutcome(job, baselineJob, settings, now);
    if (comparison.state !== 'compared') comparison = { state: 'none' };
    const base = comparison.state === 'compared' ? fixedVerdicts(job, comparison.baseline, new Set(baselineJob?.failedTests ?? []), evidence) : [];
    // A passing job's comparison is worth a line only when it fixes something.
    if (base.length === 0) comparison = { state: 'none' };
    const vote = job.status === 'build_failed' ? -1 : job.status === 'success' ? notRun : null;
    return { jobId: job.id, comparison, tests: [...base, ...required], vote };
  }
  const provisional = failureVerdicts(job, { state: 'none' }, new Set(), settings, evidence);
  const needed = provisional.some((v) => v.kind === 'new') && settings.baseline.enabled;
  if (needed || baselineJob) comparison = baselineOutcome(job, baselineJob, settings, now);
  // Failures that are all quarantined or flaky never wait for a baseline.
  if (!needed && comparison.state !== 'compared') comparison = { state: 'none' };
  const baselineFailures = new Set(comparison.state === 'compared' ? (baselineJob?.failedTests ?? []) : []);
  const tests = failureVerdicts(job, comparison, baselineFailures, settings, evidence);
  if (comparison.state === 'compared') tests.push(...fixedVerdicts(job, comparison.baseline, baselineFailures, evidence));
  tests.push(...required);
  // A failure that names no test cannot be excused: it is the change's.
  if (tests.some((v) => v.kind === 'new') || !job.failedTests?.length) return { jobId: job.id, comparison, tests, vote: -1 };
  const vote = tests.some((v) => v.kind === 'uncompared') ? null : notRun;
  return { jobId: job.id, comparison, tests, vote };
}

/** The patch set's vote from its jobs' say: any -1 wins, then any job without a vote, else +1. */
export function combineVotes(faults: readonly Pick<JobFault, 'vote'>[]): 1 | -1 | null {
  if (faults.some((f) => f.vote === -1)) return -1;
  if (faults.some((f) => f.vote === null)) return null;
  return 1;
}

const short = (revision: string): string => revision.slice(0, 7) || 'an unknown revision';

/** One line of a review per test verdict: "test_x also fails on master at abc1234 — not caused by this change". */
/** The verdicts a job page shows beside its failing tests: a failure no baseline answered is just failed; fixed and required tests have their own places. */
export function pageVerdicts(fault: JobFault): Map<string, TestVerdictNote> {
  const page: Partial<Record<TestVerdict['kind'], FailureVerdict>> = { new: 'new', 'pre-existing': 'pre-existing', flaky: 'flaky', quarantined: 'quarantined', uncompared: 'failed' };
  const out = new Map<string, TestVerdictNote>();
  for (const v of fault.tests) {
    const verdict = page[v.kind];
    if (verdict && !out.has(v.id)) out.set(v.id, { verdict, note: describeVerdict(v) });
  }
  return out;
}

export function describeVerdict(v: TestVerdict): string {
  switch (v.kind) {
    case 'new':
      return `${v.id} — new failure${v.baseline ? `: passes on ${v.baseline.branch} at ${short(v.baseline.revision)}` : ''}`;
    case 'uncompared':
      return `${v.id} — failed; not compared with the target branch, so it may not be this change's`;
    case 'pre-existing':
      return `${v.id} also fails on ${v.baseline.branch} at ${short(v.baseline.revision)} — not caused by this change`;
    case 'fixed':
      return `${v.id} — fixed by this change: fails on ${v.baseline.branch} at ${short(v.baseline.revision)}`;
    case 'flaky': {
      const known = v.known ? `; known flaky: failed ${v.known.failed} of ${v.known.runs} runs on ${v.known.revisionSets} revision set(s), last seen ${v.known.lastSeen.slice(0, 10)}` : '';
      return `${v.id} — flaky: failed ${v.counts.failed} of ${v.counts.runs} runs on this revision set${known}`;
    }
    case 'quarantined':
      return `${v.id} — quarantined: ${v.entry.reason} (owner: ${v.entry.owner})`;
    case 'required-skipped': {
      const why = v.skip.reason.startsWith('absent') ? v.skip.reason : `skipped: ${v.skip.reason}`;
      return `${v.id} — ${why} — required by template ${v.skip.template}`;
    }
  }
}

/** What a review says about the comparison, when there is something to say. */
export function describeComparison(c: Comparison): string | undefined {
  if (c.state === 'compared') return `compared with baseline ${c.baseline.jobId} (${c.baseline.branch} at ${short(c.baseline.revision)})`;
  if (c.state === 'without') return `reported without a baseline comparison: ${c.reason}`;
  return undefined;
}
