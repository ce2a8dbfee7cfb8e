import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimChecks } from './checks.js';
import { SimRequestError } from './errors.js';
import { decideFault } from './faults.js';
import type { GitRepos } from './git.js';
import { accountInfo, changeInfo, LIST_CHANGES_OPTIONS } from './json.js';
import { QueryError, sortKey } from './query.js';
import type { ReviewInput, SimState } from './state.js';
import type { GerritFaults, SimAccount, SimChange, SimPatchSet, SimReview } from './types.js';

export const GERRIT_VERSION = '3.9.1';
const JSON_PREFIX = ")]}'\n";
const DETAIL_OPTIONS = ['LABELS', 'DETAILED_LABELS', 'DETAILED_ACCOUNTS', 'MESSAGES', 'REVIEWER_UPDATES'];

export interface RestDeps {
  state: SimState;
  faults(): GerritFaults;
  random(): number;
  countRequest(): void;
  /** how /changes/ pages (GerritSimOptions.paging) */
  paging?: 'offset' | 'sortkey' | 'first-page-only';
  git?: GitRepos;
  /** awaited after a review was accepted and before Gerrit answers (tests crash the client there) */
  reviewAccepted?: (review: SimReview) => Promise<void>;
  /** awaited after the answer to a change query or change GET was computed and before it is sent */
  beforeAnswer?: (path: string) => Promise<void>;
  /** what the REST API shows for a change instead of its ChangeInfo (tests of malformed answers) */
  corruptedInfo?: (number: number, info: Record<string, unknown>) => unknown;
  /** the checks plugin, when installed */
  checks?: SimChecks;
  /** scenario control under /_sim/ (not counted, never faulted); resolves true when it answered */
  control?: (req: IncomingMessage, res: ServerResponse, path: string, body: () => Promise<string>) => Promise<boolean>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, pretty = false): void {
  const text = JSON_PREFIX + JSON.stringify(body, null, pretty ? 2 : undefined) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const text = message.endsWith('\n') ? message : `${message}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function basicAuth(req: IncomingMessage, state: SimState): SimAccount | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return state.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1));
}

function nonNegativeInt(params: URLSearchParams, ...names: string[]): number | undefined {
  for (const name of names) {
    const raw = params.get(name);
    if (raw === null) continue;
    if (!/^\d+$/.test(raw)) throw new SimRequestError(400, `"${raw}" is not a valid value for "${name}"`);
    return Number(raw);
  }
  return undefined;
}

function parseOptions(params: URLSearchParams, extra: string[] = []): Set<string> {
  const options = new Set(extra);
  for (const raw of params.getAll('o')) {
    const o = raw.toUpperCase();
    if (!LIST_CHANGES_OPTIONS.has(o)) throw new SimRequestError(400, `"${raw}" is not a valid value for "-o"`);
    options.add(o);
  }
  return options;
}

export function createRestHandler(deps: RestDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      if (res.headersSent) { res.destroy(); return; }
      if (err instanceof SimRequestError) sendText(res, err.status, err.message);
      else if (err instanceof QueryError) sendText(res, 400, err.message);
      else sendText(res, 500, `Internal server error: ${(err as Error).message}`);
    });
  };
}

/** One REST call in flight: what every route reads. */
interface Call {
  deps: RestDeps;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  user: SimAccount | undefined;
  pretty: boolean;
}

async function handle(deps: RestDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gerrit.invalid');
  if (deps.control && url.pathname.startsWith('/_sim/')) {
    if (await deps.control(req, res, url.pathname.slice('/_sim'.length), () => readBody(req))) return;
  }
  deps.countRequest();
  if (await injectFault(deps, req, res)) return;

  let path = url.pathname;
  let user: SimAccount | undefined;
  if (path === '/a' || path.startsWith('/a/')) {
    user = basicAuth(req, deps.state);
    if (!user) {
      sendText(res, 401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="Gerrit Code Review"' });
      return;
    }
    path = path.slice(2) || '/';
  }
  if (deps.git && /\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(path)) {
    await serveGit(deps, req, res, path, url.search.slice(1));
    return;
  }
  await route({ deps, req, res, url, user, pretty: url.searchParams.get('pp') === '1' }, path.split('/').slice(1).map((s) => decodeURIComponent(s)));
}

/** Drops the request or answers it with an error, as the fault settings decide; true when it did. */
async function injectFault(deps: RestDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const faults = deps.faults();
  const fault = decideFault(faults, deps.random, req.method);
  if (faults.latencyMs) await sleep(faults.latencyMs);
  if (fault.kind === 'drop') {
    req.socket.destroy();
    return true;
  }
  if (fault.kind === 'error') {
    const text = { 500: 'Internal server error', 503: 'Service unavailable', 429: 'Too many requests' }[fault.status];
    sendText(res, fault.status, text, fault.status === 429 ? { 'Retry-After': '0' } : {});
    return true;
  }
  return false;
}

async function route(call: Call, segments: string[]): Promise<void> {
  const { res, user, pretty } = call;
  if (segments[0] === 'config' && segments[1] === 'server' && segments[2] === 'version') return sendJson(res, 200, GERRIT_VERSION, pretty);
  if (segments[0] === 'accounts' && segments[1] === 'self' && segments.length === 2) {
    if (!user) throw new SimRequestError(403, 'Authentication required');
    return sendJson(res, 200, accountInfo(user, true), pretty);
  }
  const { checks } = call.deps;
  if (checks && segments[0] === 'plugins' && segments[1] === 'checks' && segments[2] === 'checkers') return serveCheckers(call, checks, segments.slice(3));
  if (segments[0] !== 'changes') throw new SimRequestError(404, 'Not found');
  // GET /changes/?q=...
  if (segments.length === 1 || (segments.length === 2 && segments[1] === '')) return queryChanges(call);
  const change = call.deps.state.findChange(segments[1]!);
  if (!change) throw new SimRequestError(404, `Not found: ${segments[1]}`);
  const rest = segments.slice(2);
  if (checks && rest[0] === 'revisions' && rest[2] === 'checks' && rest.length <= 4) {
    const ps = call.deps.state.findPatchSet(change, rest[1]!);
    if (!ps) throw new SimRequestError(404, `Not found: ${rest[1]}`);
    return serveChecks(call, checks, { change, ps, uuid: rest[3] || undefined });
  }
  if (call.req.method === 'GET' || call.req.method === undefined) return getChange(call, change, rest);
  if (call.req.method !== 'POST') throw new SimRequestError(405, 'Method not allowed');
  return postToChange(call, change, rest);
}

async function queryChanges({ deps, req, res, url, user, pretty }: Call): Promise<void> {
  if ((req.method ?? 'GET') !== 'GET') throw new SimRequestError(405, 'Method not allowed');
  const params = url.searchParams;
  const options = parseOptions(params);
  const limit = nonNegativeInt(params, 'n', 'limit');
  const paging = deps.paging ?? 'offset';
  // Servers before 2.9 ignore S and resume after the sort key given as N.
  const start = paging === 'offset' ? (nonNegativeInt(params, 'S', 'start') ?? 0) : 0;
  const after = paging === 'sortkey' ? (params.get('N') ?? undefined) : undefined;
  const queries = params.getAll('q');
  const ctx = deps.state.renderContext();
  const lists = (queries.length ? queries : ['status:open']).map((q) => {
    const { changes, more } = deps.state.search(q, { limit: limit || undefined, start, after, self: user?.username });
    const infos: unknown[] = changes.map((c) => shown(deps, c.number, { ...changeInfo(c, options, ctx), ...(paging === 'sortkey' ? { _sortkey: sortKey(c) } : {}) }));
    const last = infos[infos.length - 1];
    if (more && last && typeof last === 'object') (last as Record<string, unknown>)._more_changes = true;
    return infos;
  });
  await deps.beforeAnswer?.(`${url.pathname}${url.search}`);
  sendJson(res, 200, queries.length > 1 ? lists : lists[0], pretty);
}

async function getChange({ deps, res, url, pretty }: Call, change: SimChange, rest: string[]): Promise<void> {
  const ctx = deps.state.renderContext();
  if (rest.length === 0) {
    const info = shown(deps, change.number, changeInfo(change, parseOptions(url.searchParams), ctx));
    await deps.beforeAnswer?.(`${url.pathname}${url.search}`);
    return sendJson(res, 200, info, pretty);
  }
  if (rest.length === 1 && rest[0] === 'detail') return sendJson(res, 200, changeInfo(change, parseOptions(url.searchParams, DETAIL_OPTIONS), ctx), pretty);
  if (rest.length === 1 && rest[0] === 'messages') return sendJson(res, 200, changeInfo(change, new Set(['MESSAGES', 'DETAILED_ACCOUNTS']), ctx).messages, pretty);
  throw new SimRequestError(404, 'Not found');
}

async function postToChange({ deps, req, res, user, pretty }: Call, change: SimChange, rest: string[]): Promise<void> {
  if (!user) throw new SimRequestError(403, 'Authentication required');
  const input = await readJsonObject(req);
  const state = deps.state;
  if (rest.length === 3 && rest[0] === 'revisions' && rest[2] === 'review') {
    const ps = state.findPatchSet(change, rest[1]!);
    if (!ps) throw new SimRequestError(404, `Not found: ${rest[1]}`);
    const labels = state.postReview(change, ps, user.username, validateReviewInput(input), 'rest');
    await deps.reviewAccepted?.(state.reviewLog[state.reviewLog.length - 1]!);
    return sendJson(res, 200, { labels }, pretty);
  }
  if (rest.length === 1 && (rest[0] === 'abandon' || rest[0] === 'restore')) {
    const reason = typeof input.message === 'string' ? input.message : undefined;
    if (rest[0] === 'abandon') {
      if (change.status !== 'NEW') throw new SimRequestError(409, `change is ${change.status.toLowerCase()}`);
      state.abandon(change.number, reason, user.username);
    } else {
      if (change.status !== 'ABANDONED') throw new SimRequestError(409, `change is ${change.status === 'NEW' ? 'new' : 'merged'}`);
      state.restore(change.number, reason, user.username);
    }
    return sendJson(res, 200, changeInfo(change, new Set(), state.renderContext()), pretty);
  }
  if (rest.length === 1 && (rest[0] === 'wip' || rest[0] === 'ready')) {
    if (change.status !== 'NEW') throw new SimRequestError(409, 'change is closed');
    state.setWip(change.number, rest[0] === 'wip', user.username);
    res.writeHead(200).end();
    return;
  }
  throw new SimRequestError(404, 'Not found');
}

/** GET /plugins/checks/checkers/{uuid}, POST /plugins/checks/checkers/ (authenticated, as Gerrit's "Administrate Checkers"). */
async function serveCheckers({ req, res, user, pretty }: Call, checks: SimChecks, rest: string[]): Promise<void> {
  if (!user) throw new SimRequestError(403, 'Authentication required');
  const method = req.method ?? 'GET';
  if (method === 'GET' && rest.length === 1 && rest[0]) {
    const { by: _by, ...info } = checks.getChecker(rest[0]);
    return sendJson(res, 200, info, pretty);
  }
  if (method === 'POST' && (rest.length === 0 || (rest.length === 1 && rest[0] === ''))) {
    const { by: _by, ...info } = checks.createChecker(await readJsonObject(req), user.username);
    return sendJson(res, 201, info, pretty);
  }
  throw new SimRequestError(rest.length <= 1 ? 405 : 404, rest.length <= 1 ? 'Method not allowed' : 'Not found');
}

/** GET (list or one) and POST (create or update) of the checks of one patch set. */
async function serveChecks({ req, res, user, pretty }: Call, checks: SimChecks, at: { change: SimChange; ps: SimPatchSet; uuid?: string }): Promise<void> {
  const method = req.method ?? 'GET';
  if (method === 'GET') return sendJson(res, 200, at.uuid ? checks.get(at.change, at.ps, at.uuid) : checks.list(at.change, at.ps), pretty);
  if (method !== 'POST') throw new SimRequestError(405, 'Method not allowed');
  if (!user) throw new SimRequestError(403, 'Authentication required');
  const input = await readJsonObject(req);
  if (at.uuid) input.checker_uuid ??= at.uuid;
  return sendJson(res, 200, checks.post(at.change, at.ps, input, user.username), pretty);
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  if (!body.trim()) return {};
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    throw new SimRequestError(400, 'Invalid JSON in request');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SimRequestError(400, 'Expected JSON object');
  return input as Record<string, unknown>;
}

/** A change's ChangeInfo as served: corrupted when a test asked for it. */
function shown(deps: RestDeps, number: number, info: Record<string, unknown>): unknown {
  return deps.corruptedInfo ? deps.corruptedInfo(number, info) : info;
}

export function validateReviewInput(input: Record<string, unknown>): ReviewInput {
  const review: ReviewInput = {};
  if (input.message !== undefined) {
    if (typeof input.message !== 'string') throw new SimRequestError(400, 'message must be a string');
    review.message = input.message;
  }
  if (input.tag !== undefined) {
    if (typeof input.tag !== 'string') throw new SimRequestError(400, 'tag must be a string');
    review.tag = input.tag;
  }
  if (input.labels !== undefined) {
    if (typeof input.labels !== 'object' || input.labels === null || Array.isArray(input.labels)) throw new SimRequestError(400, 'labels must be an object');
    review.labels = {};
    for (const [label, value] of Object.entries(input.labels as Record<string, unknown>)) {
      const n = typeof value === 'string' && /^[+-]?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw new SimRequestError(400, `label ${label}: invalid value ${JSON.stringify(value)}`);
      review.labels[label] = n;
    }
  }
  if (typeof input.notify === 'string') review.notify = input.notify;
  if (input.work_in_progress === true) review.work_in_progress = true;
  if (input.ready === true) review.ready = true;
  return review;
}

/** Smart-HTTP fetches (`git fetch http://.../project refs/changes/...`) through `git http-backend`, read-only. */
async function serveGit(deps: RestDeps, req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
  const m = /^\/(.+?)(?:\.git)?(\/info\/refs|\/git-upload-pack|\/git-receive-pack)$/.exec(path);
  const project = m?.[1] ? decodeURIComponent(m[1]) : undefined;
  if (!m || !project || !deps.state.projects.has(project)) throw new SimRequestError(404, 'Not found');
  if (m[2] === '/git-receive-pack' || query.includes('git-receive-pack')) throw new SimRequestError(403, 'Pushes are not supported by the simulator');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('GIT_')) env[key] = value;
  Object.assign(env, {
    GIT_PROJECT_ROOT: deps.git!.root,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: `/${project}.git${m[2]}`,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: query,
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
  });
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  req.pipe(child.stdin);
  await new Promise<void>((resolve) => {
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) { res.write(chunk); return; }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 ? crlf : lf;
      if (end < 0) return;
      const headerText = head.subarray(0, end).toString('latin1');
      const body = head.subarray(end + (crlf >= 0 ? 4 : 2));
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of headerText.split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(body);
      headersDone = true;
    });
    child.on('close', () => { if (!headersDone) sendText(res, 500, 'git http-backend failed'); else res.end(); resolve(); });
    child.on('error', () => { if (!res.headersSent) sendText(res, 500, 'git http-backend failed'); resolve(); });
  });
}
