import type { Job, JobSource, TestConfig } from '../model.js';
import type { Reproduction } from '../pipeline/reproduce.js';
import type { JobStageRecord } from '../model.js';
import type { TestCaseResult } from '../results/types.js';
import { durationText, statusWords, utcText, type StatusWords, type Tone } from './words.js';

/**
 * The job page's data, built from what the job record and its files hold (pure). Every field is
 * what the template shows; `job.json` beside the page is this object, for tools.
 */

/** Fields other parts of the product may add to a job record; shown when present. */
export type JobRecord = Omit<Job, 'sources'> & {
  configuration?: Record<string, string>;
  requiredSkipped?: Array<{ id: string; pattern?: string; reason: string; template?: string }>;
  pool?: string;
  kind?: string;
  sources?: Array<JobSource & { merges?: Array<{ name: string; url: string; ref: string; revision?: string }> }>;
};

/** summary.json as the runner writes it: what a page reads of it. */
export interface StoredSummary {
  suites?: Array<{ name: string; host?: string; skipped?: string; results?: { cases?: TestCaseResult[] } }>;
}

/** A text log with its viewer: paths relative to the job page. */
export interface LogEntry {
  name: string;
  title: string;
  viewer: string;
  raw: string;
  bytes: number;
  lines: number;
  /** The stage it belongs to (stage logs). */
  stage?: string;
}

export interface FileEntry {
  path: string;
  href: string;
  bytes: number;
}

/** What a failing test is, as far as the job record tells: the change's, the target branch's, or a flake. */
export type FailureVerdict = 'new' | 'pre-existing' | 'flaky' | 'quarantined' | 'failed';

export interface TestVerdictNote {
  verdict: FailureVerdict;
  note?: string;
}

export interface JobPageInput {
  job: JobRecord;
  /** The change's test config, while the store still holds it (subject, owner, branch). */
  config?: TestConfig;
  summary?: StoredSummary;
  logs: LogEntry[];
  files: FileEntry[];
  /** The last lines of the stage that decided a failure, with their line numbers. */
  failureTail?: { log: LogEntry; first: number; lines: string[] };
  reproduce?: Reproduction;
  /** Stage outcomes so far, while the job runs (a finished job has its own `stages`). */
  stagesSoFar?: JobStageRecord[];
  /** Per failing test id, what another part of the product decided about it (baselines, flaky history). */
  verdicts?: ReadonlyMap<string, TestVerdictNote>;
  gerritUrl?: string;
  /** Links to other pages, relative to this one. */
  links: { status?: string; revision?: string; change?: string; retryOf?: string };
  now: Date;
}

/** Tests listed in the page; summary.json and the raw results keep every one. */
export const FAILED_SHOWN = 500;
export const SKIPPED_SHOWN = 2000;
/** A failure message shown in full up to this many characters. */
export const MESSAGE_CHARS = 6000;

const VERDICT_GROUPS: Array<{ verdict: FailureVerdict; title: string; note: string; tone: Tone }> = [
  { verdict: 'new', title: 'New failures', note: 'These fail with the change and pass without it: the change\'s fault.', tone: 'bad' },
  { verdict: 'failed', title: 'Failed tests', note: 'Not compared with the target branch.', tone: 'bad' },
  { verdict: 'pre-existing', title: 'Pre-existing failures', note: 'These fail on the target branch too: not the change\'s fault.', tone: 'warn' },
  { verdict: 'flaky', title: 'Flaky failures', note: 'These both passed and failed on the same code: not counted against the change.', tone: 'warn' },
  { verdict: 'quarantined', title: 'Quarantined tests', note: 'Known broken and kept from voting.', tone: 'muted' },
];

function cut(text: string | undefined, max = MESSAGE_CHARS): string | undefined {
  if (!text) return undefined;
  const trimmed = text.replace(/\s+$/, '');
  return trimmed.length > max ? `${trimmed.slice(0, max)}\n… (${trimmed.length - max} more characters in the raw results)` : trimmed;
}

interface CaseFacts {
  suite: string;
  host?: string;
  case: TestCaseResult;
}

/** Every reported case by id (the first report of an id wins), with its suite. */
function casesById(summary: StoredSummary | undefined): Map<string, CaseFacts> {
  const byId = new Map<string, CaseFacts>();
  for (const suite of summary?.suites ?? []) {
    for (const c of suite.results?.cases ?? []) if (!byId.has(c.id)) byId.set(c.id, { suite: suite.name, ...(suite.host ? { host: suite.host } : {}), case: c });
  }
  return byId;
}

function failureGroups(job: JobRecord, cases: Map<string, CaseFacts>, verdicts: ReadonlyMap<string, TestVerdictNote> | undefined) {
  const failed = job.failedTests ?? [...cases.values()].filter((c) => c.case.outcome === 'failed' || c.case.outcome === 'error').map((c) => c.case.id);
  const entries = failed.map((id) => {
    const facts = cases.get(id);
    const verdict = verdicts?.get(id);
    return {
      id,
      verdict: verdict?.verdict ?? 'failed',
      ...(verdict?.note ? { note: verdict.note } : {}),
      ...(facts ? { suite: facts.suite, outcome: facts.case.outcome === 'error' ? 'error' : 'failed' } : {}),
      ...(facts?.case.message ? { message: cut(facts.case.message) } : {}),
    };
  });
  return VERDICT_GROUPS.map((g) => {
    const tests = entries.filter((e) => e.verdict === g.verdict);
    return { ...g, count: tests.length, tests: tests.slice(0, FAILED_SHOWN), more: Math.max(0, tests.length - FAILED_SHOWN) };
  }).filter((g) => g.count > 0);
}

function skippedTests(job: JobRecord) {
  const required = new Map((job.requiredSkipped ?? []).map((r) => [r.id, r]));
  const list = job.skipped.map((s) => {
    const r = required.get(s.id);
    return { id: s.id, ...(s.reason ? { reason: s.reason } : {}), ...(r ? { required: true, requiredBy: r.pattern ?? r.id } : {}) };
  });
  // Required tests that never ran at all are not among the skipped ones.
  for (const r of required.values()) if (!job.skipped.some((s) => s.id === r.id)) list.push({ id: r.id, reason: r.reason, required: true, requiredBy: r.pattern ?? r.id });
  const requiredOnes = list.filter((s) => 'required' in s);
  const others = list.filter((s) => !('required' in s));
  return { count: list.length, required: requiredOnes, others: others.slice(0, SKIPPED_SHOWN), more: Math.max(0, others.length - SKIPPED_SHOWN) };
}

function stageRows(job: JobRecord, input: JobPageInput) {
  const stages = job.stages ?? input.stagesSoFar ?? [];
  return stages.map((s) => {
    const log = input.logs.find((l) => l.stage === s.stage);
    const tone: Tone = s.status === 'passed' ? 'good' : s.status === 'failed' ? (s.kind === 'infra' ? 'warn' : s.kind === 'cancelled' ? 'muted' : 'bad') : 'muted';
    return {
      stage: s.stage,
      status: s.status,
      tone,
      ...(s.kind ? { kind: s.kind === 'infra' ? 'infrastructure' : s.kind } : {}),
      duration: durationText(s.durationMs),
      ...(s.message ? { message: s.message } : {}),
      ...(log ? { viewer: log.viewer } : {}),
    };
  });
}

function sourceRows(job: JobRecord) {
  return (job.sources ?? []).map((s) => ({
    project: s.project,
    name: s.name,
    kind: s.kind === 'module' ? 'Puppet module' : 'package build',
    url: s.localPath ?? s.url,
    ref: s.ref,
    revision: s.revision ?? 'not fetched',
    changed: s.changed,
    ...(s.mergeTarget ? { merge: `merged onto ${s.mergeTarget} at ${s.mergeTargetRevision ?? 'an unrecorded revision'}` } : {}),
    merges: (s.merges ?? []).map((m) => ({ name: m.name, ref: m.ref, revision: m.revision ?? 'not fetched' })),
  }));
}

function changeFacts(job: JobRecord, config: TestConfig | undefined, gerritUrl: string | undefined) {
  if (!job.number) return undefined;
  const base = gerritUrl?.replace(/\/+$/, '');
  return {
    project: job.project,
    number: job.number,
    patchSet: job.patchSet,
    revision: job.revision,
    ...(base ? { url: `${base}/c/${job.project}/+/${job.number}/${job.patchSet}` } : {}),
    ...(config?.branch ? { branch: config.branch } : {}),
    ...(config?.subject ? { subject: config.subject } : {}),
    ...(config?.owner?.name || config?.owner?.username ? { owner: config.owner.name ?? config.owner.username } : {}),
  };
}

function timeFacts(job: JobRecord, now: Date) {
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now.getTime();
  const took = job.startedAt ? end - Date.parse(job.startedAt) : undefined;
  return {
    created: { iso: job.createdAt, text: utcText(job.createdAt) },
    ...(job.startedAt ? { started: { iso: job.startedAt, text: utcText(job.startedAt) } } : {}),
    ...(job.finishedAt ? { finished: { iso: job.finishedAt, text: utcText(job.finishedAt) } } : {}),
    ...(took !== undefined ? { took: `${durationText(took)}${job.finishedAt ? '' : ' so far'}` } : {}),
  };
}

function flakyTests(cases: Map<string, CaseFacts>) {
  return [...cases.values()].filter((c) => c.case.outcome === 'flaky').map((c) => ({ id: c.case.id, suite: c.suite, ...(c.case.message ? { message: cut(c.case.message) } : {}) }));
}

export type JobPage = ReturnType<typeof jobPageData>;

/** The job page's data (pure). */
export function jobPageData(input: JobPageInput) {
  const { job } = input;
  const cases = casesById(input.summary);
  const words: StatusWords = statusWords(job);
  const s = job.summary;
  const failedGroups = failureGroups(job, cases, input.verdicts);
  const flaky = flakyTests(cases);
  return {
    generated: input.now.toISOString(),
    generatedText: utcText(input.now.toISOString()),
    running: job.status === 'running' || job.status === 'queued',
    job: {
      id: job.id,
      status: job.status,
      words,
      message: job.message,
      attempt: job.attempt,
      ...(job.reason ? { reason: job.reason } : {}),
      ...(job.retryOf ? { retryOf: job.retryOf } : {}),
      ...(job.worker ? { worker: job.worker } : {}),
      ...(job.pool ? { pool: job.pool } : {}),
      ...(job.group ? { group: job.group } : {}),
      ...(job.kind && job.kind !== 'queue' ? { kind: job.kind } : {}),
      ...(job.approvedBy ? { approvedBy: job.approvedBy } : {}),
      times: timeFacts(job, input.now),
    },
    change: changeFacts(job, input.config, input.gerritUrl),
    template: job.template,
    configuration: Object.entries(job.configuration ?? {}).map(([axis, value]) => ({ axis, value })),
    stages: stageRows(job, input),
    tests: {
      ran: s.tests > 0,
      counts: { tests: s.tests, failed: s.failures + s.errors, skipped: s.skipped, flaky: flaky.length, duration: durationText(s.durationMs) },
      failedGroups,
      flaky,
      skipped: skippedTests(job),
    },
    ...(input.failureTail ? { failureTail: { title: input.failureTail.log.title, viewer: input.failureTail.log.viewer, lines: input.failureTail.lines.map((text, i) => ({ n: input.failureTail!.first + i, text })) } } : {}),
    sources: sourceRows(job),
    ...(input.reproduce ? { reproduce: { command: input.reproduce.command, notes: input.reproduce.notes } } : {}),
    logs: input.logs,
    files: input.files,
    links: input.links,
  };
}
