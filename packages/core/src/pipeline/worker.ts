import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolveTemplate, type LoadedConfig } from '../config/load.js';
import { errorMessage, isUserError } from '../errors.js';
import { imageSettings } from '../images/service.js';
import type { Logger } from '../log/logger.js';
import type { Job, JobStatus } from '../model.js';
import { deleteGroup, withPool } from '../providers/groups.js';
import type { ProviderMap } from '../providers/registry.js';
import type { ProviderContext } from '../providers/types.js';
import { emptySummary } from '../model.js';
import type { StateStore } from '../store/store.js';
import { claimNextJob, finishJobRecord, heartbeatJob, recoverStaleJobs } from './jobs.js';
import { parseChangeSpec, planJob } from './plan.js';
import { runPipeline, stopJobOnGroup, type PipelineResult } from './runner.js';
import { setAsidePreviousRun } from './service.js';

export interface WorkerOptions {
  store: StateStore;
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
}

export interface WorkerReport {
  worker: string;
  jobs: Array<{ id: string; status: JobStatus; message: string; retry?: string }>;
  recovered: string[];
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

/**
 * `firestack worker`: claims queued jobs from the store under its lock, runs each through the
 * pipeline with a heartbeat, takes back jobs of workers that died, retries infra failures, and
 * stops a job within seconds when bellows marks it superseded or cancelled.
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerReport> {
  const workerConfig = options.loaded.config.worker;
  const now = options.now ?? (() => new Date());
  const id = options.workerId ?? defaultWorkerId();
  const concurrency = options.concurrency ?? workerConfig?.concurrency ?? 1;
  const heartbeatMs = options.heartbeatMs ?? (workerConfig?.heartbeatSeconds ?? 10) * 1000;
  const staleMs = options.staleMs ?? (workerConfig?.staleSeconds ?? 60) * 1000;
  const pollMs = options.pollMs ?? Math.min(1000, heartbeatMs);
  const report: WorkerReport = { worker: id, jobs: [], recovered: [] };
  const running = new Set<Promise<void>>();
  let started = 0;
  const log = options.logger;
  log.info(`worker ${id}: started (concurrency ${concurrency})`);

  const ctx = (): ProviderContext => ({
    store: options.store,
    logger: log,
    now,
    env: options.env ?? process.env,
    ...(options.providers ? { providers: options.providers } : {}),
    ...(options.insecureAcceptHostKeys ? { insecureAcceptHostKeys: true } : {}),
  });

  const recover = async () => {
    const stale = await options.store.update((state) => recoverStaleJobs(state, now(), staleMs));
    for (const job of stale) {
      report.recovered.push(job.id);
      log.warn(`job ${job.id}: worker ${job.worker ?? '?'} stopped sending heartbeats; cleaning up and requeueing`);
      await cleanUpAbandonedGroups(job, ctx());
    }
  };

  const launch = (job: Job) => {
    const p = runOneJob(job, { ...options, now, workerId: id, heartbeatMs, pollMs })
      .then((entry) => {
        report.jobs.push(entry);
      })
      .catch((err) => log.error(`job ${job.id}: ${errorMessage(err)}`))
      .finally(() => running.delete(p));
    running.add(p);
  };

  while (!options.signal?.aborted) {
    await recover();
    while (running.size < concurrency && !options.signal?.aborted && (options.maxJobs === undefined || started < options.maxJobs)) {
      const job = await options.store.update((state) => claimNextJob(state, id, now()));
      if (!job) break;
      started++;
      log.info(`job ${job.id}: claimed (${job.template}, attempt ${job.attempt})`);
      launch(job);
    }
    const limitReached = options.maxJobs !== undefined && started >= options.maxJobs;
    if (running.size === 0) {
      if (limitReached) break;
      if (options.once) {
        const state = await options.store.read();
        if (!Object.values(state.jobs).some((j) => j.status === 'queued')) break;
      }
    }
    await Promise.race([...running, sleep(pollMs, options.signal)]);
  }
  await Promise.all([...running]);
  log.info(`worker ${id}: stopped after ${report.jobs.length} job(s)`);
  return report;
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

async function runOneJob(
  job: Job,
  options: WorkerOptions & { now: () => Date; workerId: string; heartbeatMs: number; pollMs: number },
): Promise<WorkerReport['jobs'][number]> {
  const { store, logger } = options;
  const log = logger.child(job.id);
  const controller = new AbortController();
  const onShutdown = () => controller.abort('worker shutting down');
  options.signal?.addEventListener('abort', onShutdown, { once: true });
  let lastBeat = Date.now();
  const check = async () => {
    const beat = Date.now() - lastBeat >= options.heartbeatMs;
    const status = beat
      ? await store.update((state) => heartbeatJob(state, job.id, options.workerId, options.now()))
      : (await store.read()).jobs[job.id]?.status;
    if (beat) lastBeat = Date.now();
    if (status === 'superseded' || status === 'cancelled') controller.abort(status);
  };
  const timer = setInterval(() => void check().catch((err) => log.debug(`heartbeat: ${errorMessage(err)}`)), options.pollMs);

  let result: PipelineResult | undefined;
  let planError: string | undefined;
  let maxInfraRetries = 0;
  try {
    setAsidePreviousRun(store.jobDir(job.id));
    const state = await store.read();
    const definition = resolveTemplate(options.loaded, job.template);
    maxInfraRetries = definition.maxInfraRetries;
    const branches = state.configs[job.configId]?.branches;
    const plan = planJob(job.template, definition, {
      baseDir: options.loaded.dir,
      ...(branches ? { branches } : {}),
      changes: (job.changes ?? []).map((c) => parseChangeSpec(c)),
    });
    result = await runPipeline(job, plan, {
      store,
      logger: log,
      now: options.now,
      env: options.env ?? process.env,
      ...(options.providers ? { providers: options.providers } : {}),
      ...(options.insecureAcceptHostKeys ? { insecureAcceptHostKeys: true } : {}),
      images: imageSettings(options.loaded.config, options.env ?? process.env),
      signal: controller.signal,
      beforeStage: () => check(),
      onGroup: (name) =>
        store.update((s) => {
          const j = s.jobs[job.id];
          if (j) j.group = name;
        }),
    });
  } catch (err) {
    // The template itself is unusable (or the machinery broke before any stage): no retry helps.
    planError = isUserError(err) ? err.line : errorMessage(err);
    log.error(planError);
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener('abort', onShutdown);
  }

  const outcome = result ?? failedResult(job, planError ?? 'failed', store.jobDir(job.id));
  const finished = await store.update((state) =>
    finishJobRecord(state, job.id, outcome, options.now(), { maxInfraRetries, noRetry: planError !== undefined }),
  );
  const line = `${finished.job.status}: ${finished.job.message}`;
  if (finished.job.status === 'success') log.info(line);
  else log.warn(line);
  return { id: job.id, status: finished.job.status, message: finished.job.message, ...(finished.retry ? { retry: finished.retry.id } : {}) };
}

function failedResult(job: Job, message: string, logDir: string): PipelineResult {
  return {
    jobId: job.id,
    template: job.template,
    status: 'infra_failed',
    message,
    stages: [],
    summary: emptySummary(),
    skipped: [],
    failedTests: [],
    suites: [],
    sources: [],
    kept: false,
    logDir,
    timing: { wallMs: 0, remoteMs: 0, overheadMs: 0 },
  };
}
