import dns from 'node:dns/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LogHostConfig } from '../config/schema.js';
import { InfraError, UserError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Job } from '../model.js';
import { expandHome, type Env } from '../paths.js';
import { SshConnection, targetLabel, type SshTarget } from '../ssh/connection.js';
import { userKnownHostsFile } from '../ssh/known-hosts.js';
import { backoffDelay } from '../ssh/pool.js';
import type { Store } from '../store/types.js';
import { outboxOf, type Outbox } from './outbox.js';
import { deliveryVerdict, formatBytes, type OutboxEntry } from './plan.js';
import { uploadJobDir } from './upload.js';

export interface LogShippingOptions {
  store: Store;
  logHost: LogHostConfig;
  logger: Logger;
  now: () => Date;
  env: Env;
  worker: string;
  /** First wait after a failed try; doubles up to logHost.retryMaxSeconds. */
  retryInitialMs?: number;
}

export interface ShippingReport {
  delivered: string[];
  waiting: string[];
  dropped: string[];
}

/** The log host as an SSH target: its key must be known (never accepted blindly: logs go there). */
export function logHostTarget(config: LogHostConfig, env: Env): SshTarget {
  return {
    address: config.host,
    port: config.port,
    user: config.user ?? env.USER ?? os.userInfo().username,
    ...(config.identityFile ? { identityFile: config.identityFile } : {}),
    knownHostsFiles: [config.knownHosts ? expandHome(config.knownHosts, env) : userKnownHostsFile(env)],
  };
}

/**
 * Whether the log host's directory is this worker's own jobs directory (a worker on the control
 * host sharing its config): its logs are home already, and sending them would replace them by themselves.
 */
export async function logsAlreadyHome(config: LogHostConfig, jobsDir: string): Promise<boolean> {
  if (path.resolve(config.dir) !== path.resolve(jobsDir)) return false;
  const here = new Set(Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
  if (config.host === os.hostname() || config.host === 'localhost') return true;
  const addresses = await dns.lookup(config.host, { all: true }).catch(() => []);
  return addresses.some((a) => here.has(a.address) || a.address.startsWith('127.'));
}

/** Puts a finished run's logs in the worker's outbox; called before its result is recorded, so nothing falls between. */
export function queueJobLogs(options: Pick<LogShippingOptions, 'store' | 'now' | 'worker'>, job: Job): void {
  const at = options.now().toISOString();
  outboxOf(options.store.dataDir).put({ job: job.id, ...(job.startedAt ? { startedAt: job.startedAt } : {}), worker: options.worker, queuedAt: at, attempts: 0, nextAt: at });
}

/**
 * Sends every waiting job directory that is due (all of them with `everything`) to the log host
 * over one SSH connection. A try that fails leaves the entry in the outbox for a later one, after
 * a doubling wait; a job the store shows re-run or gone is dropped from it.
 */
export async function shipWaitingLogs(options: LogShippingOptions, everything = false): Promise<ShippingReport> {
  const outbox = outboxOf(options.store.dataDir);
  const report: ShippingReport = { delivered: [], waiting: [], dropped: [] };
  const now = options.now();
  const due = outbox.list().filter((e) => everything || Date.parse(e.nextAt) <= now.getTime());
  const ready = await sortOut(due, outbox, options, report);
  if (ready.length === 0) return report;
  let conn: SshConnection;
  try {
    conn = await SshConnection.open(logHostTarget(options.logHost, options.env), { env: options.env, readyTimeoutMs: 10_000 });
  } catch (err) {
    for (const entry of ready) retryLater(outbox, entry, err, options, report);
    return report;
  }
  try {
    const lost = connectionLost(conn);
    lost.catch(() => undefined);
    for (const entry of ready) await shipOne(conn, lost, outbox, entry, options, report);
  } finally {
    await conn.close();
  }
  return report;
}

/** The entries to send now; those whose job is not finished wait, those of a re-run or vanished job are dropped. */
async function sortOut(due: OutboxEntry[], outbox: Outbox, options: LogShippingOptions, report: ShippingReport): Promise<OutboxEntry[]> {
  const ready: OutboxEntry[] = [];
  for (const entry of due) {
    const verdict = fs.existsSync(options.store.jobDir(entry.job))
      ? deliveryVerdict(entry, await options.store.getJob(entry.job))
      : ({ action: 'drop', why: `${options.store.jobDir(entry.job)} is gone from this machine (sending it would empty the log host's copy)` } as const);
    if (verdict.action === 'deliver') ready.push(entry);
    else if (verdict.action === 'wait') report.waiting.push(entry.job);
    else {
      options.logger.child(entry.job).info(`logs of this run not sent: ${verdict.why}`);
      outbox.remove(entry.job);
      report.dropped.push(entry.job);
    }
  }
  return ready;
}

async function shipOne(conn: SshConnection, lost: Promise<never>, outbox: Outbox, entry: OutboxEntry, options: LogShippingOptions, report: ShippingReport): Promise<void> {
  try {
    const localDir = options.store.jobDir(entry.job);
    const upload = uploadJobDir(conn, localDir, options.logHost.dir, entry.job, Math.floor(options.logHost.maxJobMiB * 1024 * 1024));
    upload.catch(() => undefined);
    const { plan, truncated } = await Promise.race([upload, lost]);
    outbox.remove(entry.job);
    if (!options.logHost.keepLocal) fs.rmSync(localDir, { recursive: true, force: true });
    const cut = truncated ? `; cut to ${formatBytes(plan.sentBytes)} of ${formatBytes(plan.totalBytes)}, see TRUNCATED.txt` : '';
    options.logger.child(entry.job).info(`logs delivered to ${options.logHost.host}:${path.posix.join(options.logHost.dir, entry.job)} (${plan.send.length} file(s), ${formatBytes(plan.sentBytes)}${cut})`);
    report.delivered.push(entry.job);
  } catch (err) {
    retryLater(outbox, entry, err, options, report);
  }
}

/** Rejects when the connection closes: an SFTP write in flight is never told that its host went away. */
function connectionLost(conn: SshConnection): Promise<never> {
  return new Promise<never>((_, reject) => {
    const lost = () => reject(new InfraError(`${targetLabel(conn.target)}: the connection to the log host was lost during the upload`));
    if (conn.closed) lost();
    else conn.onClose(lost);
  });
}

function retryLater(outbox: Outbox, entry: OutboxEntry, err: unknown, options: LogShippingOptions, report: ShippingReport): void {
  const attempts = entry.attempts + 1;
  const delay = backoffDelay(attempts, options.retryInitialMs ?? 2000, options.logHost.retryMaxSeconds * 1000);
  const nextAt = new Date(options.now().getTime() + delay).toISOString();
  outbox.put({ ...entry, attempts, nextAt, lastError: errorMessage(err) });
  options.logger.child(entry.job).warn(`logs not delivered yet (try ${attempts}): ${errorMessage(err)}; trying again in ${(delay / 1000).toFixed(1)} s`);
  report.waiting.push(entry.job);
}

/**
 * The worker's log shipping: tries what is due every `tickMs` and at once after a job ends
 * (`kick`), one round at a time; `stop` makes one last try of everything waiting.
 */
export function startLogShipping(options: LogShippingOptions, tickMs = 1000): { kick: () => void; stop: () => Promise<void> } {
  let round: Promise<unknown> = Promise.resolve();
  let again = false;
  let stopped = false;
  const run = (everything = false) => {
    again = true;
    round = round.then(async () => {
      if (!again) return;
      again = false;
      await shipWaitingLogs(options, everything).catch((err) => options.logger.warn(`log shipping: ${errorMessage(err)}`));
    });
    return round;
  };
  const timer = setInterval(() => void (stopped || run()), tickMs);
  timer.unref();
  void run();
  return {
    kick: () => void run(),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await round;
      await run(true);
    },
  };
}

export interface OutboxReport {
  /** `host:dir` the logs go to. */
  logHost?: string;
  delivered: string[];
  dropped: string[];
  /** What still waits, after the delivery when one was asked for. */
  waiting: OutboxEntry[];
}

/** `firestack outbox`: what waits in this machine's outbox, after sending all of it now with `deliver`. */
export async function reviewOutbox(options: Omit<LogShippingOptions, 'logHost' | 'worker'> & { logHost?: LogHostConfig; deliver: boolean }): Promise<OutboxReport> {
  const { logHost } = options;
  const report: OutboxReport = { ...(logHost ? { logHost: `${logHost.host}:${logHost.dir}` } : {}), delivered: [], dropped: [], waiting: [] };
  if (options.deliver) {
    if (!logHost) throw new UserError('firestack outbox --deliver: the config names no logHost to send job logs to', { hint: 'see logHost in docs/configuration.md' });
    const shipped = await shipWaitingLogs({ ...options, logHost, worker: 'firestack outbox' }, true);
    report.delivered = shipped.delivered;
    report.dropped = shipped.dropped;
  }
  report.waiting = outboxOf(options.store.dataDir).list();
  return report;
}
