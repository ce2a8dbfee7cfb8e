import { poolOf, type Job, type WorkerRecord } from '../model.js';
import type { StateData } from '../store/schema.js';

/** A worker not heard of for this long is forgotten when another registers. */
export const FORGET_WORKER_AFTER_MS = 7 * 24 * 3600 * 1000;

/** A worker is live while its last heartbeat is younger than the stale limit (the one that requeues its jobs). */
export function isLiveWorker(worker: Pick<WorkerRecord, 'heartbeatAt'>, now: Date, staleMs: number): boolean {
  const beat = Date.parse(worker.heartbeatAt);
  return Number.isFinite(beat) && now.getTime() - beat <= staleMs;
}

/** The pools some live worker serves. */
export function servedPools(workers: Iterable<WorkerRecord>, now: Date, staleMs: number): Set<string> {
  const pools = new Set<string>();
  for (const worker of workers) if (isLiveWorker(worker, now, staleMs)) for (const pool of worker.pools) pools.add(pool);
  return pools;
}

/** A queued job no live worker would take: its pool is served by none. */
export function isUnserved(job: Pick<Job, 'status' | 'pool'>, served: ReadonlySet<string>): boolean {
  return job.status === 'queued' && !served.has(poolOf(job));
}

/** Pure: records a worker (replacing an earlier record of the same name) and forgets long-gone ones. */
export function registerWorkerRecord(state: StateData, worker: WorkerRecord, now: Date): void {
  for (const [name, other] of Object.entries(state.workers)) {
    if (!isLiveWorker(other, now, FORGET_WORKER_AFTER_MS)) delete state.workers[name];
  }
  state.workers[worker.name] = { ...worker, pools: [...worker.pools] };
}

/** Pure: a worker's heartbeat; answers false when the worker is not registered (forgotten, or never was). */
export function beatWorkerRecord(state: StateData, name: string, now: Date): boolean {
  const worker = state.workers[name];
  if (!worker) return false;
  worker.heartbeatAt = now.toISOString();
  return true;
}

/** Newest heartbeat first. */
export function byLastHeard(a: WorkerRecord, b: WorkerRecord): number {
  return a.heartbeatAt < b.heartbeatAt ? 1 : a.heartbeatAt > b.heartbeatAt ? -1 : a.name.localeCompare(b.name);
}

export interface WorkerListing {
  workers: Array<WorkerRecord & { live: boolean }>;
}

/** Every registered worker, marked live or not (`firestack workers`). */
export async function listWorkers(store: { queue: { listWorkers(): Promise<WorkerRecord[]> } }, options: { now: Date; staleMs: number }): Promise<WorkerListing> {
  const workers = await store.queue.listWorkers();
  return { workers: workers.map((w) => ({ ...w, live: isLiveWorker(w, options.now, options.staleMs) })) };
}

/** A job as `jobs list` shows it: its pool always named, and `unserved` when it is queued for a pool no live worker serves. */
export type ListedJob = Job & { pool: string; unserved?: true };

export function listedJob(job: Job, served: ReadonlySet<string>): ListedJob {
  return { ...job, pool: poolOf(job), ...(isUnserved(job, served) ? { unserved: true as const } : {}) };
}

/** The jobs with their pool and whether a live worker serves it. */
export async function* withPoolService(jobs: AsyncIterable<Job>, workers: WorkerRecord[], now: Date, staleMs: number): AsyncGenerator<ListedJob> {
  const served = servedPools(workers, now, staleMs);
  for await (const job of jobs) yield listedJob(job, served);
}
