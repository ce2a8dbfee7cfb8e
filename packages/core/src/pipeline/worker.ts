import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolveTemplate, type LoadedConfig } from '../config/load.js';
import { errorMessage, isUserError } from '../errors.js';
import { imageSettings } from '../images/settings.js';
import { logsAlreadyHome, queueJobLogs, startLogShipping } from '../loghost/shipper.js';
import type { Logger } from '../log/logger.js';
import { DEFAULT_POOL, emptySummary, type Job, type JobStageRecord, type JobStatus, type WorkerRecord } from '../model.js';
import { sleep } from '../net/retry.js';
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
import type { StageOutcome } from '../results/classify.js';
import type { Store } from '../store/types.js';
import { jobPublisher, type Publisher } from '../web/publish.js';
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
  /** The pools whose jobs this worker takes (default: config worker.pools, else `default`). */
  pools?: string[];
  heartbeatMs?: number;
  /** A running job whose heartbeat is older than this is taken back. */
  staleMs?: number;
  /** How often the queue and stop requests are checked. */
  pollMs?: number;
  /** Aborted on SIGTERM: stop claiming, stop running jobs, requeue them. */
  signal?: AbortSignal;
  insecureAcceptHostKeys?: boolean;
  /** Writes job pages (default: into the config's web directory). */
  publisher?: Publisher;
  /** Log shipping to `logHost:` (tests shorten its waits). */
  logShipping?: { retryInitialMs?: number; tickMs?: number };
}

export interface WorkerReport {
  worker: string;
  pools: string[];
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
  pools: string[];
  heartbeatMs: number;
  staleMs: number;
  pollMs: number;
  /** Sends finished jobs' directories to the log host, when the config names one. */
  shipping?: { kick: () => void; stop: () => Promise<void> };
}

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
    pools: [...new Set(options.pools?.length ? options.pools : (config?.pools ?? [DEFAULT_POOL]))],
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
    images: imageSettings(w.loaded.config, w.env),
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
  const report: WorkerReport = { worker: w.id, pools: w.pools, jobs: [], recovered: [] };
  const progress: Progress = { running: new Set(), started: 0 };
  const registration = await register(w);
  w.logger.info(`worker ${w.id}: started (pools ${w.pools.join(', ')}; concurrency ${w.concurrency})`);
  try {
    await workLoop(w, report, progress);
  } finally {
    await Promise.all([...progress.running]);
    await w.shipping?.stop();
    await registration.stop();
  }
  w.logger.info(`worker ${w.id}: stopped after ${report.jobs.length} job(s)`);
  return report;
}

/** The jobs a worker runs now and how many it started. */
interface Progress {
  running: Set<Promise<void>>;
  started: number;
}

async function workLoop(w: Worker, report: WorkerReport, progress: Progress): Promise<void> {
  const { running } = progress;
  const mayStart = () => running.size < w.concurrency && !w.signal?.aborted && (w.maxJobs === undefined || progress.started < w.maxJobs);
  while (!w.signal?.aborted) {
    report.recovered.push(...(await recoverStale(w)));
    while (mayStart()) {
      const job = await w.queue.claim(w.id, w.now(), w.pools);
      if (!job) break;
      progress.started++;
      w.logger.info(`job ${job.id}: claimed (${job.template}, attempt ${job.attempt})`);
      const p = runOneJob(job, w)
        .then((entry) => void report.jobs.push(entry))
        .catch((err) => w.logger.error(`job ${job.id}: ${errorMessage(err)}`))
        .finally(() => running.delete(p));
      running.add(p);
    }
    if (running.size === 0 && (await nothingMoreToDo(w, progress.started))) break;
    await Promise.race([...running, sleep(w.pollMs, w.signal)]);
  }
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
  return Boolean(w.once) && !(await w.queue.hasQueued(w.pools));
}

/** Registers the worker (name, pools, host) and keeps its own heartbeat until stopped; a forgotten record is written again. */
async function register(w: Worker): Promise<{ stop: () => Promise<void> }> {
  const record = (): WorkerRecord => ({ name: w.id, pools: w.pools, host: os.hostname(), pid: process.pid, startedAt, heartbeatAt: w.now().toISOString(), concurrency: w.concurrency });
  const startedAt = w.now().toISOString();
  await w.queue.registerWorker(record(), w.now());
  const beat = async () => {
    if (!(await w.queue.beatWorker(w.id, w.now()))) await w.queue.registerWorker(record(), w.now());
  };
  const timer = setInterval(() => void beat().catch((err) => w.logger.debug(`worker heartbeat: ${errorMessage(err)}`)), w.heartbeatMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await w.queue.unregisterWorker(w.id).catch((err) => w.logger.warn(`worker ${w.id}: could not remove its registration: ${errorMessage(err)}`));
    },
  };
}

/**
 * Takes over jobs whose worker stopped heartbeating, cleans up what they left on their hosts, then
 * requeues them: the next run of a job never meets the server group of the run that died.
 */
async function recoverStale(w: Worker): Promise<string[]> {
  const stale = await w.queue.recoverStale(w.now(), w.staleMs, w.id);
  for (const job of stale) {
    w.logger.warn(`job ${job.id}: worker ${job.worker ?? '?'} stopped sending heartbeats; cleaning up and requeueing`);
    try {
      await cleanUpAbandonedGroups(job, providerContext(w));
    } finally {
      await w.queue.requeueTaken(job.id, w.id);
    }
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

/**
 * Beats the job's heartbeat (whose answer is a stop request's backstop) and has the queue watch for a
 * stop request (superseded, cancelled) while it runs: the file store by polling the job, PostgreSQL by NOTIFY.
 */
async function watchJob(job: Job, w: Worker, controller: AbortController, log: Logger): Promise<{ check: () => Promise<void>; stop: () => Promise<void> }> {
  const stopFor = (status: JobStatus | undefined) => {
    if (status === 'superseded' || status === 'cancelled') controller.abort(status);
  };
  const beat = async () => stopFor(await w.queue.heartbeat(job.id, w.id, w.now()));
  const timer = setInterval(() => void beat().catch((err) => log.debug(`heartbeat: ${errorMessage(err)}`)), w.heartbeatMs);
  const unwatch = await w.queue.watchStop(job.id, stopFor, w.pollMs).catch((err) => {
    log.debug(`stop requests: ${errorMessage(err)} (the heartbeat still sees them)`);
    return async () => undefined;
  });
  const onShutdown = () => controller.abort('worker shutting down');
  w.signal?.addEventListener('abort', onShutdown, { once: true });
  return {
    check: async () => stopFor(await w.queue.statusOf(job.id)),
    stop: async () => {
      clearInterval(timer);
      w.signal?.removeEventListener('abort', onShutdown);
      await unwatch();
    },
  };
}

/**
 * The job's page, rewritten one write at a time (a late stage's page never overwrites the final one).
 * A worker whose logs go home writes none: its page would hold its files after they left, and the
 * control host writes the page from the logs that arrived (`bellows pages`).
 */
function pageWriter(job: Job, w: Worker, log: Logger) {
  if (w.shipping && !w.publisher) return { started: () => undefined, stageEnded: () => undefined, finished: async () => undefined };
  const publisher = w.publisher ?? jobPublisher({ store: w.store, loaded: w.loaded, logger: log, now: w.now });
  let chain: Promise<unknown> = Promise.resolve();
  const write = (record: Job, stagesSoFar?: JobStageRecord[]) => (chain = chain.then(() => publisher.publish(record, stagesSoFar ? { stagesSoFar } : {})));
  return {
    started: () => void write(job, []),
    stageEnded: (outcomes: readonly StageOutcome[]) => void write(job, [...outcomes]),
    finished: (record: Job) => write(record),
  };
}

async function runOneJob(job: Job, w: Worker): Promise<WorkerReport['jobs'][number]> {
  const log = w.logger.child(job.id);
  const controller = new AbortController();
  const watch = await watchJob(job, w, controller, log);
  const page = pageWriter(job, w, log);
  let outcome: JobResult | PipelineResult;
  let maxInfraRetries = 0;
  let noRetry = false;
  try {
    setAsidePreviousRun(w.store.jobDir(job.id));
    page.started();
    const definition = resolveTemplate(w.loaded, job.template);
    maxInfraRetries = definition.maxInfraRetries;
    const branches = job.baseline ? baselineBranches(job.baseline) : (await w.store.read()).configs[job.configId]?.branches;
    const plan = planJob(job.template, definition, {
      baseDir: w.loaded.dir,
      ...(branches ? { branches } : {}),
      changes: (job.changes ?? []).map((c) => parseChangeSpec(c)),
      ...(job.configuration ? { configuration: job.configuration } : {}),
      ...(job.dependencies ? { dependencies: job.dependencies } : {}),
    });
    outcome = await runPipeline(job, plan, {
      ...providerContext(w),
      logger: log,
      signal: controller.signal,
      beforeStage: () => watch.check(),
      onStageEnd: page.stageEnded,
      onGroup: (name) => w.queue.recordGroup(job.id, name),
    });
  } catch (err) {
    // The template itself is unusable (or the machinery broke before any stage): no retry helps.
    const message = isUserError(err) ? err.line : errorMessage(err);
    log.error(message);
    outcome = neverRan(message);
    noRetry = true;
  } finally {
    await watch.stop();
  }
  if (w.shipping) queueJobLogs({ store: w.store, now: w.now, worker: w.id }, job);
  const finished = await w.queue.finish(job.id, outcome, w.now(), { maxInfraRetries, noRetry, worker: w.id });
  await page.finished(finished.job);
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
