import type { Job } from '../model.js';
import { isFinished } from '../queue/jobs.js';
import { ACTIVITY_KINDS, type ActivityKind, type StateData } from '../store/schema.js';
import { pagePaths } from './layout.js';
import { durationText, statusWords, utcText, type Tone } from './words.js';

/**
 * The status page's data (pure): what is queued and running, by pool; the workers and their last
 * heartbeat; the last sync, stream connection, comment run and checks run; the latest results.
 * `bellows status --json` prints this object.
 */

export interface StatusInput {
  state: StateData;
  now: Date;
  /** A worker whose last heartbeat is older than this is not alive (config worker.staleSeconds). */
  staleMs: number;
  /** Public URL of the pages, for absolute job links in the JSON. */
  url?: string;
  /** Latest finished jobs listed. */
  recent?: number;
}

/** A run that has not happened for this long is shown as overdue (cron runs them every few minutes). */
export const OVERDUE_MS = 60 * 60_000;

const ACTIVITY_LABELS: Record<ActivityKind, string> = {
  sync: 'Gerrit sync',
  stream: 'Gerrit event stream',
  comment: 'Review comments',
  checks: 'Gerrit checks',
};

type JobExtras = Job & { pool?: string; configuration?: Record<string, string> };

const poolOf = (job: JobExtras) => job.pool ?? 'default';

function ago(iso: string | undefined, now: Date): { iso: string; text: string; ago: string; ms: number } | undefined {
  if (!iso) return undefined;
  const ms = now.getTime() - Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  return { iso, text: utcText(iso), ago: `${durationText(Math.max(0, ms)) || '0s'} ago`, ms: Math.max(0, ms) };
}

function jobRow(job: JobExtras, input: StatusInput) {
  const words = statusWords(job);
  const since = job.status === 'running' ? job.startedAt ?? job.createdAt : job.status === 'queued' ? job.createdAt : job.finishedAt ?? job.createdAt;
  const page = pagePaths.job(job.id);
  return {
    id: job.id,
    project: job.project,
    ...(job.number ? { number: job.number, patchSet: job.patchSet } : {}),
    template: job.template,
    ...(job.configuration && Object.keys(job.configuration).length ? { configuration: Object.entries(job.configuration).map(([k, v]) => `${k}=${v}`).join(', ') } : {}),
    pool: poolOf(job),
    status: job.status,
    label: words.label,
    tone: words.tone,
    symbol: words.symbol,
    ...(job.attempt > 1 ? { attempt: job.attempt } : {}),
    since: ago(since, input.now),
    ...(job.worker ? { worker: job.worker } : {}),
    ...(job.heartbeatAt ? { heartbeat: ago(job.heartbeatAt, input.now) } : {}),
    // Queued jobs have no page yet: the worker writes it when it takes the job.
    ...(job.status !== 'queued' ? { page, ...(input.url ? { url: `${input.url}/${page.replace(/index\.html$/, '')}` } : {}) } : {}),
  };
}

export type StatusJobRow = ReturnType<typeof jobRow>;

/** Workers as their running jobs show them: alive while a heartbeat is younger than the stale limit. */
function workerRows(jobs: JobExtras[], input: StatusInput) {
  const byName = new Map<string, { name: string; jobs: string[]; pools: Set<string>; beat?: string }>();
  for (const job of jobs) {
    if (job.status !== 'running' || !job.worker) continue;
    const w = byName.get(job.worker) ?? { name: job.worker, jobs: [], pools: new Set<string>() };
    w.jobs.push(job.id);
    w.pools.add(poolOf(job));
    const beat = job.heartbeatAt ?? job.startedAt;
    if (beat && (!w.beat || beat > w.beat)) w.beat = beat;
    byName.set(job.worker, w);
  }
  return [...byName.values()]
    .map((w) => {
      const heartbeat = ago(w.beat, input.now);
      return { name: w.name, alive: heartbeat !== undefined && heartbeat.ms <= input.staleMs, pools: [...w.pools].sort(), jobs: w.jobs, ...(heartbeat ? { heartbeat } : {}) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function activityRows(state: StateData, now: Date) {
  return ACTIVITY_KINDS.map((kind) => {
    const mark = state.activity?.[kind];
    if (!mark) return { kind, label: ACTIVITY_LABELS[kind], state: 'never', tone: 'muted' as Tone, summary: 'not run since this store was created (or not yet recorded)' };
    const at = ago(mark.at, now)!;
    const overdue = kind !== 'stream' && at.ms > OVERDUE_MS;
    const words = kind === 'stream' ? (mark.ok ? 'connected' : mark.summary === 'stopped' ? 'stopped' : 'disconnected') : mark.ok ? (overdue ? 'overdue' : 'ok') : 'failed';
    const tone: Tone = mark.ok ? (overdue ? 'warn' : 'good') : words === 'stopped' ? 'muted' : 'bad';
    return {
      kind,
      label: ACTIVITY_LABELS[kind],
      state: words,
      tone,
      summary: mark.summary,
      at,
      ...(mark.by ? { by: mark.by } : {}),
      ...(mark.since ? { since: ago(mark.since, now) } : {}),
      ...(mark.lastOkAt ? { lastOk: ago(mark.lastOkAt, now) } : {}),
    };
  });
}

const byAge = (a: Job, b: Job) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id.localeCompare(b.id, undefined, { numeric: true }));

export function statusData(input: StatusInput) {
  const jobs = Object.values(input.state.jobs) as JobExtras[];
  const active = jobs.filter((j) => j.status === 'queued' || j.status === 'running').sort(byAge);
  const pools = [...new Set(active.map(poolOf))].sort().map((name) => {
    const of = active.filter((j) => poolOf(j) === name);
    return { name, running: of.filter((j) => j.status === 'running').map((j) => jobRow(j, input)), queued: of.filter((j) => j.status === 'queued').map((j) => jobRow(j, input)) };
  });
  const recent = jobs
    .filter((j) => isFinished(j.status) && j.finishedAt)
    .sort((a, b) => (a.finishedAt! < b.finishedAt! ? 1 : a.finishedAt! > b.finishedAt! ? -1 : 0))
    .slice(0, input.recent ?? 20)
    .map((j) => jobRow(j, input));
  return {
    generated: input.now.toISOString(),
    generatedText: utcText(input.now.toISOString()),
    counts: { queued: active.filter((j) => j.status === 'queued').length, running: active.filter((j) => j.status === 'running').length },
    pools,
    workers: workerRows(jobs, input),
    activity: activityRows(input.state, input.now),
    recent,
  };
}

export type StatusData = ReturnType<typeof statusData>;

/** The status for a terminal, one line per job, worker and activity. */
export function formatStatus(status: StatusData): string[] {
  const lines = [`${status.counts.running} running, ${status.counts.queued} queued`];
  for (const pool of status.pools) {
    lines.push(`pool ${pool.name}:`);
    for (const j of [...pool.running, ...pool.queued]) {
      const change = j.number ? ` ${j.number},${j.patchSet}` : '';
      const worker = j.worker ? ` on ${j.worker}${j.heartbeat ? ` (beat ${j.heartbeat.ago})` : ''}` : '';
      lines.push(`  ${j.id.padEnd(6)} ${j.label.padEnd(8)} ${j.since?.ago.replace(' ago', '').padStart(7) ?? ''}  ${j.project}${change} ${j.template}${worker}`);
    }
  }
  lines.push(status.workers.length ? 'workers:' : 'workers: none running a job');
  for (const w of status.workers) lines.push(`  ${w.name} ${w.alive ? 'alive' : 'SILENT'}, last heartbeat ${w.heartbeat?.ago ?? 'never'}; ${w.jobs.join(' ')}`);
  for (const a of status.activity) lines.push(`${a.label}: ${a.state}${'at' in a && a.at ? ` ${a.at.ago}` : ''} — ${a.summary}`);
  return lines;
}
