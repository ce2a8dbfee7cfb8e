import type https from 'node:https';
import type { AxiosInstance, AxiosResponse, AxiosStatic } from 'axios';
import { InfraError } from '../errors.js';
import { lazyVendored } from '../lazy.js';
import { isRetryable, parseRetryAfter, requestNeverSent, retryDelay, sleep, type RetryPolicy, type TryOutcome } from './retry.js';

/**
 * axios's CommonJS build bundled into one file with what it requires (scripts/bundle-vendor.mjs), loaded
 * on the first request: `import('axios')` loads its ES modules one by one (66 of them), and even its
 * CommonJS build costs about 60 ms more than node's own start, where the bundle costs about 20.
 */
const axios = lazyVendored<AxiosStatic>('axios');

export interface HttpClientOptions {
  /** Deadline of one try, connection and whole body included. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** Sent on every request (Accept, Authorization…). */
  headers?: Record<string, string>;
  httpsAgent?: https.Agent;
  /** Redirects followed (default 5; OpenStack wants none). */
  maxRedirects?: number;
  /** Told before each wait, e.g. to log "GET /changes/: HTTP 503; retrying in 500 ms". */
  onRetry?: (why: string, delayMs: number) => void;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  query?: URLSearchParams | Record<string, string>;
  headers?: Record<string, string>;
  /** Sent as is when a string, else as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  /** Safe to send twice; default: every method but POST. */
  idempotent?: boolean;
  /** Names why a 2xx answer is unusable (a body cut short), which is retried like a dropped connection. */
  truncated?: (response: HttpResponse) => string | undefined;
  /** How the request is named in retry notes, e.g. "GET /changes/". */
  label?: string;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  text: string;
  /** Tries it took, this one included. */
  tries: number;
}

/** No answer: the connection failed, timed out or was aborted, after `tries` tries. Carries no request data (no credentials). */
export class HttpNetworkError extends InfraError {
  constructor(
    /** What went wrong in a word or two: an errno code (ECONNREFUSED), "timed out", "aborted". */
    readonly reason: string,
    readonly tries: number,
    readonly timedOut: boolean,
    readonly aborted: boolean,
  ) {
    super(reason);
  }
}

type TryResult = { response: HttpResponse; outcome?: TryOutcome; why?: string } | { error: HttpNetworkError; outcome: TryOutcome; why: string };

/**
 * The one HTTP client of SmokeStack (axios, loaded on first use): a deadline on every try, and
 * the retry policy of `net/retry.ts` — connection errors, 429 with its Retry-After and 5xx,
 * the last two only where the request is idempotent — with capped exponential backoff and jitter.
 * Error statuses are answers, not exceptions: the caller says what they mean.
 */
export class HttpClient {
  /** Every request sent, retries included. */
  requests = 0;
  private axiosInstance?: AxiosInstance;

  constructor(private readonly options: HttpClientOptions) {}

  async send(request: HttpRequest): Promise<HttpResponse> {
    const idempotent = request.idempotent ?? request.method !== 'POST';
    for (let attempt = 0; ; attempt++) {
      const result = await this.tryOnce(request, attempt + 1);
      const done = !result.outcome || attempt >= this.options.retry.retries || request.signal?.aborted || !isRetryable(result.outcome, idempotent);
      if (done) {
        if ('error' in result) throw result.error;
        return result.response;
      }
      const retryAfterMs = result.outcome?.kind === 'status' ? result.outcome.retryAfterMs : undefined;
      const delay = retryDelay(this.options.retry, attempt, retryAfterMs);
      this.options.onRetry?.(`${request.label ?? `${request.method} ${new URL(request.url).pathname}`}: ${result.why}`, delay);
      await sleep(delay, request.signal);
    }
  }

  private async tryOnce(request: HttpRequest, tries: number): Promise<TryResult> {
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const signal = request.signal ? AbortSignal.any([deadline, request.signal]) : deadline;
    let raw: AxiosResponse<string>;
    this.requests++;
    try {
      raw = await (await this.client()).request<string>({ method: request.method, url: withQuery(request.url, request.query), ...body(request), signal });
    } catch (err) {
      const aborted = request.signal?.aborted ?? false;
      const timedOut = !aborted && deadline.aborted;
      const code = (err as { code?: string }).code;
      const reason = aborted ? 'aborted' : timedOut ? 'timed out' : (code ?? (err as Error).message);
      return { error: new HttpNetworkError(reason, tries, timedOut, aborted), outcome: { kind: 'network', sent: timedOut || !requestNeverSent(code) }, why: timedOut ? `timed out after ${this.options.timeoutMs} ms` : reason };
    }
    const response: HttpResponse = { status: raw.status, headers: plainHeaders(raw.headers), text: typeof raw.data === 'string' ? raw.data : String(raw.data ?? ''), tries };
    if (response.status >= 200 && response.status < 300) {
      const cut = request.truncated?.(response);
      return cut ? { response, outcome: { kind: 'truncated' }, why: cut } : { response };
    }
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], new Date());
    return { response, outcome: { kind: 'status', status: response.status, retryAfterMs }, why: `HTTP ${response.status}` };
  }

  private async client(): Promise<AxiosInstance> {
    if (!this.axiosInstance) {
      this.axiosInstance ??= axios().create({
        headers: { 'User-Agent': 'smokestack', ...this.options.headers },
        httpsAgent: this.options.httpsAgent,
        maxRedirects: this.options.maxRedirects ?? 5,
        responseType: 'text',
        // The caller parses: Gerrit's answers start with an XSSI guard line.
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
      });
    }
    return this.axiosInstance;
  }
}

function withQuery(url: string, query: HttpRequest['query']): string {
  if (!query) return url;
  const params = query instanceof URLSearchParams ? query : new URLSearchParams(query);
  const text = params.toString();
  return text ? `${url}${url.includes('?') ? '&' : '?'}${text}` : url;
}

function body(request: HttpRequest): { data?: string; headers?: Record<string, string> } {
  if (request.body === undefined) return { headers: request.headers };
  if (typeof request.body === 'string') return { data: request.body, headers: request.headers };
  return { data: JSON.stringify(request.body), headers: { 'Content-Type': 'application/json', ...request.headers } };
}

function plainHeaders(headers: AxiosResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && value !== null) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
