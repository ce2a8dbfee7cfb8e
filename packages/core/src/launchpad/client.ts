import { errorMessage } from '../errors.js';
import { HttpClient, HttpNetworkError, type HttpResponse } from '../net/http.js';
import type { BackoffOptions } from '../net/retry.js';
import type { LaunchpadCache, CachedAnswer, StoredAnswer } from './cache.js';

/** A bug task as Launchpad's `devel` API returns it in `bugs/N/bug_tasks`. */
export interface LaunchpadBugTask {
  bug_target_name?: string;
  importance?: string;
  status?: string;
  web_link?: string;
}

export interface LaunchpadBug {
  id?: number;
  title?: string;
  tags?: string[];
  web_link?: string;
}

/** A blueprint (`PROJECT/+spec/NAME`). */
export interface LaunchpadSpecification {
  name?: string;
  title?: string;
  priority?: string;
  definition_status?: string;
  implementation_status?: string;
  web_link?: string;
}

export interface LaunchpadClientOptions {
  /** API root, e.g. https://api.launchpad.net/devel */
  url: string;
  timeoutMs?: number;
  cache?: LaunchpadCache;
  /** How long a cached answer is used without asking Launchpad again. */
  cacheTtlSeconds?: number;
  /** Never touch the network: cached answers only, however old. */
  offline?: boolean;
  now?: () => number;
  /** Tries after the first on a connection error, 429 or 5xx (default 1: a report degrades rather than waits). */
  retries?: number;
  backoff?: BackoffOptions;
}

/** Launchpad could not answer (network, timeout, 5xx, 429, garbage): the caller degrades. */
export class LaunchpadUnavailableError extends Error {
  override readonly name = 'LaunchpadUnavailableError';
}

const MAX_PAGES = 50;

/**
 * Anonymous read-only client of Launchpad's `devel` web service. Every answer goes through a TTL
 * cache; after the first failure to reach Launchpad it stops trying for the rest of this client's
 * life (a report run), serving stale cached answers where it has them.
 */
export class LaunchpadClient {
  readonly base: string;
  /** Why Launchpad is considered unavailable for this run, once it is. */
  unavailable: string | undefined;
  /** Counters for tests, logs and benchmarks. */
  readonly stats = { requests: 0, cacheHits: 0, staleHits: 0 };
  readonly warnings: string[] = [];
  private readonly http: HttpClient;

  constructor(private readonly options: LaunchpadClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    if (options.offline) this.unavailable = 'offline';
    this.http = new HttpClient({
      timeoutMs: options.timeoutMs ?? 15_000,
      retry: { retries: options.retries ?? 1, backoff: options.backoff ?? { baseMs: 200, maxMs: 2000 }, maxRetryAfterMs: 10_000 },
      headers: { Accept: 'application/json' },
    });
  }

  async bug(id: number): Promise<LaunchpadBug | undefined> {
    return (await this.resource(`${this.base}/bugs/${id}`)) as LaunchpadBug | undefined;
  }

  /** Every task of a bug, following `next_collection_link` across pages. */
  async bugTasks(id: number): Promise<LaunchpadBugTask[] | undefined> {
    const tasks: LaunchpadBugTask[] = [];
    let url: string | undefined = `${this.base}/bugs/${id}/bug_tasks`;
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const body = (await this.resource(url)) as { entries?: LaunchpadBugTask[]; next_collection_link?: string } | undefined;
      if (!body) return page === 0 ? undefined : tasks;
      if (Array.isArray(body.entries)) tasks.push(...body.entries);
      url = body.next_collection_link ? this.sameOrigin(body.next_collection_link) : undefined;
    }
    return tasks;
  }

  async specification(project: string, name: string): Promise<LaunchpadSpecification | undefined> {
    const url = `${this.base}/${encodeURIComponent(project)}/+spec/${encodeURIComponent(name)}`;
    return (await this.resource(url)) as LaunchpadSpecification | undefined;
  }

  /** Reads the cache now: lookups it can answer are then answered at once (`cachedBugTasks`, `cachedBug`, `cachedSpecification`). */
  async loadCache(): Promise<void> {
    await this.options.cache?.load();
  }

  /** Every task of a bug from the cache alone, as `bugTasks` would answer; undefined when the cache cannot answer it whole. */
  cachedBugTasks(id: number): { answer: LaunchpadBugTask[] | undefined } | undefined {
    const tasks: LaunchpadBugTask[] = [];
    const hits = { fresh: 0, stale: 0 };
    let url: string | undefined = `${this.base}/bugs/${id}/bug_tasks`;
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const cached = this.cachedResource(url, hits);
      if (!cached) return undefined;
      const body = cached.body as { entries?: LaunchpadBugTask[]; next_collection_link?: string } | undefined;
      if (!body) return this.counted(hits, { answer: page === 0 ? undefined : tasks });
      if (Array.isArray(body.entries)) tasks.push(...body.entries);
      try {
        url = body.next_collection_link ? this.sameOrigin(body.next_collection_link) : undefined;
      } catch {
        return undefined;
      }
    }
    return this.counted(hits, { answer: tasks });
  }

  /** A bug from the cache alone, as `bug` would answer; undefined when the cache cannot answer. */
  cachedBug(id: number): { answer: LaunchpadBug | undefined } | undefined {
    const hits = { fresh: 0, stale: 0 };
    const cached = this.cachedResource(`${this.base}/bugs/${id}`, hits);
    return cached && this.counted(hits, { answer: cached.body as LaunchpadBug | undefined });
  }

  /** A blueprint from the cache alone, as `specification` would answer; undefined when the cache cannot answer. */
  cachedSpecification(project: string, name: string): { answer: LaunchpadSpecification | undefined } | undefined {
    const hits = { fresh: 0, stale: 0 };
    const cached = this.cachedResource(`${this.base}/${encodeURIComponent(project)}/+spec/${encodeURIComponent(name)}`, hits);
    return cached && this.counted(hits, { answer: cached.body as LaunchpadSpecification | undefined });
  }

  /** What `resource` would answer from the cache without asking Launchpad: a fresh answer, or any answer once Launchpad is unavailable. */
  private cachedResource(url: string, hits: { fresh: number; stale: number }): { body: unknown } | undefined {
    const cached = this.options.cache?.peek(url);
    if (!cached) return undefined;
    const ttlMs = (this.options.cacheTtlSeconds ?? 3600) * 1000;
    if ((this.options.now ?? Date.now)() - cached.fetchedAt < ttlMs) hits.fresh++;
    else if (this.unavailable) hits.stale++;
    else return undefined;
    return { body: cached.body };
  }

  /** Counts the cache's answers once a lookup was answered whole from it. */
  private counted<T>(hits: { fresh: number; stale: number }, answer: T): T {
    this.stats.cacheHits += hits.fresh;
    this.stats.staleHits += hits.stale;
    return answer;
  }

  private sameOrigin(link: string): string {
    let next: URL;
    try {
      next = new URL(link);
    } catch {
      throw new LaunchpadUnavailableError(`bad next_collection_link ${JSON.stringify(link)}`);
    }
    if (next.origin !== new URL(this.base).origin) {
      throw new LaunchpadUnavailableError(`next_collection_link points at another host (${next.origin})`);
    }
    return next.toString();
  }

  /** The JSON body at `url`, or undefined when Launchpad says it does not exist (or is private). */
  async resource(url: string): Promise<unknown> {
    const now = this.options.now ?? Date.now;
    const cache = this.options.cache;
    const cached = cache ? await cache.get(url) : undefined;
    const ttlMs = (this.options.cacheTtlSeconds ?? 3600) * 1000;
    if (cached && now() - cached.fetchedAt < ttlMs) {
      this.stats.cacheHits++;
      return cached.body;
    }
    if (this.unavailable) return this.stale(cached, this.unavailable);
    let answer: CachedAnswer;
    try {
      answer = await this.fetchAnswer(url, now());
    } catch (err) {
      this.unavailable = errorMessage(err);
      return this.stale(cached, this.unavailable);
    }
    cache?.set(answer);
    return answer.body;
  }

  /** Writes this run's answers to the cache; a cache that cannot be read or written only costs a warning. */
  async flush(): Promise<void> {
    const cache = this.options.cache;
    if (!cache) return;
    await cache.flush((this.options.now ?? Date.now)()).catch((err: unknown) => this.warnOnce(`cannot write the Launchpad cache ${cache.file}: ${errorMessage(err)}`));
    if (cache.problem) this.warnOnce(cache.problem);
  }

  private stale(cached: StoredAnswer | undefined, why: string): unknown {
    if (!cached) throw new LaunchpadUnavailableError(why);
    this.stats.staleHits++;
    return cached.body;
  }

  private warnOnce(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  private async fetchAnswer(url: string, fetchedAt: number): Promise<CachedAnswer> {
    let response: HttpResponse;
    try {
      response = await this.http.send({ method: 'GET', url });
      this.stats.requests += response.tries;
    } catch (err) {
      if (!(err instanceof HttpNetworkError)) throw err;
      this.stats.requests += err.tries;
      throw new LaunchpadUnavailableError(err.timedOut ? `no answer within ${this.options.timeoutMs ?? 15_000} ms` : err.reason);
    }
    // Anonymous reads of private or deleted objects answer 401/403/404/410: treat as "no such thing".
    if ([401, 403, 404, 410].includes(response.status)) return { url, fetchedAt, status: 'missing' };
    if (response.status < 200 || response.status >= 300) throw new LaunchpadUnavailableError(`HTTP ${response.status} from ${new URL(url).host}`);
    try {
      return { url, fetchedAt, status: 'ok', body: slim(JSON.parse(response.text)) };
    } catch {
      throw new LaunchpadUnavailableError(`answer from ${new URL(url).host} is not JSON`);
    }
  }
}

/** The fields of bugs, bug tasks and blueprints this client's callers read; the cache keeps only these. */
const KEPT_FIELDS = new Set([
  'id', 'name', 'title', 'tags', 'web_link', 'bug_target_name', 'importance', 'status', 'priority',
  'definition_status', 'implementation_status', 'entries', 'next_collection_link', 'total_size',
]);

/** A Launchpad object without the dozens of links and fields nobody reads (a bug task has about fifty). */
export function slim(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!KEPT_FIELDS.has(key)) continue;
    out[key] = key === 'entries' && Array.isArray(value) ? value.map(slim) : value;
  }
  return out;
}
