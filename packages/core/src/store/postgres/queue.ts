import type { Client, PoolClient } from 'pg';
import type { Job, JobStatus, WorkerRecord } from '../../model.js';
import { enqueueJob, type NewJob } from '../../queue/jobs.js';
import type { FinishOptions, JobQueue, StopWatch } from '../../queue/queue.js';
import { applyResult, finishJobRecord, type FinishOutcome, type JobResult } from '../../queue/transitions.js';
import { FORGET_WORKER_AFTER_MS } from '../../queue/workers.js';
import { emptyState, type StateData } from '../schema.js';
import { createClient, inTransaction, retryConnection } from './connection.js';
import { JOB_COLUMNS, jobColumns } from './rows.js';
import type { PostgresStore } from './store.js';

export const STOP_CHANNEL = 'smokestack_job_stop';

/** A state holding just these jobs and the counter: the pure transitions run on it unchanged. */
function stateOf(jobs: Job[], nextJobId: number): StateData {
  return { ...emptyState(), jobs: Object.fromEntries(jobs.map((j) => [j.id, j])), nextJobId };
}

/** Overwrites a job row this transaction holds locked. */
async function writeJob(client: PoolClient, job: Job): Promise<void> {
  const sets = JOB_COLUMNS.slice(1).map((c, i) => `${c} = $${i + 2}`).join(', ');
  await client.query(`UPDATE jobs SET ${sets}, version = version + 1 WHERE id = $1`, jobColumns(job));
}

async function insertJob(client: PoolClient, job: Job): Promise<void> {
  await client.query(`INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES (${JOB_COLUMNS.map((_c, i) => `$${i + 1}`).join(', ')})`, jobColumns(job));
}

/** Takes the next job number from the counter (its row stays locked until the transaction ends). */
async function allocateJobNumber(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`UPDATE meta SET value = to_jsonb((value #>> '{}')::bigint + 1) WHERE key = 'next_job_id' RETURNING (value #>> '{}')::bigint - 1 AS n`);
  return Number(rows[0]!.n);
}

async function lockJob(client: PoolClient, id: string): Promise<Job | undefined> {
  const { rows } = await client.query<{ doc: Job }>('SELECT doc FROM jobs WHERE id = $1 FOR UPDATE', [id]);
  return rows[0]?.doc;
}

/**
 * The job queue as single statements on the jobs table: a claim is one UPDATE of the next queued
 * row of the worker's pools (baselines first, then the oldest), skipping rows other claimers hold (SKIP LOCKED); a heartbeat one row
 * update answering the status; a result and its transition (with a retry attempt) one transaction.
 * None of them takes the update lock: job rows carry a version instead (see PostgresStore).
 */
export class PostgresJobQueue implements JobQueue {
  private listener?: StopListener;

  constructor(private readonly store: PostgresStore) {}

  private async query<R extends Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]> {
    const pool = await this.store.pool();
    return retryConnection(async () => (await pool.query<R>(sql, params)).rows);
  }

  async claim(workerId: string, now: Date, pools?: readonly string[]): Promise<Job | undefined> {
    const at = now.toISOString();
    const pool = await this.store.pool();
    // In a transaction of its own so that a claim whose answer was lost is looked up, not made twice (see commit).
    const { rows } = await retryConnection(() => inTransaction(pool, 'BEGIN', (client) => client.query<{ doc: Job }>(
      `UPDATE jobs SET status = 'running', worker = $1, heartbeat_at = $2::timestamptz, finished_at = NULL, ended_at = created_at, version = version + 1,
         doc = (doc - 'finishedAt') || jsonb_build_object('status', 'running', 'worker', $1::text, 'startedAt', $3::text, 'heartbeatAt', $3::text)
       WHERE status = 'queued' AND id = (
         SELECT id FROM jobs WHERE status = 'queued' ${pools ? 'AND pool = ANY($4::text[])' : ''}
         ORDER BY (doc->>'kind' = 'baseline') IS NOT TRUE, created_at, num FOR UPDATE SKIP LOCKED LIMIT 1)
       RETURNING doc`,
      pools ? [workerId, at, at, [...pools]] : [workerId, at, at],
    )));
    return rows[0]?.doc;
  }

  async heartbeat(id: string, workerId: string, now: Date): Promise<JobStatus | undefined> {
    const rows = await this.query<{ status: JobStatus }>(
      `WITH beat AS (
         UPDATE jobs SET heartbeat_at = $3::timestamptz, version = version + 1, doc = doc || jsonb_build_object('heartbeatAt', $4::text)
         WHERE id = $1 AND status = 'running' AND worker = $2 RETURNING status)
       SELECT status FROM beat UNION ALL SELECT status FROM jobs WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM beat)`,
      [id, workerId, now.toISOString(), now.toISOString()],
    );
    return rows[0]?.status;
  }

  async statusOf(id: string): Promise<JobStatus | undefined> {
    return (await this.query<{ status: JobStatus }>('SELECT status FROM jobs WHERE id = $1', [id]))[0]?.status;
  }

  async recoverStale(now: Date, staleMs: number, recoverer: string): Promise<Job[]> {
    const at = now.toISOString();
    const rows = await this.query<{ doc: Job }>(
      `WITH stale AS (
         SELECT id, doc FROM jobs
         WHERE status = 'running' AND coalesce(heartbeat_at, (doc->>'startedAt')::timestamptz, created_at) < $1
           AND coalesce(doc->>'kind', CASE WHEN config_id = 'adhoc' THEN 'adhoc' ELSE 'queue' END) <> 'adhoc'
         FOR UPDATE SKIP LOCKED)
       UPDATE jobs j SET worker = $2, heartbeat_at = $3::timestamptz, version = j.version + 1,
         doc = j.doc || jsonb_build_object('worker', $2::text, 'heartbeatAt', $4::text,
           'message', 'requeued: worker ' || coalesce(j.worker, '(unknown)') || ' stopped sending heartbeats')
       FROM stale WHERE j.id = stale.id
       RETURNING stale.doc`,
      [new Date(now.getTime() - staleMs).toISOString(), recoverer, at, at],
    );
    return rows.map((r) => r.doc);
  }

  async requeueTaken(id: string, recoverer: string): Promise<boolean> {
    const rows = await this.query(
      `UPDATE jobs SET status = 'queued', worker = NULL, heartbeat_at = NULL, version = version + 1,
         doc = (doc - 'worker' - 'heartbeatAt' - 'startedAt') || jsonb_build_object('status', 'queued')
       WHERE id = $1 AND status = 'running' AND worker = $2 RETURNING id`,
      [id, recoverer],
    );
    return rows.length > 0;
  }

  async finish(id: string, result: JobResult, now: Date, options: FinishOptions): Promise<FinishOutcome> {
    const pool = await this.store.pool();
    // Safe to repeat after a lost connection: a result already recorded comes back `stale`, not twice.
    return retryConnection(() =>
      inTransaction(pool, 'BEGIN', async (client) => {
        const job = await lockJob(client, id);
        if (!job) throw new Error(`job ${id} vanished from the store`);
        let outcome = finishJobRecord(stateOf([structuredClone(job)], 1), id, result, now, options);
        if (outcome.retry) outcome = finishJobRecord(stateOf([job], await allocateJobNumber(client)), id, result, now, options);
        if (outcome.stale) return outcome;
        await writeJob(client, outcome.job);
        if (outcome.retry) await insertJob(client, outcome.retry);
        if (outcome.retry?.baseline) await handOverBaseline(client, job.id, outcome.retry);
        return outcome;
      }),
    );
  }

  async hasQueued(pools?: readonly string[]): Promise<boolean> {
    const rows = await this.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'queued' ${pools ? 'AND pool = ANY($1::text[])' : ''}) AS any`, pools ? [[...pools]] : []);
    return Boolean(rows[0]?.any);
  }

  async recordGroup(id: string, group: string): Promise<void> {
    await this.query(`UPDATE jobs SET version = version + 1, doc = jsonb_set(doc, '{group}', to_jsonb($2::text)) WHERE id = $1`, [id, group]);
  }

  async startAdHoc(fields: NewJob & { worker: string; changes?: string[]; group?: string }, now: Date): Promise<Job> {
    const pool = await this.store.pool();
    return inTransaction(pool, 'BEGIN', async (client) => {
      const job = enqueueJob(stateOf([], await allocateJobNumber(client)), fields, now);
      Object.assign(job, { kind: 'adhoc', status: 'running', startedAt: now.toISOString(), worker: fields.worker });
      if (fields.group) job.group = fields.group;
      if (fields.changes?.length) job.changes = [...fields.changes];
      await insertJob(client, job);
      return job;
    });
  }

  async finishAdHoc(id: string, result: Pick<JobResult, 'status' | 'message'> & Partial<JobResult>, now: Date): Promise<Job> {
    const pool = await this.store.pool();
    return inTransaction(pool, 'BEGIN', async (client) => {
      const job = await lockJob(client, id);
      if (!job) throw new Error(`job ${id} vanished from the store`);
      if (result.stages) applyResult(job, result as JobResult, now);
      else Object.assign(job, { message: result.message, finishedAt: now.toISOString() });
      job.status = result.status;
      delete job.worker;
      await writeJob(client, job);
      return job;
    });
  }

  async watchStop(id: string, onStop: (status: JobStatus) => void, _pollMs: number): Promise<StopWatch> {
    this.listener ??= new StopListener(this.store, (jobId) => this.statusOf(jobId));
    return this.listener.watch(id, onStop);
  }

  async registerWorker(worker: WorkerRecord, now: Date): Promise<void> {
    await this.query('DELETE FROM workers WHERE heartbeat_at < $1', [new Date(now.getTime() - FORGET_WORKER_AFTER_MS).toISOString()]);
    await this.query(
      `INSERT INTO workers (name, pools, host, started_at, heartbeat_at, doc) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET pools = EXCLUDED.pools, host = EXCLUDED.host, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at, doc = EXCLUDED.doc`,
      [worker.name, worker.pools, worker.host, worker.startedAt, worker.heartbeatAt, JSON.stringify(worker)],
    );
  }

  async beatWorker(name: string, now: Date): Promise<boolean> {
    const at = now.toISOString();
    const rows = await this.query(`UPDATE workers SET heartbeat_at = $2::timestamptz, doc = doc || jsonb_build_object('heartbeatAt', $3::text) WHERE name = $1 RETURNING name`, [name, at, at]);
    return rows.length > 0;
  }

  async unregisterWorker(name: string): Promise<void> {
    await this.query('DELETE FROM workers WHERE name = $1', [name]);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return (await this.query<{ doc: WorkerRecord }>('SELECT doc FROM workers ORDER BY heartbeat_at DESC, name', [])).map((r) => r.doc);
  }

  async close(): Promise<void> {
    await this.listener?.close();
    this.listener = undefined;
  }
}

type StopCallback = (status: JobStatus) => void;

/**
 * One LISTEN connection per process for stop requests: the jobs table's trigger NOTIFYs the id of
 * a job bellows supersedes or cancels. After every (re)connect the watched jobs' statuses are read
 * once, so a stop sent while the connection was down is not missed.
 */
class StopListener {
  private readonly watchers = new Map<string, Set<StopCallback>>();
  private client?: Promise<Client>;
  private closed = false;

  constructor(
    private readonly store: PostgresStore,
    private readonly statusOf: (id: string) => Promise<JobStatus | undefined>,
  ) {}

  async watch(id: string, onStop: StopCallback): Promise<StopWatch> {
    const callbacks = this.watchers.get(id) ?? new Set<StopCallback>();
    this.watchers.set(id, callbacks);
    let fired = false;
    const once: StopCallback = (status) => {
      if (fired) return;
      fired = true;
      callbacks.delete(once);
      onStop(status);
    };
    callbacks.add(once);
    await this.connected();
    await this.check(id);
    return async () => {
      callbacks.delete(once);
      if (callbacks.size === 0) this.watchers.delete(id);
    };
  }

  private async check(id: string): Promise<void> {
    const status = await this.statusOf(id).catch(() => undefined);
    if (status !== 'superseded' && status !== 'cancelled') return;
    for (const callback of [...(this.watchers.get(id) ?? [])]) callback(status);
  }

  private connected(): Promise<Client> {
    this.client ??= this.connect().catch((err) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }

  private async connect(): Promise<Client> {
    await this.store.pool(); // the schema (and its trigger) exists before we listen
    // A pg Client connects once: every attempt (a restart may take several) is a new one.
    return retryConnection(async () => {
      const client = createClient(this.store.connectionConfig());
      client.on('error', () => this.reconnect(client));
      try {
        await client.connect();
        client.on('notification', (message) => {
          if (message.channel === STOP_CHANNEL && message.payload) void this.check(message.payload);
        });
        client.on('end', () => this.reconnect(client));
        await client.query(`LISTEN ${STOP_CHANNEL}`);
        return client;
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
    });
  }

  private reconnect(lost: Client): void {
    if (this.closed) return;
    // A connection attempt that failed has already been dropped (connected() forgets it): nothing to do.
    void this.client?.then(
      (current) => {
        if (current !== lost || this.closed) return;
        this.client = undefined;
        setTimeout(() => this.recheckAfterReconnect(), 200).unref();
      },
      () => undefined,
    );
  }

  /** Connects again and reads the watched jobs' statuses once: a stop sent while the connection was down is not missed. */
  private recheckAfterReconnect(): void {
    if (this.closed || this.client) return;
    void this.connected()
      .then(() => Promise.all([...this.watchers.keys()].map((id) => this.check(id))))
      .catch(() => this.reconnectLater());
  }

  private reconnectLater(): void {
    setTimeout(() => this.recheckAfterReconnect(), 1000).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = await this.client?.catch(() => undefined);
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/** A baseline's retry is that baseline (as inheritBaseline): the index and the change jobs waiting on the first now name the retry. */
async function handOverBaseline(client: PoolClient, previousId: string, retry: Job): Promise<void> {
  const entry = JSON.stringify({ jobId: retry.id, createdAt: retry.createdAt });
  await client.query(
    `INSERT INTO baselines (key, doc) VALUES ($1, $2::jsonb)
     ON CONFLICT (key) DO UPDATE SET doc = jsonb_set(EXCLUDED.doc, '{createdAt}', baselines.doc->'createdAt') WHERE baselines.doc->>'jobId' = $3`,
    [retry.baseline!.key, entry, previousId],
  );
  await client.query(`UPDATE jobs SET version = version + 1, doc = jsonb_set(doc, '{comparedWith}', to_jsonb($2::text)) WHERE doc->>'comparedWith' = $1`, [previousId, retry.id]);
}
