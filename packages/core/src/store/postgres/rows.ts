import { poolOf, type Job, type ServerGroup, type TestConfig, type Vote, type WorkerRecord } from '../../model.js';
import { jobNumber } from '../../queue/jobs.js';
import { RECENT_FINISHED_KEPT } from '../live-set.js';
import type { BaselineEntry, PurgeMark, SyncMark } from '../schema.js';

/**
 * A timestamptz column as a page key: UTC in ISO 8601 to the microsecond, with its era, read back the
 * same by any server; 'infinity' and '-infinity' as themselves (to_char has no text for them). Its own
 * text (`::text`) follows the session's DateStyle and TimeZone: under 'SQL' in India's time it ends in
 * "IST", which PostgreSQL reads back as Israel's time, and pages repeat without end.
 */
export function instantKey(column: string): string {
  return `CASE WHEN isfinite(${column}) THEN to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z" BC') ELSE ${column}::text END`;
}

/** The columns of a job row beside its document, in the order of JOB_COLUMNS. */
export function jobColumns(job: Job): unknown[] {
  return [
    job.id,
    jobNumber(job),
    job.configId,
    job.project,
    job.number,
    job.patchSet,
    job.template,
    poolOf(job),
    job.status,
    job.worker ?? null,
    job.createdAt,
    job.finishedAt ?? null,
    job.heartbeatAt ?? null,
    job.finishedAt ?? job.createdAt,
    JSON.stringify(job),
  ];
}

export const JOB_COLUMNS = ['id', 'num', 'config_id', 'project', 'number', 'patch_set', 'template', 'pool', 'status', 'worker', 'created_at', 'finished_at', 'heartbeat_at', 'ended_at', 'doc'];
export const JOB_TYPES = ['text', 'bigint', 'text', 'text', 'integer', 'integer', 'text', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'timestamptz', 'timestamptz', 'jsonb'];

/** Column-wise arrays of rows, for one `unnest($1::text[], $2::bigint[], …)` statement. */
export function transpose(rows: unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) for (let i = 0; i < width; i++) columns[i]!.push(row[i]);
  return columns;
}

/** `unnest($1::text[], $2::bigint[], …) AS u(id, num, …)` for these columns, parameters from `first`. */
export function unnestOf(columns: string[], types: string[], first = 1): string {
  return `unnest(${types.map((t, i) => `$${first + i}::${t}[]`).join(', ')}) AS u(${columns.join(', ')})`;
}

/**
 * The simple-query text that loads the live state in one round trip: a read is a whole READ ONLY
 * REPEATABLE READ transaction (one snapshot); with `lock` it begins an update's transaction.
 */
export function liveSetQuery(lock: number | undefined): string {
  const finished = `status NOT IN ('queued', 'running')`;
  const current = `EXISTS (SELECT 1 FROM configs c WHERE c.id = j.config_id AND c.patch_set = j.patch_set)`;
  const currentVote = `EXISTS (SELECT 1 FROM configs c WHERE c.project = v.project AND c.number = v.number AND c.patch_set = v.patch_set)`;
  return [
    // An update reads after it holds the lock, so each statement sees every earlier update (READ COMMITTED).
    lock === undefined ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN',
    ...(lock === undefined ? [] : [`SELECT pg_advisory_xact_lock(${lock})`]),
    `SELECT key, value::text AS value FROM meta WHERE key IN ('next_job_id', 'activity')`,
    `SELECT doc::text AS doc FROM configs`,
    `SELECT j.version, j.doc::text AS doc FROM jobs j WHERE status IN ('queued', 'running')
       UNION ALL SELECT j.version, j.doc::text FROM jobs j WHERE ${finished} AND ${current}
       UNION ALL (SELECT j.version, j.doc::text FROM jobs j WHERE ${finished} AND NOT ${current} ORDER BY ended_at DESC, num DESC LIMIT ${RECENT_FINISHED_KEPT})`,
    `SELECT v.key, v.doc::text AS doc FROM votes v WHERE ${currentVote}
       UNION ALL (SELECT v.key, v.doc::text FROM votes v WHERE NOT ${currentVote} ORDER BY posted_at DESC LIMIT ${RECENT_FINISHED_KEPT})`,
    `SELECT doc::text AS doc FROM groups`,
    `SELECT key, doc::text AS doc FROM sync_marks`,
    `SELECT key FROM seen_events ORDER BY seq`,
    `SELECT config_id AS key, doc::text AS doc FROM purged`,
    `SELECT doc::text AS doc FROM workers`,
    `SELECT key, doc::text AS doc FROM baselines`,
    ...(lock === undefined ? ['COMMIT'] : []),
  ].join(';\n');
}

/** The records of one loaded table: by key, with the text each was loaded as (to tell what an update changed). */
export interface LoadedTable<T> {
  records: Record<string, T>;
  texts: Map<string, string>;
}

export function loadTable<T>(rows: Array<{ doc: string; key?: string; version?: number }>, keyOf: (record: T, row: { key?: string; version?: number }) => string): LoadedTable<T> {
  const records: Record<string, T> = {};
  const texts = new Map<string, string>();
  for (const row of rows) {
    const record = JSON.parse(row.doc) as T;
    const key = keyOf(record, row);
    records[key] = record;
    texts.set(key, JSON.stringify(record));
  }
  return { records, texts };
}

/** What an update did to one table: records added or changed, and keys removed. */
export interface TableChanges<T> {
  upserts: Array<[string, T]>;
  removed: string[];
}

export function changesOf<T>(loaded: Map<string, string>, now: Record<string, T>): TableChanges<T> {
  const upserts: Array<[string, T]> = [];
  for (const [key, record] of Object.entries(now)) if (loaded.get(key) !== JSON.stringify(record)) upserts.push([key, record]);
  const removed = [...loaded.keys()].filter((key) => !(key in now));
  return { upserts, removed };
}

export const configColumns = (c: TestConfig): unknown[] => [c.id, c.project, c.number, c.patchSet, JSON.stringify(c)];
export const voteColumns = (key: string, v: Vote): unknown[] => [key, v.project, v.number, v.patchSet, v.postedAt, JSON.stringify(v)];
export const groupColumns = (g: ServerGroup): unknown[] => [g.name, JSON.stringify(g)];
export const markColumns = (key: string, m: SyncMark | PurgeMark | BaselineEntry): unknown[] => [key, JSON.stringify(m)];
export const workerColumns = (w: WorkerRecord): unknown[] => [w.name, w.pools, w.host, w.startedAt, w.heartbeatAt, JSON.stringify(w)];
