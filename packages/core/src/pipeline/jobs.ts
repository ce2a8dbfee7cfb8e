import { FINISHED_STATUSES, type Job } from '../model.js';
import { enqueueJob, jobKind } from '../queue/jobs.js';
import type { StateData } from '../store/schema.js';
import type { PipelineResult } from './runner.js';

const seq = (job: Job): number => Number(job.id.replace(/^\D+/, '')) || 0;

/** Pure: the oldest queued job, marked running for this worker (or undefined when none is queued). */
export function claimNextJob(state: StateData, workerId: string, now: Date): Job | undefined {
  const queued = Object.values(state.jobs)
    .filter((j) => j.status === 'queued')
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : seq(a) - seq(b)));
  const job = queued[0];
  if (!job) return undefined;
  job.status = 'running';
  job.worker = workerId;
  job.startedAt = now.toISOString();
  job.heartbeatAt = now.toISOString();
  delete job.finishedAt;
  return structuredClone(job);
}

/** Pure: running jobs whose worker stopped heartbeating are queued again; returns them as they were. */
export function recoverStaleJobs(state: StateData, now: Date, staleMs: number): Job[] {
  const recovered: Job[] = [];
  for (const job of Object.values(state.jobs)) {
    // An ad-hoc run belongs to the command that started it, which sends no heartbeats: never requeue it.
    if (job.status !== 'running' || jobKind(job) === 'adhoc') continue;
    const beat = Date.parse(job.heartbeatAt ?? job.startedAt ?? job.createdAt);
    if (Number.isFinite(beat) && now.getTime() - beat <= staleMs) continue;
    recovered.push(structuredClone(job));
    job.status = 'queued';
    job.message = `requeued: worker ${job.worker ?? '(unknown)'} stopped sending heartbeats`;
    delete job.worker;
    delete job.heartbeatAt;
    delete job.startedAt;
  }
  return recovered;
}

/** Pure: records a heartbeat; returns the job's stored status so the worker can see a stop request. */
export function heartbeatJob(state: StateData, id: string, workerId: string, now: Date): Job['status'] | undefined {
  const job = state.jobs[id];
  if (!job) return undefined;
  if (job.status === 'running' && job.worker === workerId) job.heartbeatAt = now.toISOString();
  return job.status;
}

/** Copies a pipeline result onto a job record (status excluded). */
export function applyResult(job: Job, result: PipelineResult, now: Date): void {
  job.finishedAt = now.toISOString();
  job.summary = result.summary;
  job.skipped = result.skipped;
  job.failedTests = result.failedTests;
  job.message = result.message;
  job.sources = result.sources;
  if (result.group) job.group = result.group;
  job.stages = result.stages.map((s) => ({ ...s }));
  job.timing = result.timing;
  job.logDir = `jobs/${job.id}`;
  const changed = result.sources.find((s) => s.changed && s.revision) ?? result.sources.find((s) => s.revision);
  if (!job.revision && changed?.revision) job.revision = changed.revision;
  delete job.heartbeatAt;
}

export interface FinishOutcome {
  job: Job;
  /** The new attempt queued after an infra failure. */
  retry?: Job;
  /** The job went back to the queue (its worker shut down). */
  requeued?: boolean;
}

/**
 * Pure: stores a finished run. A job bellows marked superseded or cancelled keeps that status; a
 * run stopped for a worker shutdown goes back to the queue; infra_failed queues a new attempt
 * (a new job, so the first attempt's logs stay where they are) up to maxInfraRetries.
 */
export function finishJobRecord(state: StateData, id: string, result: PipelineResult, now: Date, options: { maxInfraRetries: number; noRetry?: boolean }): FinishOutcome {
  const job = state.jobs[id];
  if (!job) throw new Error(`job ${id} vanished from the store`);
  if (job.status === 'superseded' || job.status === 'cancelled') {
    applyResult(job, result, now);
    job.message = `${job.status}: stopped while running (${result.message})`;
    delete job.worker;
    return { job: structuredClone(job) };
  }
  if (result.status === 'cancelled') {
    job.status = 'queued';
    job.message = `requeued: ${result.message}`;
    delete job.worker;
    delete job.startedAt;
    delete job.heartbeatAt;
    return { job: structuredClone(job), requeued: true };
  }
  applyResult(job, result, now);
  job.status = result.status;
  delete job.worker;
  let retry: Job | undefined;
  if (job.status === 'infra_failed' && !options.noRetry && job.attempt <= options.maxInfraRetries) {
    retry = enqueueJob(
      state,
      {
        configId: job.configId,
        project: job.project,
        number: job.number,
        patchSet: job.patchSet,
        revision: job.revision,
        template: job.template,
        reason: 'retry',
        attempt: job.attempt + 1,
      },
      now,
    );
    retry.retryOf = job.id;
    if (job.changes) retry.changes = [...job.changes];
    job.message = `${job.message} (retrying as ${retry.id}, attempt ${retry.attempt})`;
    retry = structuredClone(retry);
  }
  return { job: structuredClone(job), ...(retry ? { retry } : {}) };
}

export function isFinishedJob(job: Job): boolean {
  return FINISHED_STATUSES.includes(job.status);
}
