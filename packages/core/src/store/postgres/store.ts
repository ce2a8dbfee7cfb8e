import path from 'node:path';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { InfraError, UserError } from '../../errors.js';
import type { Job, ServerGroup, TestConfig, Vote, WorkerRecord } from '../../model.js';
import { xdgStateHome, type Env } from '../../paths.js';
import { FINISHED_STATUSES } from '../../model.js';
import type { JobFilter } from '../../queue/jobs.js';
import { emptyArchiveMark } from '../archive.js';
import { SCHEMA_VERSION, nextFreeJobId, type BaselineEntry, type PurgeMark, type StateData, type SyncMark } from '../schema.js';
import type { FlakyTest, TestRun } from '../../results/history.js';
import type { Store } from '../types.js';
import { allTestRuns, flakyTests, pruneTestHistory, recordTestRun, testRunsOf } from './tests.js';
import { CommitInDoubt, ConflictError, checkout, commit, createPool, isConflict, isConnectionError, parsePostgresUrl, poolConfig, redactUrl, retryConnection } from './connection.js';
import { migrate } from './migrate.js';
import { PostgresJobQueue } from './queue.js';
import {
  JOB_COLUMNS,
  JOB_TYPES,
  changesOf,
  configColumns,
  groupColumns,
  instantKey,
  jobColumns,
  liveSetQuery,
  loadTable,
  markColumns,
  transpose,
  unnestOf,
  voteColumns,
  workerColumns,
  type LoadedTable,
} from './rows.js';

// Held by every update for its transaction: updates serialize like the file store's lock.
export const UPDATE_LOCK = 0x736d6b30;
const MAX_CONFLICT_RETRIES = 50;
const FIRST_CONNECT_WAIT_MS = 10_000;
const LIST_PAGE = 500;

/**
 * A job's kind in SQL: rows written before jobs carried a kind are ad hoc by their config id, as
 * jobKind says. Migration 004 indexes this expression (the planner's statistics for a kind filter
 * come from that index): a change to one is a change to both, in a new migration.
 */
export const JOB_KIND_SQL = "coalesce(doc->>'kind', CASE WHEN config_id = 'adhoc' THEN 'adhoc' ELSE 'queue' END)";

/** Where the last page ended: its last job's creation time (instantKey) and number. */
export type JobPageKey = [createdAt: string, num: string];

/** One page of `listJobs`: the jobs matching the filter after `after`, newest first. */
export function jobPageQuery(filter: JobFilter, page: number, after?: JobPageKey): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, ...params: unknown[]) => where.push(sql.replace(/\?/g, () => `$${values.push(params.shift())}`));
  const kinds = filter.kind === undefined ? undefined : [filter.kind].flat();
  // One kind as `=`: the kind index then gives the page in order, where `= ANY` would sort every older job of it.
  if (kinds) add(kinds.length === 1 ? `${JOB_KIND_SQL} = ?` : `${JOB_KIND_SQL} = ANY(?::text[])`, kinds.length === 1 ? kinds[0] : kinds);
  if (filter.status) add('status = ANY(?::text[])', filter.status);
  if (filter.project) add('project = ANY(?::text[])', filter.project);
  if (filter.configId) add('config_id = ?', filter.configId);
  if (filter.number !== undefined) add('number = ?', filter.number);
  if (filter.patchSet !== undefined) add('patch_set = ?', filter.patchSet);
  // A revision by its first characters; an empty one names none (as matchesJobFilter has it).
  if (filter.revision !== undefined) add(filter.revision ? "starts_with(doc->>'revision', ?)" : 'false', filter.revision);
  if (after) add('(created_at, num) < (?::timestamptz, ?::bigint)', ...after);
  // Ordered by the table's columns: the text columns selected for the next page's keyset must not
  // stand in for them (job 999 would sort before job 1000 and a page's boundary skip jobs).
  return {
    text: `SELECT doc::text AS doc, ${instantKey('created_at')} AS after_created, num::text AS after_num FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY jobs.created_at DESC, jobs.num DESC LIMIT ${page}`,
    values,
  };
}

/** The live state as loaded, with what each record was, to write back only what an update changed. */
interface Loaded {
  state: StateData;
  nextJobId: number;
  jobVersions: Map<string, number>;
  tables: { jobs: LoadedTable<Job>; configs: LoadedTable<TestConfig>; votes: LoadedTable<Vote>; groups: LoadedTable<ServerGroup>; sync: LoadedTable<SyncMark>; purged: LoadedTable<PurgeMark>; workers: LoadedTable<WorkerRecord>; baselines: LoadedTable<BaselineEntry> };
  seenEvents: string[];
  /** The status page's record of the last sync, stream connection, comment and checks runs, as loaded. */
  activityText: string;
}

export interface PostgresStoreOptions {
  /** Where job logs and group keys live on this machine (default: $XDG_STATE_HOME/smokestack). */
  dataDir?: string;
  env?: Env;
}

/**
 * The state store in PostgreSQL, for a fleet of workers on several machines. `read` and `update`
 * see the same live state as the file store (live-set.ts); history is the rows outside it. An
 * update holds a transaction-scoped advisory lock (updates serialize like the file's lock) and
 * writes only the rows it changed; job rows carry a version so a queue statement that ran in
 * between (a claim, a heartbeat, a result) is never overwritten: the update runs again instead.
 */
export class PostgresStore implements Store {
  readonly queue: PostgresJobQueue;
  readonly location: string;
  readonly dataDir: string;
  private readonly url: URL;
  private readonly env: Env;
  private poolInstance?: Pool;
  private migrated?: Promise<number>;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.url = parsePostgresUrl(url);
    this.location = redactUrl(url);
    this.dataDir = options.dataDir ?? path.join(xdgStateHome(options.env ?? process.env), 'smokestack');
    this.queue = new PostgresJobQueue(this);
    this.env = options.env ?? process.env;
  }

  get jobsDir(): string {
    return path.join(this.dataDir, 'jobs');
  }

  jobDir(jobId: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(jobId)) throw new UserError(`job id "${jobId}" is not valid`);
    return path.join(this.jobsDir, jobId);
  }

  /** The connection pool, created (and node-postgres loaded) on first use; the schema migrated once per process. */
  async pool(): Promise<Pool> {
    this.poolInstance ??= createPool(poolConfig(this.url, this.env));
    const pool = this.poolInstance;
    // A database that does not answer at first is a wrong URL more often than a restart: give up sooner.
    this.migrated ??= retryConnection(() => migrate(pool, this.location), FIRST_CONNECT_WAIT_MS).catch((err) => {
      this.migrated = undefined;
      throw this.asUserError(err);
    });
    await this.migrated;
    return pool;
  }

  /** The connection settings, for the queue's LISTEN connection. */
  connectionConfig() {
    return poolConfig(this.url, this.env);
  }

  /** A connection failure names the store (without a password), in one line. */
  private asUserError(err: unknown): unknown {
    if (!isConnectionError(err) && (err as { code?: string }).code !== '28P01' && (err as { code?: string }).code !== '3D000') return err;
    return new UserError(`${this.location}: cannot use the PostgreSQL store: ${(err as Error).message}`, { cause: err });
  }

  async close(): Promise<void> {
    await this.queue.close();
    const pool = this.poolInstance;
    this.poolInstance = undefined;
    this.migrated = undefined;
    await pool?.end();
  }

  async read(): Promise<StateData> {
    const pool = await this.pool();
    return retryConnection(async () => {
      const client = await checkout(pool);
      let broken = true;
      try {
        const { state } = await this.loadLive(client, undefined);
        broken = false;
        return state;
      } finally {
        client.done(broken);
      }
    });
  }

  async update<T>(fn: (state: StateData) => T | Promise<T>): Promise<T> {
    const pool = await this.pool();
    for (let attempt = 1; ; attempt++) {
      try {
        return await retryConnection(() => this.tryUpdate(pool, fn));
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
      }
    }
  }

  private async tryUpdate<T>(pool: Pool, fn: (state: StateData) => T | Promise<T>): Promise<T> {
    const client = await checkout(pool);
    let broken = false;
    try {
      const loaded = await this.loadLive(client, UPDATE_LOCK);
      const result = await fn(loaded.state);
      await writeChanges(client, loaded);
      await commit(client, pool);
      return result;
    } catch (err) {
      // The commit may have landed: running fn again could apply it twice, so the caller is told instead.
      if (err instanceof CommitInDoubt) {
        broken = true;
        throw new InfraError(`${this.location}: the connection was lost while an update was committed; it may or may not have been applied`, { cause: err });
      }
      broken = isConnectionError(err);
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.done(broken);
    }
  }

  /** The live state in one round trip (see liveSetQuery); an update's transaction stays open. */
  private async loadLive(client: PoolClient, lock: number | undefined): Promise<Loaded> {
    const results = (await client.query(liveSetQuery(lock))) as unknown as QueryResult[];
    const [meta, configs, jobs, votes, groups, sync, seen, purged, workers, baselines] = results.slice(lock === undefined ? 1 : 2);
    const jobVersions = new Map<string, number>();
    const jobTable = loadTable<Job>(jobs!.rows, (j, row) => (jobVersions.set(j.id, Number(row.version)), j.id));
    const tables: Loaded['tables'] = {
      jobs: jobTable,
      configs: loadTable<TestConfig>(configs!.rows, (c) => c.id),
      votes: loadTable<Vote>(votes!.rows, (_v, row) => row.key!),
      groups: loadTable<ServerGroup>(groups!.rows, (g) => g.name),
      sync: loadTable<SyncMark>(sync!.rows, (_m, row) => row.key!),
      purged: loadTable<PurgeMark>(purged!.rows, (_m, row) => row.key!),
      workers: loadTable<WorkerRecord>(workers!.rows, (w) => w.name),
      baselines: loadTable<BaselineEntry>(baselines!.rows, (_b, row) => row.key!),
    };
    const metaValue = (key: string) => meta!.rows.find((r) => r.key === key)?.value as string | undefined;
    const counter = Number(metaValue('next_job_id') ?? 1);
    const activityText = JSON.stringify(JSON.parse(metaValue('activity') ?? '{}'));
    const seenEvents = seen!.rows.map((r) => r.key as string);
    const state: StateData = {
      schemaVersion: SCHEMA_VERSION,
      configs: tables.configs.records,
      jobs: tables.jobs.records,
      votes: tables.votes.records,
      groups: tables.groups.records,
      sync: tables.sync.records,
      seenEvents: [...seenEvents],
      purged: tables.purged.records,
      workers: tables.workers.records,
      baselines: tables.baselines.records,
      nextJobId: nextFreeJobId({ nextJobId: counter, jobs: tables.jobs.records }),
      archive: { jobs: emptyArchiveMark('jobs'), votes: emptyArchiveMark('votes') },
      activity: JSON.parse(activityText) as StateData['activity'],
    };
    return { state, nextJobId: counter, jobVersions, tables, seenEvents, activityText };
  }

  async getJob(id: string): Promise<Job | undefined> {
    const pool = await this.pool();
    const { rows } = await retryConnection(() => pool.query<{ doc: Job }>('SELECT doc FROM jobs WHERE id = $1', [id]));
    return rows[0]?.doc;
  }

  /** Jobs matching the filter, newest first (history is the same table), a page at a time. */
  async *listJobs(filter: JobFilter = {}, options: { limit?: number } = {}): AsyncGenerator<Job> {
    const pool = await this.pool();
    let left = options.limit ?? Number.POSITIVE_INFINITY;
    let after: JobPageKey | undefined;
    while (left > 0) {
      const page = Math.min(LIST_PAGE, left);
      const query = jobPageQuery(filter, page, after);
      const { rows } = await retryConnection(() => pool.query<{ doc: string; after_created: string; after_num: string }>(query.text, query.values));
      for (const row of rows) yield JSON.parse(row.doc) as Job;
      left -= rows.length;
      if (rows.length < page) return;
      after = [rows.at(-1)!.after_created, rows.at(-1)!.after_num];
    }
  }

  async recordTestRun(run: TestRun): Promise<void> {
    await recordTestRun(await this.pool(), run);
  }

  async testRunsOf(revisionSet: string): Promise<TestRun[]> {
    return testRunsOf(await this.pool(), revisionSet);
  }

  async flakyTests(filter: { project?: string; since: Date }): Promise<FlakyTest[]> {
    return flakyTests(await this.pool(), filter);
  }

  async *listTestRuns(): AsyncGenerator<TestRun> {
    yield* allTestRuns(await this.pool());
  }

  async *listVotes(): AsyncGenerator<Vote> {
    const pool = await this.pool();
    const { rows } = await pool.query<{ doc: Vote }>('SELECT doc FROM votes ORDER BY posted_at');
    for (const row of rows) yield row.doc;
  }

  /** Removes finished jobs that ended before the cutoff and are not a current patch set's result (and old test history); answers their ids. */
  async pruneHistory(cutoff: Date, options: { dryRun: boolean }): Promise<string[]> {
    const pool = await this.pool();
    const which = `FROM jobs j WHERE j.status = ANY($1::text[]) AND j.ended_at < $2 AND NOT EXISTS (SELECT 1 FROM configs c WHERE c.id = j.config_id AND c.patch_set = j.patch_set)`;
    const sql = options.dryRun ? `SELECT j.id ${which} ORDER BY j.ended_at` : `DELETE ${which} RETURNING j.id`;
    const { rows } = await pool.query<{ id: string }>(sql, [FINISHED_STATUSES, cutoff.toISOString()]);
    if (!options.dryRun) await pruneTestHistory(pool, cutoff);
    return rows.map((r) => r.id);
  }
}

/** Writes what the update changed; a job row written by someone else since it was loaded is a conflict. */
async function writeChanges(client: PoolClient, loaded: Loaded): Promise<void> {
  const { state, tables } = loaded;
  await writeJobs(client, loaded);
  if (state.nextJobId !== loaded.nextJobId) {
    const r = await client.query(`UPDATE meta SET value = to_jsonb($2::bigint) WHERE key = 'next_job_id' AND value = to_jsonb($1::bigint)`, [loaded.nextJobId, state.nextJobId]);
    if (r.rowCount !== 1) throw new ConflictError('the job counter moved');
  }
  await writeTable(client, 'configs', ['id', 'project', 'number', 'patch_set', 'doc'], ['text', 'text', 'integer', 'integer', 'jsonb'], tables.configs.texts, state.configs, (_k, c) => configColumns(c));
  await writeTable(client, 'votes', ['key', 'project', 'number', 'patch_set', 'posted_at', 'doc'], ['text', 'text', 'integer', 'integer', 'timestamptz', 'jsonb'], tables.votes.texts, state.votes, voteColumns);
  await writeTable(client, 'groups', ['name', 'doc'], ['text', 'jsonb'], tables.groups.texts, state.groups, (_k, g) => groupColumns(g));
  await writeTable(client, 'sync_marks', ['key', 'doc'], ['text', 'jsonb'], tables.sync.texts, state.sync, markColumns);
  await writeTable(client, 'purged', ['config_id', 'doc'], ['text', 'jsonb'], tables.purged.texts, state.purged, markColumns);
  await writeWorkers(client, tables.workers.texts, state.workers);
  await writeTable(client, 'baselines', ['key', 'doc'], ['text', 'jsonb'], tables.baselines.texts, state.baselines, markColumns);
  await writeSeenEvents(client, loaded.seenEvents, state.seenEvents);
  const activity = JSON.stringify(state.activity ?? {});
  if (activity !== loaded.activityText) {
    await client.query(`INSERT INTO meta (key, value) VALUES ('activity', $1::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [activity]);
  }
}

async function writeJobs(client: PoolClient, loaded: Loaded): Promise<void> {
  const { upserts, removed } = changesOf(loaded.tables.jobs.texts, loaded.state.jobs);
  const changed = upserts.filter(([id]) => loaded.jobVersions.has(id));
  const added = upserts.filter(([id]) => !loaded.jobVersions.has(id));
  if (changed.length > 0) {
    const columns = [...JOB_COLUMNS, 'expected'];
    const sets = JOB_COLUMNS.slice(1).map((c) => `${c} = u.${c}`).join(', ');
    const rows = changed.map(([id, job]) => [...jobColumns(job), loaded.jobVersions.get(id)]);
    const r = await client.query(`UPDATE jobs j SET ${sets}, version = j.version + 1 FROM ${unnestOf(columns, [...JOB_TYPES, 'integer'])} WHERE j.id = u.id AND j.version = u.expected`, transpose(rows, columns.length));
    if (r.rowCount !== changed.length) throw new ConflictError('a job changed since it was read');
  }
  if (added.length > 0) {
    await client.query(`INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) SELECT * FROM ${unnestOf(JOB_COLUMNS, JOB_TYPES)}`, transpose(added.map(([, job]) => jobColumns(job)), JOB_COLUMNS.length));
  }
  if (removed.length > 0) {
    const r = await client.query('DELETE FROM jobs j USING unnest($1::text[], $2::integer[]) AS u(id, expected) WHERE j.id = u.id AND j.version = u.expected', [removed, removed.map((id) => loaded.jobVersions.get(id))]);
    if (r.rowCount !== removed.length) throw new ConflictError('a job changed since it was read');
  }
}

async function writeTable<T>(
  client: PoolClient,
  table: string,
  columns: string[],
  types: string[],
  loaded: Map<string, string>,
  now: Record<string, T>,
  toColumns: (key: string, record: T) => unknown[],
): Promise<void> {
  const { upserts, removed } = changesOf(loaded, now);
  if (upserts.length > 0) {
    const sets = columns.slice(1).map((c) => `${c} = EXCLUDED.${c}`).join(', ');
    const rows = upserts.map(([key, record]) => toColumns(key, record));
    await client.query(`INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM ${unnestOf(columns, types)} ON CONFLICT (${columns[0]}) DO UPDATE SET ${sets}`, transpose(rows, columns.length));
  }
  if (removed.length > 0) await client.query(`DELETE FROM ${table} WHERE ${columns[0]} = ANY($1::text[])`, [removed]);
}

async function writeWorkers(client: PoolClient, loaded: Map<string, string>, now: Record<string, WorkerRecord>): Promise<void> {
  const { upserts, removed } = changesOf(loaded, now);
  for (const [, worker] of upserts) {
    await client.query(
      `INSERT INTO workers (name, pools, host, started_at, heartbeat_at, doc) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET pools = EXCLUDED.pools, host = EXCLUDED.host, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at, doc = EXCLUDED.doc`,
      workerColumns(worker),
    );
  }
  if (removed.length > 0) await client.query('DELETE FROM workers WHERE name = ANY($1::text[])', [removed]);
}

async function writeSeenEvents(client: PoolClient, before: string[], after: string[]): Promise<void> {
  const kept = new Set(after);
  const had = new Set(before);
  const removed = before.filter((k) => !kept.has(k));
  const added = after.filter((k) => !had.has(k));
  if (removed.length > 0) await client.query('DELETE FROM seen_events WHERE key = ANY($1::text[])', [removed]);
  if (added.length > 0) await client.query('INSERT INTO seen_events (key) SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i ON CONFLICT (key) DO NOTHING', [added]);
}
