export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay that is randomised (0..1); spreads reconnects of many clients. */
  jitter?: number;
}

/**
 * Capped exponential backoff with jitter for the given 0-based attempt: the delay lies between
 * `(1 - jitter)` and 1 times `min(maxMs, baseMs * 2^attempt)`, so it never exceeds the cap.
 * `random` is injectable for tests.
 */
export function backoffWithJitter(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt));
  const jitter = options.jitter ?? 0.5;
  return Math.round(exp * (1 - jitter) + exp * jitter * random());
}

/** Retry-After as seconds or an HTTP date, in milliseconds from `now`; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts: callers check the signal. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** What one try of a remote call came to, as the retry policy sees it. */
export type TryOutcome =
  /** An answer with this HTTP status (2xx, 4xx, 5xx…). */
  | { kind: 'status'; status: number; retryAfterMs?: number }
  /** The connection failed; `sent` is false when the request certainly never reached the server. */
  | { kind: 'network'; sent: boolean }
  /** A success whose body was cut short (a dropped connection mid-answer). */
  | { kind: 'truncated' };

/** Connection errors that happen before a request is written: safe to retry whatever the method. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export function requestNeverSent(code: string | undefined): boolean {
  return code !== undefined && NOT_SENT_CODES.has(code);
}

/**
 * Whether a try may be repeated. 429 (the server refused before doing anything) and connections
 * that never carried the request are always retried; 5xx, resets, timeouts and cut bodies only
 * for idempotent requests, which are safe to send twice. 501 and 505 never heal.
 */
export function isRetryable(outcome: TryOutcome, idempotent: boolean): boolean {
  switch (outcome.kind) {
    case 'status':
      if (outcome.status === 429) return true;
      return idempotent && outcome.status >= 500 && outcome.status !== 501 && outcome.status !== 505;
    case 'network':
      return !outcome.sent || idempotent;
    case 'truncated':
      return idempotent;
  }
}

export interface RetryPolicy {
  /** Tries after the first one. */
  retries: number;
  backoff: BackoffOptions;
  /** Longest Retry-After honoured; a longer one is waited for only this long. */
  maxRetryAfterMs?: number;
  random?: () => number;
}

/** The wait before try `attempt + 1`: the backoff, or the server's Retry-After when that is longer (capped). */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  const backoff = backoffWithJitter(attempt, policy.backoff, policy.random);
  return Math.max(backoff, Math.min(retryAfterMs ?? 0, policy.maxRetryAfterMs ?? 120_000));
}
