import type { Configuration } from '../config/axes.js';
import type { Change, Job, JobStatus, RequiredSkip, SkippedTest } from '../model.js';
import { keyOfJob } from '../queue/jobs.js';
import type { BlueprintPriority, BugPriority, PriorityAnswers } from '../launchpad/priorities.js';
import {
  changeFeedback,
  isBotVote,
  linkOf,
  scoreChange,
  who,
  type ChangeScore,
  type FeedbackTone,
  type PriorityLookup,
} from './score.js';

/** A project in the report: its Gerrit name and branch, its Launchpad name, its templates. */
export interface ReportProject {
  name: string;
  branch: string;
  launchpad: string;
  templates: string[];
}

/** The latest attempt of one template's job (in one combination of its axes) for a change's current patch set. */
export interface TemplateResult {
  template: string;
  /** The combination of the template's axes the job ran with (absent without axes). */
  configuration?: Configuration;
  jobId: string;
  status: JobStatus;
  attempt: number;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  /** Ordinary skips (the required tests that did not run are in requiredSkipped). */
  skippedTests: SkippedTest[];
  /** Tests the template requires that were skipped or absent: why the job is incomplete. */
  requiredSkipped: RequiredSkip[];
  /** Ids of the tests that failed or errored, as the job recorded them. */
  failedTests: string[];
  durationMs: number;
  finishedAt?: string;
  message?: string;
  /** Where the job's logs and results are: `<logsBase><job id>/`. */
  link: string;
}

export interface ReportVote {
  label: string;
  value: number;
  by: string;
  bot: boolean;
}

export interface ReportRow extends Omit<ChangeScore, 'link'> {
  key: string;
  url?: string;
  project: string;
  branch: string;
  number: number;
  patchSet: number;
  revision: string;
  subject: string;
  owner: string;
  topic?: string;
  linkKind: 'bug' | 'blueprint' | 'none';
  feedback: { lowest: number | null; highest: number | null; shown: number | null; tone: FeedbackTone; votes: ReportVote[] };
  results: Record<string, TemplateResult>;
}

export interface ReportSection extends ReportProject {
  count: number;
  /** Open changes left out (work in progress). */
  excluded: number;
  rows: ReportRow[];
}

export interface Report {
  title: string;
  generated: string;
  /** When the open changes were read from Gerrit, if not now (rendered from a saved snapshot). */
  changesAsOf?: string;
  sections: ReportSection[];
  warnings: string[];
}

export interface BuildReportInput {
  projects: readonly ReportProject[];
  /** Open changes by Gerrit project name. */
  changes: ReadonlyMap<string, readonly Change[]>;
  priorities: Pick<PriorityAnswers, 'bugs' | 'blueprints'>;
  /** Jobs from the state store. */
  jobs: Readonly<Record<string, Job>>;
  now: Date;
  scores?: Readonly<Record<string, number>>;
  ageBonusPerDay?: number;
  botUsernames?: readonly string[];
  title?: string;
  /** Prefix of job links (a URL or a path relative to the report), ending in "/". */
  logsBase?: string;
  /** What follows `<job id>/` in a job link ("index.html" for pages opened from disk). */
  logsTail?: string;
  /** Gerrit's web URL, for changes that arrive without a URL. */
  gerritUrl?: string;
  warnings?: readonly string[];
  changesAsOf?: string;
}

/** The Launchpad answers of one project, as the lookup scoring takes. */
export function lookupFor(priorities: Pick<PriorityAnswers, 'bugs' | 'blueprints'>, launchpadProject: string): PriorityLookup {
  const bugs = priorities.bugs.get(launchpadProject) ?? new Map<number, BugPriority>();
  const blueprints = priorities.blueprints.get(launchpadProject) ?? new Map<string, BlueprintPriority>();
  return { bug: (n) => bugs.get(n), blueprint: (name) => blueprints.get(name) };
}

/** The bugs and blueprints a project's changes link to (what to ask Launchpad). */
export function linksOf(changes: readonly Change[]): { bugs: Set<number>; blueprints: Set<string> } {
  const bugs = new Set<number>();
  const blueprints = new Set<string>();
  for (const change of changes) {
    const link = linkOf(change.topic);
    if (link.kind === 'bug') bugs.add(link.bug);
    else if (link.kind === 'blueprint') blueprints.add(link.name);
  }
  return { bugs, blueprints };
}

const jobKey = (project: string, number: number) => `${project}\u0000${number}`;

/** Whether a job tested this change's current patch set (by revision when both sides know it). */
export function jobMatches(job: Job, change: Change): boolean {
  if (job.project !== change.project || job.number !== change.number) return false;
  const revision = change.currentPatchSet.revision;
  if (job.revision && revision) return job.revision === revision;
  return job.patchSet === change.currentPatchSet.number;
}

/** Newest attempt wins; among equals the later-created job. */
function newer(a: Job, b: Job): boolean {
  if (a.attempt !== b.attempt) return a.attempt > b.attempt;
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  return a.id > b.id;
}

export function safeHttpUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

export function changeUrl(change: Change, gerritUrl?: string): string | undefined {
  const own = safeHttpUrl(change.url);
  if (own) return own;
  const base = safeHttpUrl(gerritUrl);
  return base ? `${base.replace(/\/+$/, '')}/c/${change.project}/+/${change.number}` : undefined;
}

function resultOf(job: Job, logsBase: string, logsTail: string): TemplateResult {
  const summary = job.summary ?? { tests: 0, failures: 0, errors: 0, skipped: 0, durationMs: 0 };
  const requiredSkipped = Array.isArray(job.requiredSkipped) ? job.requiredSkipped : [];
  const allSkipped = Array.isArray(job.skipped) ? job.skipped : [];
  const skippedTests = allSkipped.filter((t) => !requiredSkipped.some((r) => r.id === t.id));
  return {
    template: job.template,
    ...(job.configuration ? { configuration: job.configuration } : {}),
    jobId: job.id,
    status: job.status,
    attempt: job.attempt,
    tests: summary.tests ?? 0,
    failures: summary.failures ?? 0,
    errors: summary.errors ?? 0,
    skipped: Math.max(summary.skipped ?? 0, allSkipped.length),
    skippedTests,
    requiredSkipped,
    failedTests: Array.isArray(job.failedTests) ? job.failedTests.filter((t): t is string => typeof t === 'string') : [],
    durationMs: summary.durationMs ?? 0,
    finishedAt: job.finishedAt,
    message: job.message || undefined,
    link: `${logsBase}${encodeURIComponent(job.id)}/${logsTail}`,
  };
}

/**
 * Template names (and "name [axis=value]") in the reader's order: letters of either case together, then
 * character by character. Not a locale collator: building ICU's costs more than sorting every change's
 * results of a 10,000-change report, and template names are identifiers.
 */
function templateOrder(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The latest job of each template for the change's current patch set, by template name. */
function latestResults(change: Change, jobs: readonly Job[], logsBase: string, logsTail: string): Record<string, TemplateResult> {
  const latest = new Map<string, Job>();
  for (const job of jobs) {
    if (!jobMatches(job, change)) continue;
    const key = keyOfJob(job);
    const seen = latest.get(key);
    if (!seen || newer(job, seen)) latest.set(key, job);
  }
  // One result per template, or per template and combination of its axes ("nova-smoke [database=mysql]").
  const results: Record<string, TemplateResult> = {};
  for (const [key, job] of latest.size > 1 ? [...latest].sort(([a], [b]) => templateOrder(a, b)) : latest) results[key] = resultOf(job, logsBase, logsTail);
  return results;
}

function rowOf(change: Change, scored: ChangeScore, results: Record<string, TemplateResult>, input: BuildReportInput): ReportRow {
  const fb = changeFeedback(change);
  const url = changeUrl(change, input.gerritUrl);
  return {
    score: scored.score,
    cause: scored.cause,
    baseScore: scored.baseScore,
    ageBonus: scored.ageBonus,
    ageDays: scored.ageDays,
    ageMs: scored.ageMs,
    reasons: scored.reasons,
    priorityUnknown: scored.priorityUnknown,
    blocked: scored.blocked,
    key: url ?? `${change.project}~${change.number}`,
    url,
    project: change.project,
    branch: change.branch,
    number: change.number,
    patchSet: change.currentPatchSet.number,
    revision: change.currentPatchSet.revision,
    subject: change.subject,
    owner: change.owner.name ?? change.owner.username ?? change.owner.email ?? '',
    topic: change.topic,
    linkKind: scored.link.kind,
    feedback: {
      lowest: fb.lowest,
      highest: fb.highest,
      shown: fb.shown,
      tone: fb.tone,
      votes: fb.votes.map((v) => ({ label: v.label, value: v.value, by: who(v), bot: isBotVote(v, input.botUsernames) })),
    },
    results,
  };
}

/** What a report says besides its sections. */
export type ReportHead = Omit<Report, 'sections'>;

export function reportHead(input: BuildReportInput): ReportHead {
  return {
    title: input.title ?? 'Review priorities',
    generated: input.now.toISOString(),
    ...(input.changesAsOf ? { changesAsOf: input.changesAsOf } : {}),
    warnings: [...(input.warnings ?? [])],
  };
}

/**
 * The report's sections, one per project, each built when it is asked for: every open change that is
 * not work in progress, scored and sorted by score (then age), with its feedback and the latest job of
 * each template for its current patch set. A caller that renders each section and lets it go holds one
 * project's rows at a time, not 10,000 changes'. Pure: Gerrit, Launchpad and the store are read before.
 */
export function* reportSections(input: BuildReportInput): Generator<ReportSection> {
  const logsBase = input.logsBase ?? 'jobs/';
  const logsTail = input.logsTail ?? '';
  const jobsByChange = new Map<string, Job[]>();
  for (const job of Object.values(input.jobs)) {
    const key = jobKey(job.project, job.number);
    const list = jobsByChange.get(key);
    if (list) list.push(job);
    else jobsByChange.set(key, [job]);
  }
  for (const project of input.projects) {
    const lookup = lookupFor(input.priorities, project.launchpad);
    const rows: ReportRow[] = [];
    const templates = new Set(project.templates);
    let excluded = 0;
    for (const change of input.changes.get(project.name) ?? []) {
      const scored = scoreChange(change, lookup, {
        now: input.now,
        scores: input.scores,
        ageBonusPerDay: input.ageBonusPerDay,
        botUsernames: input.botUsernames,
      });
      if (!scored) {
        excluded++;
        continue;
      }
      const results = latestResults(change, jobsByChange.get(jobKey(change.project, change.number)) ?? [], logsBase, logsTail);
      for (const template of Object.keys(results)) templates.add(template);
      rows.push(rowOf(change, scored, results, input));
    }
    rows.sort((a, b) => b.score - a.score || (b.ageMs ?? 0) - (a.ageMs ?? 0) || a.number - b.number);
    yield { ...project, templates: reportColumns([...templates]), count: rows.length, excluded, rows };
  }
}

/** The whole report at once (see reportSections). */
export function buildReport(input: BuildReportInput): Report {
  const { title, generated, changesAsOf, warnings } = reportHead(input);
  return { title, generated, ...(changesAsOf ? { changesAsOf } : {}), sections: [...reportSections(input)], warnings };
}

/** The result columns: a template whose jobs ran per combination of its axes shows those columns instead of its own. */
function reportColumns(keys: string[]): string[] {
  return keys.filter((key) => !keys.some((other) => other.startsWith(`${key} [`)));
}

/** One change in reviewday.json. */
function changeJson(row: ReportRow): unknown {
  return {
    score: row.score,
    cause: row.cause,
    subject: row.subject,
    owner: row.owner,
    feedback: { lowest: row.feedback.lowest, highest: row.feedback.highest },
    number: row.number,
    patchSet: row.patchSet,
    revision: row.revision,
    project: row.project,
    branch: row.branch,
    topic: row.topic ?? null,
    ageDays: row.ageDays ?? null,
    reasons: row.reasons,
    priorityUnknown: row.priorityUnknown,
    votes: row.feedback.votes,
    results: Object.fromEntries(
      Object.entries(row.results).map(([template, r]) => [
        template,
        {
          template: r.template,
          ...(r.configuration ? { configuration: r.configuration } : {}),
          status: r.status,
          jobId: r.jobId,
          attempt: r.attempt,
          tests: r.tests,
          failures: r.failures,
          errors: r.errors,
          skipped: r.skipped,
          skippedTests: r.skippedTests,
          requiredSkipped: r.requiredSkipped.map((q) => ({ id: q.id, reason: q.reason, pattern: q.pattern, template: q.template })),
          failedTests: r.failedTests,
          durationMs: r.durationMs,
          finishedAt: r.finishedAt ?? null,
          link: r.link,
          message: r.message ?? null,
        },
      ]),
    ),
  };
}

/** A project's changes by key, in the report's order; a key seen twice keeps its first place and its last row, as in an object. */
function changesByKey(section: ReportSection): Map<string, ReportRow> {
  const changes = new Map<string, ReportRow>();
  for (const row of section.rows) changes.set(row.key, row);
  return changes;
}

/** reviewday.json: the original's shape, plus our fields. */
export function reportJson(report: Report): unknown {
  const projects: Record<string, Record<string, unknown>> = {};
  for (const section of report.sections) {
    const changes: Record<string, unknown> = {};
    for (const [key, row] of changesByKey(section)) changes[key] = changeJson(row);
    projects[section.name] = changes;
  }
  return { generated: report.generated, changesAsOf: report.changesAsOf ?? null, title: report.title, projects, warnings: report.warnings };
}

/** The text of reviewday.json up to its first project. */
export function reportJsonHead(head: ReportHead): string {
  const text = JSON.stringify({ generated: head.generated, changesAsOf: head.changesAsOf ?? null, title: head.title });
  return `${text.slice(0, -1)},"projects":{`;
}

/** One project's part of reviewday.json, `rowsPerPiece` changes a piece (`first`: the first project, no comma before it). */
export function* sectionJsonPieces(section: ReportSection, first: boolean, rowsPerPiece = 250): Generator<string> {
  // A piece's changes are one object, stringified at once: one call per change costs twice as much. Keys
  // are change URLs or project~number, never integer-like, so the object keeps the rows' order.
  let piece = `${first ? '' : ','}${JSON.stringify(section.name)}:{`;
  let chunk: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let inChunk = 0;
  let written = false;
  const flush = () => {
    if (inChunk === 0) return;
    piece += `${written ? ',' : ''}${JSON.stringify(chunk).slice(1, -1)}`;
    written = true;
    chunk = Object.create(null) as Record<string, unknown>;
    inChunk = 0;
  };
  for (const [key, row] of changesByKey(section)) {
    chunk[key] = changeJson(row);
    if (++inChunk === rowsPerPiece) {
      flush();
      yield piece;
      piece = '';
    }
  }
  flush();
  yield `${piece}}`;
}

/** The text of reviewday.json after its last project. */
export function reportJsonTail(head: ReportHead): string {
  return `},"warnings":${JSON.stringify(head.warnings)}}`;
}

/**
 * reviewday.json as consecutive pieces of text, `rowsPerPiece` changes each: the same text as
 * `JSON.stringify(reportJson(report))` (its projects have distinct names, as resolveReportProjects
 * makes them), without ever holding the whole document (11 MB at 10,000 changes) as one string.
 */
export function* reportJsonPieces(report: Report, rowsPerPiece = 250): Generator<string> {
  yield reportJsonHead(report);
  for (const [i, section] of report.sections.entries()) yield* sectionJsonPieces(section, i === 0, rowsPerPiece);
  yield reportJsonTail(report);
}
