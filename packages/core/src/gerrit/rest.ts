import { InfraError, UserError, errorMessage } from '../errors.js';
import type { GerritConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Account, Change, ChangeMessage } from '../model.js';
import { HttpClient, HttpNetworkError, type HttpResponse } from '../net/http.js';
import type { BackoffOptions } from '../net/retry.js';
import { accountFromRest, changeFromRest, restChangeId } from './map.js';
import { messagesFromRest } from './messages.js';
import { openChangesQuery, updatedChangesQuery } from './query.js';
import type { ChangeOption, RestAccountInfo, RestChangeInfo, ReviewInput } from './wire.js';

export interface GerritRestOptions {
  /** Web URL of the Gerrit server, e.g. https://review.example.org */
  url: string;
  username?: string;
  /** HTTP password; with a username, calls go to the authenticated /a/ endpoints. */
  password?: string;
  timeoutMs?: number;
  /** Retries after the first try on 5xx, 429 and network errors. */
  retries?: number;
  pageSize?: number;
  backoff?: BackoffOptions;
  /** Longest Retry-After the client honours before it gives up waiting that long. */
  maxRetryAfterMs?: number;
  logger?: Logger;
  random?: () => number;
}

/** An HTTP answer from Gerrit that is not a success. */
export class GerritHttpError extends InfraError {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
  }
}

/** CURRENT_COMMIT: the commit message, for its Depends-On footers. */
export const CHANGE_OPTIONS: ChangeOption[] = ['CURRENT_REVISION', 'CURRENT_COMMIT', 'DETAILED_ACCOUNTS', 'LABELS'];

export interface QueryOptions {
  options?: ChangeOption[];
  /** Stop after this many changes (all pages when absent). */
  limit?: number;
}

/** Strips Gerrit's XSSI guard line `)]}'` and parses the JSON body. */
export function parseGerritJson(body: string): unknown {
  const text = body.startsWith(")]}'") ? body.slice(body.indexOf('\n') + 1) : body;
  if (text.trim() === '') return undefined;
  return JSON.parse(text);
}

/**
 * Gerrit REST client: /a/ with HTTP Basic when a password is known, the XSSI line stripped,
 * n/S paging until `_more_changes` is gone, a timeout on every call, and the retries of net/:
 * 429 (honouring Retry-After) and refused connections always, 5xx, resets and cut answers for reads.
 */
export class GerritRestClient {
  readonly baseUrl: string;
  private readonly auth?: string;
  private readonly timeoutMs: number;
  readonly pageSize: number;
  private readonly http: HttpClient;

  constructor(private readonly options: GerritRestOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    if (options.username && options.password) {
      this.auth = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
      options.logger?.addSecret(options.password);
      options.logger?.addSecret(this.auth.slice(6));
    }
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.pageSize = options.pageSize ?? 500;
    this.http = new HttpClient({
      timeoutMs: this.timeoutMs,
      retry: { retries: options.retries ?? 5, backoff: options.backoff ?? { baseMs: 500, maxMs: 30_000 }, maxRetryAfterMs: options.maxRetryAfterMs, random: options.random },
      headers: { Accept: 'application/json', ...(this.auth ? { Authorization: this.auth } : {}) },
      onRetry: (why, delay) => options.logger?.debug(`gerrit: ${why}; retrying in ${delay} ms`),
    });
  }

  /** Every HTTP request sent, retries included. */
  get requestCount(): number {
    return this.http.requests;
  }

  /** A client from the `gerrit:` config section and the HTTP password (if any). */
  static fromConfig(gerrit: GerritConfig, extra: { password?: string; logger?: Logger; backoff?: BackoffOptions } = {}): GerritRestClient {
    return new GerritRestClient({
      url: gerrit.url,
      username: gerrit.username,
      password: extra.password,
      timeoutMs: gerrit.timeoutMs,
      retries: gerrit.retries,
      pageSize: gerrit.pageSize,
      backoff: extra.backoff,
      logger: extra.logger,
    });
  }

  get authenticated(): boolean {
    return this.auth !== undefined;
  }

  private endpoint(path: string, query?: URLSearchParams): string {
    const qs = query && [...query.keys()].length ? `?${query.toString()}` : '';
    return `${this.baseUrl}${this.auth ? '/a' : ''}${path}${qs}`;
  }

  /** One call with retries; 404 resolves to undefined when `allow404`. */
  async request(method: 'GET' | 'POST', path: string, init: { query?: URLSearchParams; body?: unknown; allow404?: boolean } = {}): Promise<unknown> {
    const shown = `${method} ${path}`;
    let response: HttpResponse;
    let parsed: { value?: unknown; invalid?: string } = {};
    try {
      response = await this.http.send({
        method,
        url: this.endpoint(path, init.query),
        body: init.body,
        headers: init.body === undefined ? undefined : { 'Content-Type': 'application/json; charset=UTF-8' },
        label: shown,
        // A body cut by a dropped connection is as transient as the drop itself.
        truncated: (answer) => (parsed = readGerritJson(answer.text)).invalid,
      });
    } catch (err) {
      if (!(err instanceof HttpNetworkError)) throw err;
      const failure = err.timedOut ? `timed out after ${this.timeoutMs} ms` : err.reason;
      throw new InfraError(`gerrit: ${this.baseUrl}: ${shown}: ${failure} (after ${err.tries} tries)`);
    }
    if (response.status >= 200 && response.status < 300) {
      if (parsed.invalid) throw new InfraError(`gerrit: ${this.baseUrl}: ${shown}: invalid JSON from Gerrit (${parsed.invalid})`);
      return parsed.value;
    }
    if (response.status === 404 && init.allow404) return undefined;
    if (response.status === 401) {
      throw new UserError(`gerrit: ${this.baseUrl}: authentication failed for user "${this.options.username ?? '(none)'}"`, {
        hint: 'check gerrit.username and the HTTP password (GERRIT_HTTP_PASSWORD, ~/.netrc or "bellows login")',
      });
    }
    const snippet = response.text.trim().split('\n')[0]?.slice(0, 200) ?? '';
    throw new GerritHttpError(`gerrit: ${this.baseUrl}: ${shown}: HTTP ${response.status}${snippet ? `: ${snippet}` : ''}`, response.status, response.text);
  }

  /**
   * Raw ChangeInfos for a search, following `_more_changes` across pages: by the last change's
   * `_sortkey` (N=) on servers that give one (before 2.9, they ignore S=), else by offset (S=).
   * A page that brings no change not already seen means the server does not page: that is an error
   * naming the server, never another request.
   */
  async queryChangeInfos(query: string, options: QueryOptions = {}): Promise<RestChangeInfo[]> {
    const byNumber = new Map<string, RestChangeInfo>();
    const out: RestChangeInfo[] = [];
    let next: { S?: number; N?: string } = {};
    for (;;) {
      const page = await this.changesPage(query, options.options ?? CHANGE_OPTIONS, next);
      let fresh = 0;
      for (const [i, info] of page.entries()) {
        if (!info || typeof info !== 'object' || Array.isArray(info)) {
          this.options.logger?.warn(`gerrit: GET /changes/?q=${query}: entry ${(next.S ?? 0) + i + 1} is ${JSON.stringify(info)?.slice(0, 80)}, not a change (skipped)`);
          continue;
        }
        // Paging by offset over a list sorted by `updated` can show a change twice; keep the newest.
        const key = String(info?._number ?? info?.id);
        const seen = byNumber.get(key);
        if (seen) {
          if ((info.updated ?? '') > (seen.updated ?? '')) Object.assign(seen, info);
          continue;
        }
        byNumber.set(key, info);
        out.push(info);
        fresh++;
      }
      const last = page[page.length - 1];
      if (!last?._more_changes) break;
      if (options.limit !== undefined && out.length >= options.limit) break;
      if (fresh === 0) {
        throw new InfraError(
          `gerrit: ${this.baseUrl}: paging does not advance: the page after ${out.length} changes brought none not seen before (the server ignores S= and gives no _sortkey); raise gerrit.pageSize above ${out.length} or upgrade the server`,
        );
      }
      next = typeof last._sortkey === 'string' && last._sortkey ? { N: last._sortkey } : { S: (next.S ?? 0) + page.length };
    }
    for (const info of out) {
      delete info._more_changes;
      delete info._sortkey;
    }
    return options.limit !== undefined ? out.slice(0, options.limit) : out;
  }

  private async changesPage(query: string, options: ChangeOption[], next: { S?: number; N?: string }): Promise<RestChangeInfo[]> {
    const params = new URLSearchParams({ q: query, n: String(this.pageSize) });
    if (next.N !== undefined) params.set('N', next.N);
    else if (next.S) params.set('S', String(next.S));
    for (const o of options) params.append('o', o);
    const page = await this.request('GET', '/changes/', { query: params });
    if (!Array.isArray(page)) throw new InfraError(`gerrit: GET /changes/?q=${query}: expected a JSON array`);
    return page as RestChangeInfo[];
  }

  /** Changes matching a search, mapped to the model; malformed entries are skipped with a warning. */
  async queryChanges(query: string, options: QueryOptions = {}): Promise<Change[]> {
    const infos = await this.queryChangeInfos(query, options);
    const changes: Change[] = [];
    for (const info of infos) {
      try {
        changes.push(changeFromRest(info, { baseUrl: this.baseUrl }));
      } catch (err) {
        this.options.logger?.warn(`${errorMessage(err)} (skipped)`);
      }
    }
    return changes;
  }

  /** Every open change of a project branch, all pages. */
  fetchOpenChanges(project: string, branch: string, options: QueryOptions = {}): Promise<Change[]> {
    return this.queryChanges(openChangesQuery(project, branch), options);
  }

  /** Open and closed changes of a project branch updated since `since`. */
  fetchChangesUpdatedSince(project: string, branch: string, since: Date, options: QueryOptions = {}): Promise<Change[]> {
    return this.queryChanges(updatedChangesQuery(project, branch, since), options);
  }

  /** One change by `project~number` (or any id Gerrit accepts); undefined when Gerrit does not know it. */
  async getChange(id: string | { project: string; number: number }, options: ChangeOption[] = CHANGE_OPTIONS): Promise<Change | undefined> {
    const changeId = typeof id === 'string' ? id : restChangeId(id.project, id.number);
    const params = new URLSearchParams();
    for (const o of options) params.append('o', o);
    const info = await this.request('GET', `/changes/${changeId}`, { query: params, allow404: true });
    return info === undefined ? undefined : changeFromRest(info as RestChangeInfo, { baseUrl: this.baseUrl });
  }

  /** One change with its current revision and every message on it (what was already posted); undefined when Gerrit does not know it. */
  async getChangeWithMessages(id: { project: string; number: number }): Promise<{ change: Change; messages: ChangeMessage[] } | undefined> {
    const params = new URLSearchParams();
    for (const o of ['CURRENT_REVISION', 'DETAILED_ACCOUNTS', 'MESSAGES'] satisfies ChangeOption[]) params.append('o', o);
    const info = (await this.request('GET', `/changes/${restChangeId(id.project, id.number)}`, { query: params, allow404: true })) as RestChangeInfo | undefined;
    if (info === undefined) return undefined;
    return { change: changeFromRest(info, { baseUrl: this.baseUrl }), messages: messagesFromRest(info.messages) };
  }

  /** Posts a review (message, labels, tag) on one revision of a change. */
  async postReview(change: string | { project: string; number: number }, revision: string, input: ReviewInput): Promise<void> {
    const changeId = typeof change === 'string' ? change : restChangeId(change.project, change.number);
    await this.request('POST', `/changes/${changeId}/revisions/${encodeURIComponent(revision)}/review`, { body: input });
  }

  /** The account the client is authenticated as. */
  async getSelf(): Promise<Account> {
    return accountFromRest((await this.request('GET', '/accounts/self')) as RestAccountInfo);
  }
}

/** A success's body as Gerrit JSON, or why it is not (cut short by a dropped connection). */
function readGerritJson(body: string): { value?: unknown; invalid?: string } {
  try {
    return { value: parseGerritJson(body) };
  } catch (err) {
    return { invalid: errorMessage(err) };
  }
}
