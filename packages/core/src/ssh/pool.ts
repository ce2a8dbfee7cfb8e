import { InfraError, errorMessage } from '../errors.js';
import { backoffWithJitter, sleep } from '../net/retry.js';
import { SshConnection, isRetryableConnectError, targetLabel, type SshConnectOptions, type SshTarget } from './connection.js';

export interface RetryOptions {
  /** Give up after this long (default 180 s: enough for a cloud server to boot). */
  timeoutMs?: number;
  /** First wait between attempts; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log "waiting for web: connection refused". */
  onRetry?: (attempt: number, error: Error, delayMs: number) => void;
}

/**
 * The reconnect schedule for a booting host (1-based attempt): the shared capped backoff, doubling
 * from `initial`, spread ±20% around the doubling (a third of 1.2× the step is jitter).
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  return backoffWithJitter(attempt - 1, { baseMs: initialMs * 1.2, maxMs: maxMs * 1.2, jitter: 1 / 3 }, random);
}

/**
 * Connects, retrying with bounded backoff while the host boots (port closed, handshake timeout,
 * auth refused before the key is installed). Host-key problems fail at once.
 */
export async function connectWithRetry(target: SshTarget, options: SshConnectOptions & RetryOptions = {}): Promise<SshConnection> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  let attempt = 0;
  for (;;) {
    attempt += 1;
    try {
      const remaining = Math.max(1000, deadline - Date.now());
      // A stop ends the waiting between attempts; the attempt under way finishes (its host may just be slow).
      return await SshConnection.open(target, { ...options, signal: undefined, readyTimeoutMs: Math.min(options.readyTimeoutMs ?? 20_000, remaining) });
    } catch (err) {
      if (!isRetryableConnectError(err)) throw err;
      const delay = backoffDelay(attempt, options.initialDelayMs ?? 250, options.maxDelayMs ?? 5000);
      if (Date.now() + delay > deadline || options.signal?.aborted) {
        throw new InfraError(
          `${targetLabel(target)}: not reachable over SSH after ${Math.round(timeoutMs / 1000)} s and ${attempt} attempt(s): ${errorMessage(err).replace(`${targetLabel(target)}: `, '')}`,
          { cause: err },
        );
      }
      options.onRetry?.(attempt, err as Error, delay);
      await sleep(delay, options.signal);
    }
  }
}

export function poolKey(target: Pick<SshTarget, 'user' | 'address' | 'port'>): string {
  return `${target.user}@${target.address}:${target.port}`;
}

/**
 * One SSH connection per host, shared by every command of a job or CLI run. A closed
 * connection is reopened on the next acquire. Close the pool when the run ends.
 */
export class SshPool {
  private readonly connections = new Map<string, Promise<SshConnection>>();
  /** Connections opened over the pool's life (for tests and diagnostics). */
  opened = 0;

  constructor(private readonly defaults: SshConnectOptions & RetryOptions = {}) {}

  acquire(target: SshTarget, options: SshConnectOptions & RetryOptions = {}): Promise<SshConnection> {
    const key = poolKey(target);
    const existing = this.connections.get(key);
    if (existing) {
      return existing.then(
        (conn) => (conn.closed ? this.open(key, target, options) : conn),
        () => this.open(key, target, options),
      );
    }
    return this.open(key, target, options);
  }

  private open(key: string, target: SshTarget, options: SshConnectOptions & RetryOptions): Promise<SshConnection> {
    const pending = connectWithRetry(target, { ...this.defaults, ...options }).then((conn) => {
      this.opened += 1;
      conn.onClose(() => {
        if (this.connections.get(key) === pending) this.connections.delete(key);
      });
      return conn;
    });
    this.connections.set(key, pending);
    pending.catch(() => {
      if (this.connections.get(key) === pending) this.connections.delete(key);
    });
    return pending;
  }

  get size(): number {
    return this.connections.size;
  }

  /** Closes one host's connection (e.g. after the host is released). */
  async release(target: Pick<SshTarget, 'user' | 'address' | 'port'>): Promise<void> {
    const key = poolKey(target);
    const pending = this.connections.get(key);
    this.connections.delete(key);
    if (pending) await pending.then((c) => c.close(), () => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close(), () => undefined)));
  }
}
