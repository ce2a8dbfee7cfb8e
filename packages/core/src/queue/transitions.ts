import { UserError } from '../errors.js';
import { poolOf, type Job, type JobSource, type JobStageRecord, type RequiredSkip, type SkippedTest, type TestSummary } from '../model.js';
import type { StateData } from '../store/schema.js';
import { enqueueJob, getJob, isActive, jobKind, keyOfJob, olderFirst } from './jobs.js';

/**
 * The job state machine as pure transitions over the store's state:
 * queued → running → success | build_failed | test_failed | infra_failed | incomplete, or superseded | cancelled
 * at any point before a result; infra_failed queues a new attempt while retries remain.
 */

/** What a finished run reports about a job (the pipeline's result, or a run that never started). */
export interface JobResult {
  status: Exclude<Job['status'], 'queued' | 'running' | 'superseded'>;
  message: string;
  summary: TestSummary;
  skipped: SkippedTest[];
  failedTests: string[];
  /** Tests the template requires that were skipped or absent. */
  requiredSkipped?: RequiredSkip[];
  sources: JobSource[];
  group?: string;
  stages: JobStageRecord[];
  timing: { wallMs: number; remoteMs: number; overheadMs: number };
}

/** Queued baselines go first: a change's review waits on each of them. */
export function claimOrder(a: Job, b: Job): number {
  const baseline = (j: Job) => (j.kind === 'baseline' ? 0 : 1);
  return baseline(a) - baseline(b) || olderFirst(a, b);
}

/** Pure: the next queued job (of these pools, when given; baselines first, then oldest first), marked running for this worker (or undefined when none is queued). */
export function claimNextJob(state: StateData, workerId: string, now: Date, pools?: readonly string[]): Job | undefined {
  const queued = Object.values(state.jobs)
    .filter((j) => j.status === 'queued' && (!pools || pools.includes(poolOf(j))))
    .sort(claimOrder);
  const job = queued[0];
  if (!job) return undefined;
  job.status = 'running';
  job.worker = workerId;
  job.startedAt = now.toISOString();
  job.heartbeatAt = now.toISOString();
  delete job.finishedAt;
  return structuredClone(job);
}

/**
 * Pure: running jobs whose worker stopped heartbeating are taken over by `recoverer` (still running, now
 * under its name and heartbeat), which cleans up what the dead run left and then requeues them
 * (requeueTakenJob): no new run can start before that. Returns them as they were.
 */
export function takeStaleJobs(state: StateData, now: Date, staleMs: number, recoverer: string): Job[] {
  const taken: Job[] = [];
  for (const job of Object.values(state.jobs)) {
    // An ad-hoc run belongs to the command that started it, which sends no heartbeats: never requeue it.
    if (job.status !== 'running' || jobKind(job) === 'adhoc') continue;
    const beat = Date.parse(job.heartbeatAt ?? job.startedAt ?? job.createdAt);
    if (Number.isFinite(beat) && now.getTime() - beat <= staleMs) continue;
    taken.push(structuredClone(job));
    job.message = `requeued: worker ${job.worker ?? '(unknown)'} stopped sending heartbeats`;
    job.worker = recoverer;
    job.heartbeatAt = now.toISOString();
  }
  return taken;
}

/** Pure: a job the recoverer took over goes back to the queue; false when it no longer holds it. */
export function requeueTakenJob(state: StateData, id: string, recoverer: string): boolean {
  const job = state.jobs[id];
  if (!job || job.status !== 'running' || job.worker !== recoverer) return false;
  job.status = 'queued';
  delete job.worker;
  delete job.heartbeatAt;
  delete job.startedAt;
  return true;
}

/** Pure: records a heartbeat; returns the job's stored status so the worker can see a stop request. */
export function heartbeatJob(state: StateData, id: string, workerId: string, now: Date): Job['status'] | undefined {
  const job = state.jobs[id];
  if (!job) return undefined;
  if (job.status === 'running' && job.worker === workerId) job.heartbeatAt = now.toISOString();
  return job.status;
}

/** Copies a pipeline result onto a job record (status excluded). */
export function applyResult(job: Job, result: JobResult, now: Date): void {
  job.finishedAt = now.toISOString();
  job.summary = result.summary;
  job.skipped = result.skipped;
  job.failedTests = result.failedTests;
  if (result.requiredSkipped?.length) job.requiredSkipped = result.requiredSkipped;
  else delete job.requiredSkipped;
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

/** An infrastructure failure of this attempt is retried while retries remain (attempt 1 is not a retry). */
export function mayRetryInfra(attempt: number, maxInfraRetries: number): boolean {
  return attempt <= maxInfraRetries;
}

export interface FinishOutcome {
  job: Job;
  /** The new attempt queued after an infra failure. */
  retry?: Job;
  /** The job went back to the queue (its worker shut down). */
  requeued?: boolean;
  /** Nothing was recorded: the job was no longer this run's (already finished, or taken back and requeued). */
  stale?: boolean;
}

/**
 * Pure: stores a finished run. A job bellows marked superseded or cancelled keeps that status; a
 * run stopped for a worker shutdown goes back to the queue; infra_failed queues a new attempt
 * (a new job, so the first attempt's logs stay where they are) up to maxInfraRetries.
 */
export function finishJobRecord(state: StateData, id: string, result: JobResult, now: Date, options: { maxInfraRetries: number; noRetry?: boolean; worker?: string }): FinishOutcome {
  const job = state.jobs[id];
  if (!job) throw new Error(`job ${id} vanished from the store`);
  // A result arriving again, or after the job was taken back from its worker, is not recorded a second time.
  if (!job.worker || (options.worker !== undefined && job.worker !== options.worker)) return { job: structuredClone(job), stale: true };
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
  if (job.status === 'infra_failed' && !options.noRetry && mayRetryInfra(job.attempt, options.maxInfraRetries)) {
    retry = enqueueJob(
      state,
      {
        configId: job.configId,
        project: job.project,
        number: job.number,
        patchSet: job.patchSet,
        revision: job.revision,
        template: job.template,
        ...(job.pool ? { pool: job.pool } : {}),
        ...(job.configuration ? { configuration: job.configuration } : {}),
        ...(job.dependencies ? { dependencies: job.dependencies } : {}),
        reason: 'retry',
        attempt: job.attempt + 1,
      },
      now,
    );
    retry.retryOf = job.id;
    if (job.changes) retry.changes = [...job.changes];
    if (job.baseline) inheritBaseline(state, job, retry);
    job.message = `${job.message} (retrying as ${retry.id}, attempt ${retry.attempt})`;
    retry = structuredClone(retry);
  }
  return { job: structuredClone(job), ...(retry ? { retry } : {}) };
}

/** A new attempt of a baseline is that baseline: the changes waiting on the first find the retry. */
function inheritBaseline(state: StateData, job: Job, retry: Job): void {
  retry.kind = 'baseline';
  retry.baseline = structuredClone(job.baseline!);
  const entry = state.baselines[job.baseline!.key];
  if (!entry || entry.jobId === job.id) state.baselines[job.baseline!.key] = { jobId: retry.id, createdAt: entry?.createdAt ?? retry.createdAt };
  for (const waiting of Object.values(state.jobs)) if (waiting.comparedWith === job.id) waiting.comparedWith = retry.id;
}

/** Pure: lets a failure of a template with `autoApprove: false` vote -1. */
export function approveTransition(state: StateData, id: string, by: string, now: Date): Job {
  const job = getJob(state, id);
  if (job.status !== 'build_failed' && job.status !== 'test_failed') {
    throw new UserError(`job ${id}: only failed jobs can be approved (it is ${job.status})`);
  }
  job.approvedBy = by;
  job.approvedAt = now.toISOString();
  return job;
}

/** Pure: a new attempt of a finished job of its change's current patch set. */
/** An ad-hoc run has no change and no queue to go back to: say what re-runs it instead. */
export function refuseAdHocRetry(job: Job): void {
  if (jobKind(job) !== 'adhoc') return;
  throw new UserError(`job ${job.id}: an ad-hoc run (firestack run), not a queue job, so there is nothing to queue again`, {
    hint: `run it again with: firestack reproduce ${job.id} --run`,
  });
}

export function retryTransition(state: StateData, id: string, now: Date): { job: Job; previous: Job } {
  const previous = getJob(state, id);
  refuseAdHocRetry(previous);
  if (isActive(previous)) throw new UserError(`job ${id}: it is still ${previous.status}`, { hint: 'cancel it first: bellows jobs cancel ' + id });
  if (previous.baseline) {
    const job = enqueueJob(state, { ...previous, reason: 'retry', attempt: previous.attempt + 1 }, now);
    inheritBaseline(state, previous, job);
    return { job, previous };
  }
  const config = state.configs[previous.configId];
  if (!config) throw new UserError(`job ${id}: change ${previous.number} has no test config any more (merged or abandoned?)`);
  if (config.patchSet !== previous.patchSet) {
    throw new UserError(`job ${id}: patch set ${previous.patchSet} is outdated (current: ${config.patchSet})`, { hint: 'retry a job of the current patch set' });
  }
  if (config.dependencyProblem) throw new UserError(`job ${id}: change ${config.number} cannot be tested now: ${config.dependencyProblem}`);
  const key = keyOfJob(previous);
  const attempts = Object.values(state.jobs).filter((j) => j.configId === config.id && j.patchSet === config.patchSet && keyOfJob(j) === key);
  const active = attempts.find(isActive);
  if (active) throw new UserError(`job ${id}: ${active.id} is already ${active.status} for ${key}`);
  const job = enqueueJob(
    state,
    {
      configId: config.id,
      project: config.project,
      number: config.number,
      patchSet: config.patchSet,
      revision: config.revision,
      template: previous.template,
      ...(previous.pool ? { pool: previous.pool } : {}),
      ...(previous.configuration ? { configuration: previous.configuration } : {}),
      ...(config.dependencies?.length ? { dependencies: config.dependencies } : {}),
      reason: 'retry',
      attempt: Math.max(...attempts.map((j) => j.attempt)) + 1,
    },
    now,
  );
  return { job, previous };
}

/** Pure: a queued or running job stops counting; its worker stops it within seconds. */
export function cancelTransition(state: StateData, id: string, now: Date, reason: string): Job {
  const job = getJob(state, id);
  if (!isActive(job)) throw new UserError(`job ${id}: only queued or running jobs can be cancelled (it is ${job.status})`);
  job.status = 'cancelled';
  job.message = reason;
  job.finishedAt = now.toISOString();
  return job;
}
