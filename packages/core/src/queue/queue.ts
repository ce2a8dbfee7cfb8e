import { UserError } from '../errors.js';
import { poolOf, type Job, type JobStatus, type WorkerRecord } from '../model.js';
import type { Store } from '../store/types.js';
import { enqueueJob, type NewJob } from './jobs.js';
import {
  applyResult,
  claimNextJob,
  finishJobRecord,
  heartbeatJob,
  requeueTakenJob,
  takeStaleJobs,
  type FinishOutcome,
  type JobResult,
} from './transitions.js';
import { beatWorkerRecord, byLastHeard, registerWorkerRecord } from './workers.js';

export interface FinishOptions {
  maxInfraRetries: number;
  /** The run never started (an unusable template): no retry helps. */
  noRetry?: boolean;
  /** The worker that ran it: a result for a job since taken back from it is not recorded. */
  worker?: string;
}

/** Stops watching a job for stop requests. */
export type StopWatch = () => Promise<void>;

/**
 * The job lifecycle as the worker, bellows and firestack see it. Each method is one step of the
 * state machine in transitions.ts; a database backend does each as one conditional statement
 * (a claim is an UPDATE … WHERE status = 'queued' … SKIP LOCKED), never a read-modify-write of the whole state.
 */
export interface JobQueue {
  /** The oldest queued job (of these pools; any pool when not given), now running for this worker; undefined when nothing is queued. */
  claim(workerId: string, now: Date, pools?: readonly string[]): Promise<Job | undefined>;
  /** Records a heartbeat of the job's worker; answers the stored status, so a stop request is seen. */
  heartbeat(id: string, workerId: string, now: Date): Promise<JobStatus | undefined>;
  statusOf(id: string): Promise<JobStatus | undefined>;
  /**
   * Running jobs whose worker stopped heartbeating are taken over by `recoverer` (one statement: two
   * recoverers never take the same job); answers them as they were. It cleans up, then calls requeueTaken.
   */
  recoverStale(now: Date, staleMs: number, recoverer: string): Promise<Job[]>;
  /** A job taken over by `recoverer` goes back to the queue; false when it no longer holds it. */
  requeueTaken(id: string, recoverer: string): Promise<boolean>;
  /** Stores a run's result with its transition (and a retry attempt) at once. */
  finish(id: string, result: JobResult, now: Date, options: FinishOptions): Promise<FinishOutcome>;
  hasQueued(pools?: readonly string[]): Promise<boolean>;
  /**
   * Calls `onStop` once when bellows marks the job superseded or cancelled (the file store checks
   * the job every `pollMs`; PostgreSQL is told with NOTIFY). Answers how to stop watching.
   */
  watchStop(id: string, onStop: (status: JobStatus) => void, pollMs: number): Promise<StopWatch>;
  /** Records a worker (name, pools, host) as it starts. */
  registerWorker(worker: WorkerRecord, now: Date): Promise<void>;
  /** A worker's own heartbeat (its jobs beat separately); false when its record is gone, so it registers again. */
  beatWorker(name: string, now: Date): Promise<boolean>;
  /** Removes a worker's record as it stops. */
  unregisterWorker(name: string): Promise<void>;
  /** Every registered worker, the most recently heard of first. */
  listWorkers(): Promise<WorkerRecord[]>;
  /** The server group a running job created (recorded before anything exists, so a sweep finds it). */
  recordGroup(id: string, group: string): Promise<void>;
  /** A run no queue scheduled (a laptop run, a stepwise command): recorded as running from the start. */
  startAdHoc(fields: NewJob & { worker: string; changes?: string[]; group?: string }, now: Date): Promise<Job>;
  finishAdHoc(id: string, result: Pick<JobResult, 'status' | 'message'> & Partial<JobResult>, now: Date): Promise<Job>;
}

/** The queue over a store's serialized updates (the JSON file's): each step is one update with a pure transition. */
export class StoreJobQueue implements JobQueue {
  constructor(private readonly store: Store) {}

  claim(workerId: string, now: Date, pools?: readonly string[]): Promise<Job | undefined> {
    return this.store.update((state) => claimNextJob(state, workerId, now, pools));
  }

  heartbeat(id: string, workerId: string, now: Date): Promise<JobStatus | undefined> {
    return this.store.update((state) => heartbeatJob(state, id, workerId, now));
  }

  async statusOf(id: string): Promise<JobStatus | undefined> {
    return (await this.store.read()).jobs[id]?.status;
  }

  recoverStale(now: Date, staleMs: number, recoverer: string): Promise<Job[]> {
    return this.store.update((state) => takeStaleJobs(state, now, staleMs, recoverer));
  }

  requeueTaken(id: string, recoverer: string): Promise<boolean> {
    return this.store.update((state) => requeueTakenJob(state, id, recoverer));
  }

  finish(id: string, result: JobResult, now: Date, options: FinishOptions): Promise<FinishOutcome> {
    return this.store.update((state) => finishJobRecord(state, id, result, now, options));
  }

  async hasQueued(pools?: readonly string[]): Promise<boolean> {
    return Object.values((await this.store.read()).jobs).some((j) => j.status === 'queued' && (!pools || pools.includes(poolOf(j))));
  }

  async watchStop(id: string, onStop: (status: JobStatus) => void, pollMs: number): Promise<StopWatch> {
    return pollForStop(() => this.statusOf(id), onStop, pollMs);
  }

  async registerWorker(worker: WorkerRecord, now: Date): Promise<void> {
    await this.store.update((state) => registerWorkerRecord(state, worker, now));
  }

  beatWorker(name: string, now: Date): Promise<boolean> {
    return this.store.update((state) => beatWorkerRecord(state, name, now));
  }

  async unregisterWorker(name: string): Promise<void> {
    await this.store.update((state) => void delete state.workers[name]);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return Object.values((await this.store.read()).workers).sort(byLastHeard);
  }

  async recordGroup(id: string, group: string): Promise<void> {
    await this.store.update((state) => {
      const job = state.jobs[id];
      if (job) job.group = group;
    });
  }

  startAdHoc(fields: NewJob & { worker: string; changes?: string[]; group?: string }, now: Date): Promise<Job> {
    return this.store.update((state) => {
      const job = enqueueJob(state, fields, now);
      Object.assign(job, { kind: 'adhoc', status: 'running', startedAt: now.toISOString(), worker: fields.worker });
      if (fields.group) job.group = fields.group;
      if (fields.changes?.length) job.changes = [...fields.changes];
      return structuredClone(job);
    });
  }

  finishAdHoc(id: string, result: Pick<JobResult, 'status' | 'message'> & Partial<JobResult>, now: Date): Promise<Job> {
    return this.store.update((state) => {
      const job = state.jobs[id]!;
      if (result.stages) applyResult(job, result as JobResult, now);
      else Object.assign(job, { message: result.message, finishedAt: now.toISOString() });
      job.status = result.status;
      delete job.worker;
      return structuredClone(job);
    });
  }
}

/** Asks for a job's status every `pollMs` and calls `onStop` once it is superseded or cancelled. */
export function pollForStop(statusOf: () => Promise<JobStatus | undefined>, onStop: (status: JobStatus) => void, pollMs: number): StopWatch {
  let stopped = false;
  const timer = setInterval(() => {
    void statusOf().then(
      (status) => {
        if (stopped || (status !== 'superseded' && status !== 'cancelled')) return;
        stopped = true;
        clearInterval(timer);
        onStop(status);
      },
      () => undefined, // a failed look-up is retried on the next tick
    );
  }, pollMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** The queue of a store. */
export function queueOf(store: Store): JobQueue {
  return store.queue;
}

/** Any job by id, live or from history, or a one-line error saying how to find one. */
export async function findJob(store: Store, id: string): Promise<Job> {
  const job = await store.getJob(id);
  if (!job) throw new UserError(`job ${id}: not found in the state store`, { hint: 'list jobs with: bellows jobs list' });
  return job;
}
