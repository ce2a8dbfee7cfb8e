import { UserError } from '../errors.js';
import type { Job, SkippedTest } from '../model.js';
import { olderFirst } from '../queue/jobs.js';
import type { Store } from '../store/types.js';
import { pagePaths, type WebSettings } from './layout.js';
import { statusWords } from './words.js';

/**
 * Results by revision and by patch set: every job's result, its test counts, its failed and
 * skipped tests and its page, for tools (`revisions/<sha>.json`, `changes/<n>/<ps>.json`) and
 * for `bellows results`. Both come from this one pure function over the store's jobs.
 */

type JobExtras = Job & { configuration?: Record<string, string>; requiredSkipped?: Array<{ id: string; reason: string }>; kind?: string };

export interface ResultsKey {
  revision?: string;
  number?: number;
  patchSet?: number;
}

function jobResult(job: JobExtras, web: Pick<WebSettings, 'url'>) {
  const words = statusWords(job);
  const page = pagePaths.job(job.id);
  return {
    id: job.id,
    project: job.project,
    number: job.number,
    patchSet: job.patchSet,
    revision: job.revision,
    template: job.template,
    ...(job.configuration && Object.keys(job.configuration).length ? { configuration: job.configuration } : {}),
    ...(job.kind && job.kind !== 'queue' ? { kind: job.kind } : {}),
    status: job.status,
    result: words.label,
    whose: words.whose,
    attempt: job.attempt,
    createdAt: job.createdAt,
    ...(job.startedAt ? { startedAt: job.startedAt } : {}),
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    counts: { tests: job.summary.tests, failures: job.summary.failures, errors: job.summary.errors, skipped: job.summary.skipped },
    failed: job.failedTests ?? [],
    skipped: job.skipped.map((s): SkippedTest => ({ ...s })),
    ...(job.requiredSkipped?.length ? { requiredSkipped: job.requiredSkipped } : {}),
    ...(job.message ? { message: job.message } : {}),
    page,
    ...(web.url ? { url: `${web.url}/${page.replace(/index\.html$/, '')}` } : {}),
  };
}

export type JobResultEntry = ReturnType<typeof jobResult>;

const templateKey = (job: JobExtras) => `${job.template}${job.configuration ? ` ${JSON.stringify(Object.entries(job.configuration).sort())}` : ''}`;

/** The results document of some jobs (pure): newest first, the latest job per template, and counts by status. */
export function resultsDocument(key: ResultsKey, jobs: readonly Job[], web: Pick<WebSettings, 'url'>, now: Date) {
  const sorted = [...jobs].sort((a, b) => olderFirst(b, a)) as JobExtras[];
  const latest = new Map<string, JobExtras>();
  for (const job of sorted) if (!latest.has(templateKey(job))) latest.set(templateKey(job), job);
  const byStatus: Record<string, number> = {};
  for (const job of latest.values()) byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
  const changes = [...new Map(sorted.filter((j) => j.number).map((j) => [`${j.project}~${j.number}~${j.patchSet}`, { project: j.project, number: j.number, patchSet: j.patchSet, revision: j.revision }])).values()];
  return {
    ...(key.revision ? { revision: key.revision } : {}),
    ...(key.number !== undefined ? { number: key.number, patchSet: key.patchSet } : {}),
    generated: now.toISOString(),
    changes,
    /** The latest job of each template (and configuration): what the patch set's result is. */
    latest: [...latest.values()].map((j) => ({ template: j.template, ...(j.configuration ? { configuration: j.configuration } : {}), job: j.id, status: j.status })),
    counts: { jobs: sorted.length, templates: latest.size, byStatus },
    jobs: sorted.map((j) => jobResult(j, web)),
  };
}

export type ResultsDocument = ReturnType<typeof resultsDocument>;

const REVISION = /^[0-9a-f]{4,64}$/;

/** Every job of a revision (or the first characters of one), live and from history; a prefix naming two revisions is refused. */
export async function jobsOfRevision(store: Store, revision: string): Promise<{ revision: string; jobs: Job[] }> {
  const wanted = revision.toLowerCase();
  if (!REVISION.test(wanted)) throw new UserError(`revision "${revision}": expected a commit SHA (at least 4 hexadecimal digits)`);
  const jobs: Job[] = [];
  for await (const job of store.listJobs({ revision: wanted })) jobs.push(job);
  const full = [...new Set(jobs.map((j) => j.revision))];
  if (full.length > 1) throw new UserError(`revision "${revision}" is ambiguous: ${full.map((r) => r.slice(0, 12)).join(', ')}`, { hint: 'give more of the SHA' });
  return { revision: full[0] ?? wanted, jobs };
}

export async function jobsOfPatchSet(store: Store, number: number, patchSet: number): Promise<Job[]> {
  const jobs: Job[] = [];
  for await (const job of store.listJobs({ number, patchSet })) jobs.push(job);
  return jobs;
}

/** `REVISION` or `NUMBER,PATCHSET` (a change and its patch set), as `bellows results` takes it. */
export function parseResultsKey(text: string): ResultsKey {
  const m = /^(\d+),(\d+)$/.exec(text.trim());
  if (m) return { number: Number(m[1]), patchSet: Number(m[2]) };
  return { revision: text.trim() };
}

/** `bellows results`: the results of a revision or of a change's patch set, from the store. */
export async function resultsFromStore(store: Store, key: ResultsKey, web: Pick<WebSettings, 'url'>, now: Date): Promise<ResultsDocument> {
  if (key.revision !== undefined) {
    const { revision, jobs } = await jobsOfRevision(store, key.revision);
    return resultsDocument({ revision }, jobs, web, now);
  }
  return resultsDocument(key, await jobsOfPatchSet(store, key.number!, key.patchSet!), web, now);
}

/** The results for a terminal: the latest job of each template, then its failed and skipped tests. */
export function formatResults(doc: ResultsDocument): string[] {
  const what = doc.revision ? `revision ${doc.revision}` : `change ${doc.number}, patch set ${doc.patchSet}`;
  if (doc.jobs.length === 0) return [`No job has tested ${what}.`];
  const changes = doc.changes.map((c) => `${c.project} ${c.number},${c.patchSet}`).join(', ');
  const lines = [`${what}${changes ? ` (${changes})` : ''}: ${doc.counts.jobs} job(s)`];
  for (const latest of doc.latest) {
    const job = doc.jobs.find((j) => j.id === latest.job)!;
    const configuration = job.configuration ? ` [${Object.entries(job.configuration).map(([k, v]) => `${k}=${v}`).join(', ')}]` : '';
    const c = job.counts;
    lines.push(`${job.template}${configuration}: ${job.result} (job ${job.id}, attempt ${job.attempt}) — ${c.tests} tests, ${c.failures + c.errors} failed, ${c.skipped} skipped`);
    for (const id of job.failed) lines.push(`  failed:  ${id}`);
    for (const s of job.skipped) lines.push(`  skipped: ${s.id}${s.reason ? ` (${s.reason})` : ''}`);
    lines.push(`  page: ${job.url ?? job.page}`);
  }
  return lines;
}
