import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolveTemplate, type LoadedConfig } from '../config/load.js';
import { errorMessage, isUserError } from '../errors.js';
import { logsAlreadyHome, queueJobLogs, startLogShipping } from '../loghost/shipper.js';
import type { Logger } from '../log/logger.js';
import { emptySummary, type Job, type JobStatus } from '../model.js';
import { withPool } from '../providers/group-exec.js';
import { deleteGroup } from '../providers/group-records.js';
import type { ProviderMap } from '../providers/registry.js';
import type { ProviderContext } from '../providers/types.js';
import { jobKind } from '../queue/jobs.js';
import { queueOf, type JobQueue } from '../queue/queue.js';
import type { JobResult } from '../queue/transitions.js';
import { baselineBranches, requestBaseline } from '../queue/baseline.js';
import { faultPolicies } from '../config/schema.js';
import { testRunOf } from '../results/history.js';
import type { Store } from '../store/types.js';
import { parseChangeSpec, planJob } from './plan.js';
import { runPipeline, stopJobOnGroup, type PipelineResult } from './runner.js';
import { setAsidePreviousRun } from './service.js';

export interface WorkerOptions {
  store: Store;
  /** The job queue (default: the store's). */
  queue?: JobQueue;
  loaded: LoadedConfig;
  logger: Logger;
  now?: () => Date;
  env?: Record<string, string | undefined>;
  providers?: ProviderMap;
  concurrency?: number;
  /** Run what is queued, then exit instead of waiting for more. */
  once?: boolean;
  /** Exit after starting this many jobs. */
  maxJobs?: number;
  workerId?: string;
  heartbeatMs?: number;
  /** A running job whose heartbeat is older than this is taken back. */
  staleMs?: number;
  /** How often the queue and stop requests are checked. */
  pollMs?: number;
  /** Aborted on SIGTERM: stop claiming, stop running jobs, requeue them. */
  signal?: AbortSignal;
  insecureAcceptHostKeys?: boolean;
  /** Log shipping to `logHost:` (tests shorten its waits). */
  logShipping?: { retryInitialMs?: number; tickMs?: number };
}

export interface WorkerReport {
  worker: string;
  jobs: Array<{ id: string; status: JobStatus; message: string; retry?: string }>;
  recovered: string[];
}

/** The worker's settings with every default resolved. */
interface Worker extends WorkerOptions {
  id: string;
  queue: JobQueue;
  now: () => Date;
  env: Record<string, string | undefined>;
  concurrency: number;
  heartbeatMs: number;
  staleMs: number;
  pollMs: number;
  /** Sends finished jobs' directories to the log host, when the config names one. */
  shipping?: { kick: () => void; stop: () => Promise<void> };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export function defaultWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

function resolveWorker(options: WorkerOptions): Worker {
  const config = options.loaded.config.worker;
  const heartbeatMs = options.heartbeatMs ?? (config?.heartbeatSeconds ?? 10) * 1000;
  return {
    ...options,
    id: options.workerId ?? defaultWorkerId(),
    queue: options.queue ?? queueOf(options.store),
    now: options.now ?? (() => new Date()),
    env: options.env ?? process.env,
    concurrency: options.concurrency ?? config?.concurrency ?? 1,
    heartbeatMs,
    staleMs: options.staleMs ?? (config?.staleSeconds ?? 60) * 1000,
    pollMs: options.pollMs ?? Math.min(1000, heartbeatMs),
  };
}

function providerContext(w: Worker): ProviderContext {
  return {
    store: w.store,
    logger: w.logger,
    now: w.now,
    env: w.env,
    ...(w.providers ? { providers: w.providers } : {}),
    ...(w.insecureAcceptHostKeys ? { insecureAcceptHostKeys: true } : {}),
  };
}

/**
 * `firestack worker`: claims queued jobs, runs each through the pipeline with a heartbeat, takes
 * back jobs of workers that died, retries infra failures, and stops a job within seconds when
 * bellows marks it superseded or cancelled.
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerReport> {
  const settings = resolveWorker(options);
  const w: Worker = { ...settings, shipping: await shipLogsOf(settings) };
  const report: WorkerReport = { worker: w.id, jobs: [], recovered: [] };
  const running = new Set<Promise<void>>();
  let started = 0;
  w.logger.info(`worker ${w.id}: started (concurrency ${w.concurrency})`);
  const mayStart = () => running.size < w.concurrency && !w.signal?.aborted && (w.maxJobs === undefined || started < w.maxJobs);
  while (!w.signal?.aborted) {
    report.recovered.push(...(await recoverStale(w)));
    while (mayStart()) {
      const job = await w.queue.claim(w.id, w.now());
      if (!job) break;
      started++;
      w.logger.info(`job ${job.id}: claimed (${job.template}, attempt ${job.attempt})`);
      const p = runOneJob(job, w)
        .then((entry) => void report.jobs.push(entry))
        .catch((err) => w.logger.error(`job ${job.id}: ${errorMessage(err)}`))
        .finally(() => running.delete(p));
      running.add(p);
    }
    if (running.size === 0 && (await nothingMoreToDo(w, started))) break;
    await Promise.race([...running, sleep(w.pollMs, w.signal)]);
  }
  await Promise.all([...running]);
  await w.shipping?.stop();
  w.logger.info(`worker ${w.id}: stopped after ${report.jobs.length} job(s)`);
  return report;
}

/** Starts sending finished jobs to the config's log host, unless there is none or it is this very directory. */
async function shipLogsOf(w: Worker): Promise<Worker['shipping']> {
  const logHost = w.loaded.config.logHost;
  if (!logHost) return undefined;
  if (await logsAlreadyHome(logHost, w.store.jobsDir)) {
    w.logger.info(`worker ${w.id}: logHost.dir is this machine's own jobs directory; job logs stay where they are`);
    return undefined;
  }
  const settings = { store: w.store, logHost, logger: w.logger, now: w.now, env: w.env, worker: w.id, retryInitialMs: w.logShipping?.retryInitialMs };
  return startLogShipping(settings, w.logShipping?.tickMs);
}

async function nothingMoreToDo(w: Worker, started: number): Promise<boolean> {
  if (w.maxJobs !== undefined && started >= w.maxJobs) return true;
  return Boolean(w.once) && !(await w.queue.hasQueued());
}

/** Requeues jobs whose worker stopped heartbeating and cleans up what they left on their hosts. */
async function recoverStale(w: Worker): Promise<string[]> {
  const stale = await w.queue.recoverStale(w.now(), w.staleMs);
  for (const job of stale) {
    w.logger.warn(`job ${job.id}: worker ${job.worker ?? '?'} stopped sending heartbeats; cleaning up and requeueing`);
    await cleanUpAbandonedGroups(job, providerContext(w));
  }
  return stale.map((j) => j.id);
}

/** Stops the scripts of a dead worker's job and deletes the groups it created, so nothing leaks. */
async function cleanUpAbandonedGroups(job: Job, ctx: ProviderContext): Promise<void> {
  const state = await ctx.store.read();
  const groups = Object.values(state.groups).filter((g) => g.jobId === job.id && g.state !== 'deleted');
  await withPool(ctx, async (run) => {
    for (const group of groups) {
      try {
        if (group.state === 'ready') await stopJobOnGroup(group, job.id, run);
        await deleteGroup(group.name, run);
      } catch (err) {
        ctx.logger.warn(`job ${job.id}: could not delete its server group ${group.name}: ${errorMessage(err)} (sweep it with firestack group sweep)`);
      }
    }
  });
}

/** Beats the job's heartbeat and watches for a stop request (superseded, cancelled) while it runs. */
function watchJob(job: Job, w: Worker, controller: AbortController, log: Logger): { check: () => Promise<void>; stop: () => void } {
  let lastBeat = w.now().getTime();
  const check = async () => {
    const beat = w.now().getTime() - lastBeat >= w.heartbeatMs;
    const status = beat ? await w.queue.heartbeat(job.id, w.id, w.now()) : await w.queue.statusOf(job.id);
    if (beat) lastBeat = w.now().getTime();
    if (status === 'superseded' || status === 'cancelled') controller.abort(status);
  };
  const timer = setInterval(() => void check().catch((err) => log.debug(`heartbeat: ${errorMessage(err)}`)), w.pollMs);
  const onShutdown = () => controller.abort('worker shutting down');
  w.signal?.addEventListener('abort', onShutdown, { once: true });
  return {
    check,
    stop: () => {
      clearInterval(timer);
      w.signal?.removeEventListener('abort', onShutdown);
    },
  };
}

async function runOneJob(job: Job, w: Worker): Promise<WorkerReport['jobs'][number]> {
  const log = w.logger.child(job.id);
  const controller = new AbortController();
  const watch = watchJob(job, w, controller, log);
  let outcome: JobResult | PipelineResult;
  let maxInfraRetries = 0;
  let noRetry = false;
  try {
    setAsidePreviousRun(w.store.jobDir(job.id));
    const definition = resolveTemplate(w.loaded, job.template);
    maxInfraRetries = definition.maxInfraRetries;
    const branches = job.baseline ? baselineBranches(job.baseline) : (await w.store.read()).configs[job.configId]?.branches;
    const plan = planJob(job.template, definition, {
      baseDir: w.loaded.dir,
      ...(branches ? { branches } : {}),
      changes: (job.changes ?? []).map((c) => parseChangeSpec(c)),
    });
    outcome = await runPipeline(job, plan, {
      ...providerContext(w),
      logger: log,
      signal: controller.signal,
      beforeStage: () => watch.check(),
      onGroup: (name) => w.queue.recordGroup(job.id, name),
    });
  } catch (err) {
    // The template itself is unusable (or the machinery broke before any stage): no retry helps.
    const message = isUserError(err) ? err.line : errorMessage(err);
    log.error(message);
    outcome = neverRan(message);
    noRetry = true;
  } finally {
    watch.stop();
  }
  if (w.shipping) queueJobLogs({ store: w.store, now: w.now, worker: w.id }, job);
  const finished = await w.queue.finish(job.id, outcome, w.now(), { maxInfraRetries, noRetry });
  w.shipping?.kick();
  const line = `${finished.job.status}: ${finished.job.message}`;
  if (finished.job.status === 'success') log.info(line);
  else log.warn(line);
  await keepTestHistory(w, finished.job, outcome, log);
  return { id: job.id, status: finished.job.status, message: finished.job.message, ...(finished.retry ? { retry: finished.retry.id } : {}) };
}

/**
 * After a job: its per-test outcomes go into the store's history (flaky tests are noted there), and
 * a change job with test failures gets a baseline to compare them with (reused, or queued first in line);
 * a passing one is linked to a finished baseline of its revision when there is one.
 */
async function keepTestHistory(w: Worker, job: Job, outcome: JobResult | PipelineResult, log: Logger): Promise<void> {
  if (!['success', 'test_failed', 'incomplete'].includes(job.status) || !('suites' in outcome)) return;
  try {
    await w.store.recordTestRun(testRunOf(job, outcome.suites.flatMap((s) => s.results.cases)));
    if (jobKind(job) !== 'queue') return;
    const { baseline } = faultPolicies(w.loaded.config);
    const request = await w.store.update((state) => requestBaseline(state, job.id, baseline, w.loaded.config.quarantine, w.now()));
    if (request.kind === 'queued') log.info(`queued baseline ${request.baseline.id}: ${request.baseline.template} on ${request.baseline.baseline!.branch}, to compare the failures with`);
    else if (request.kind === 'reused') log.info(`test results compared with baseline ${request.baselineId}`);
  } catch (err) {
    log.warn(`test history: ${errorMessage(err)}`);
  }
}

/** The result of a job whose pipeline never started. */
function neverRan(message: string): JobResult {
  return { status: 'infra_failed', message, stages: [], summary: emptySummary(), skipped: [], failedTests: [], sources: [], timing: { wallMs: 0, remoteMs: 0, overheadMs: 0 } };
}
