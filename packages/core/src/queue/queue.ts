import { UserError } from '../errors.js';
import type { Job, JobStatus } from '../model.js';
import type { Store } from '../store/types.js';
import { enqueueJob, type NewJob } from './jobs.js';
import {
  applyResult,
  claimNextJob,
  finishJobRecord,
  heartbeatJob,
  recoverStaleJobs,
  type FinishOutcome,
  type JobResult,
} from './transitions.js';

export interface FinishOptions {
  maxInfraRetries: number;
  /** The run never started (an unusable template): no retry helps. */
  noRetry?: boolean;
}

/**
 * The job lifecycle as the worker, bellows and firestack see it. Each method is one step of the
 * state machine in transitions.ts; a database backend does each as one conditional statement
 * (a claim is an UPDATE … WHERE status = 'queued' … SKIP LOCKED), never a read-modify-write of the whole state.
 */
export interface JobQueue {
  /** The oldest queued job, now running for this worker; undefined when nothing is queued. */
  claim(workerId: string, now: Date): Promise<Job | undefined>;
  /** Records a heartbeat of the job's worker; answers the stored status, so a stop request is seen. */
  heartbeat(id: string, workerId: string, now: Date): Promise<JobStatus | undefined>;
  statusOf(id: string): Promise<JobStatus | undefined>;
  /** Running jobs whose worker stopped heartbeating go back to the queue; answers them as they were. */
  recoverStale(now: Date, staleMs: number): Promise<Job[]>;
  /** Stores a run's result with its transition (and a retry attempt) at once. */
  finish(id: string, result: JobResult, now: Date, options: FinishOptions): Promise<FinishOutcome>;
  hasQueued(): Promise<boolean>;
  /** The server group a running job created (recorded before anything exists, so a sweep finds it). */
  recordGroup(id: string, group: string): Promise<void>;
  /** A run no queue scheduled (a laptop run, a stepwise command): recorded as running from the start. */
  startAdHoc(fields: NewJob & { worker: string; changes?: string[]; group?: string }, now: Date): Promise<Job>;
  finishAdHoc(id: string, result: Pick<JobResult, 'status' | 'message'> & Partial<JobResult>, now: Date): Promise<Job>;
}

/** The queue over a store's serialized updates (the JSON file's): each step is one update with a pure transition. */
export class StoreJobQueue implements JobQueue {
  constructor(private readonly store: Store) {}

  claim(workerId: string, now: Date): Promise<Job | undefined> {
    return this.store.update((state) => claimNextJob(state, workerId, now));
  }

  heartbeat(id: string, workerId: string, now: Date): Promise<JobStatus | undefined> {
    return this.store.update((state) => heartbeatJob(state, id, workerId, now));
  }

  async statusOf(id: string): Promise<JobStatus | undefined> {
    return (await this.store.read()).jobs[id]?.status;
  }

  recoverStale(now: Date, staleMs: number): Promise<Job[]> {
    return this.store.update((state) => recoverStaleJobs(state, now, staleMs));
  }

  finish(id: string, result: JobResult, now: Date, options: FinishOptions): Promise<FinishOutcome> {
    return this.store.update((state) => finishJobRecord(state, id, result, now, options));
  }

  async hasQueued(): Promise<boolean> {
    return Object.values((await this.store.read()).jobs).some((j) => j.status === 'queued');
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
