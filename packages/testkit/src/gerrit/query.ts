import { LABELS } from './format.js';
import type { SimAccount, SimChange } from './types.js';

/** A query Gerrit would reject: answered with 400 (REST) or an error line (SSH). */
export class QueryError extends Error {}

export type QueryNode =
  | { kind: 'and'; children: QueryNode[] }
  | { kind: 'or'; children: QueryNode[] }
  | { kind: 'not'; child: QueryNode }
  | { kind: 'term'; op: string; value: string };

type Token = { t: '(' | ')' | 'neg' | 'OR' | 'AND' | 'NOT' } | { t: 'term'; op: string; value: string };

export interface QueryIndex {
  now: Date;
  /** username of the caller, for owner:self */
  self?: string;
  account(username: string): SimAccount | undefined;
  changesOfProject(project: string): SimChange[];
  change(number: number): SimChange | undefined;
}

export interface CompiledQuery {
  match(change: SimChange): boolean;
  /** the smallest limit: operator in the query */
  limit?: number;
  /** a superset of the matches, when an index can narrow the search */
  candidates?: Iterable<SimChange>;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(.)/g, '$1');
  if (value.length >= 2 && value.startsWith('{') && value.endsWith('}')) return value.slice(1, -1);
  return value;
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const ch = query[i]!;
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === '(' || ch === ')') { tokens.push({ t: ch }); i++; continue; }
    if (ch === '-' && i + 1 < query.length && !/\s/.test(query[i + 1]!)) { tokens.push({ t: 'neg' }); i++; continue; }
    let raw = '';
    while (i < query.length && !/\s/.test(query[i]!) && query[i] !== ')') {
      const c = query[i]!;
      if (c === '"' || c === '{') {
        const close = c === '"' ? '"' : '}';
        let end = i + 1;
        while (end < query.length && query[end] !== close) end += query[end] === '\\' && close === '"' ? 2 : 1;
        if (end >= query.length) throw new QueryError(`Unterminated ${c} in query: ${query}`);
        raw += query.slice(i, end + 1);
        i = end + 1;
        continue;
      }
      raw += c;
      i++;
    }
    if (raw === 'OR' || raw === 'AND' || raw === 'NOT') { tokens.push({ t: raw }); continue; }
    const colon = raw.indexOf(':');
    if (colon > 0 && /^[a-z_-]+$/i.test(raw.slice(0, colon))) {
      tokens.push({ t: 'term', op: raw.slice(0, colon).toLowerCase(), value: unquote(raw.slice(colon + 1)) });
    } else {
      tokens.push({ t: 'term', op: '', value: unquote(raw) });
    }
  }
  return tokens;
}

export function parseQuery(query: string): QueryNode {
  const tokens = tokenize(query);
  if (tokens.length === 0) throw new QueryError('Empty query');
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];

  const parseOr = (): QueryNode => {
    const children = [parseAnd()];
    while (peek()?.t === 'OR') { pos++; children.push(parseAnd()); }
    return children.length === 1 ? children[0]! : { kind: 'or', children };
  };
  const parseAnd = (): QueryNode => {
    const children = [parseUnary()];
    for (let tok = peek(); tok && tok.t !== ')' && tok.t !== 'OR'; tok = peek()) {
      if (tok.t === 'AND') pos++;
      children.push(parseUnary());
    }
    return children.length === 1 ? children[0]! : { kind: 'and', children };
  };
  const parseUnary = (): QueryNode => {
    const tok = peek();
    if (!tok) throw new QueryError(`Unexpected end of query: ${query}`);
    pos++;
    if (tok.t === 'neg' || tok.t === 'NOT') return { kind: 'not', child: parseUnary() };
    if (tok.t === '(') {
      const inner = parseOr();
      if (peek()?.t !== ')') throw new QueryError(`Missing ) in query: ${query}`);
      pos++;
      return inner;
    }
    if (tok.t === 'term') return { kind: 'term', op: tok.op, value: tok.value };
    throw new QueryError(`Unexpected ${tok.t} in query: ${query}`);
  };

  const node = parseOr();
  if (pos < tokens.length) throw new QueryError(`Unexpected ${tokens[pos]!.t} in query: ${query}`);
  return node;
}

const UNIT_SECONDS: Array<[RegExp, number]> = [
  [/^(s|sec|secs|second|seconds)$/, 1],
  [/^(m|min|mins|minute|minutes)$/, 60],
  [/^(h|hr|hrs|hour|hours)$/, 3600],
  [/^(d|day|days)$/, 86400],
  [/^(w|week|weeks)$/, 7 * 86400],
  [/^(mon|mons|month|months)$/, 30 * 86400],
  [/^(y|year|years)$/, 365 * 86400],
];

export function parseAge(value: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  if (!m) throw new QueryError(`Invalid age: ${value}`);
  const unit = m[2]!.toLowerCase() || 's';
  const found = UNIT_SECONDS.find(([re]) => re.test(unit));
  if (!found) throw new QueryError(`Invalid age unit: ${value}`);
  return Number(m[1]) * found[1] * 1000;
}

/** "2026-11-20 10:00:00[.123][ +0100]" or a date alone; UTC unless a zone is given. */
export function parseQueryDate(value: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  if (!m) throw new QueryError(`Invalid timestamp: ${value}`);
  const ms = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  let t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), ms);
  if (m[8] && m[8] !== 'Z') {
    const zone = m[8].replace(':', '');
    const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5));
    t -= (zone.startsWith('-') ? -1 : 1) * minutes * 60000;
  }
  return new Date(t);
}

function matcher(value: string): (s: string | undefined) => boolean {
  if (value.startsWith('^')) {
    let re: RegExp;
    try { re = new RegExp(value); } catch { throw new QueryError(`Invalid regular expression: ${value}`); }
    return (s) => s !== undefined && re.test(s);
  }
  return (s) => s === value;
}

function accountMatches(account: SimAccount | undefined, username: string, value: string): boolean {
  if (username === value) return true;
  if (!account) return false;
  return account.email === value || account.name === value || String(account.accountId) === value;
}

type Compare = (a: number, b: number) => boolean;
const COMPARES: Record<string, Compare> = {
  '=': (a, b) => a === b, '>=': (a, b) => a >= b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '<': (a, b) => a < b,
};

function labelPredicate(value: string, index: QueryIndex): (c: SimChange) => boolean {
  const [spec, userPart] = value.split(',', 2) as [string, string | undefined];
  let m = /^(.+?)(>=|<=|=|>|<)([+-]?\d+|MAX|MIN)$/i.exec(spec);
  if (!m) {
    const short = /^(.+?)([+-]\d+)$/.exec(spec);
    if (short) m = [short[0], short[1]!, '=', short[2]!] as unknown as RegExpExecArray;
  }
  if (!m) throw new QueryError(`Invalid label expression: ${value}`);
  const label = m[1]!;
  const compare = COMPARES[m[2]!]!;
  const user = userPart?.replace(/^user=/, '');
  const self = index.self;
  const def = Object.entries(LABELS).find(([name]) => name.toLowerCase() === label.toLowerCase())?.[1];
  const raw = m[3]!.toUpperCase();
  const bound = raw === 'MAX' ? def?.max ?? 1 : raw === 'MIN' ? def?.min ?? -1 : Number(raw);
  return (c) => {
    const current = c.patchSets[c.patchSets.length - 1]!.number;
    const votes = c.approvals.filter((a) => a.patchSet === current && a.label.toLowerCase() === label.toLowerCase() && a.value !== 0
      && (user === undefined || (user === 'self' ? a.by === self : accountMatches(index.account(a.by), a.by, user))));
    const values = votes.length ? votes.map((v) => v.value) : [0];
    return values.some((v) => compare(v, bound));
  };
}

function termPredicate(op: string, value: string, index: QueryIndex): (c: SimChange) => boolean {
  const now = index.now.getTime();
  switch (op) {
    case 'status':
    case 'is': {
      const v = value.toLowerCase();
      if (v === 'open' || v === 'new' || v === 'pending') return (c) => c.status === 'NEW';
      if (v === 'closed') return (c) => c.status !== 'NEW';
      if (v === 'merged') return (c) => c.status === 'MERGED';
      if (v === 'abandoned') return (c) => c.status === 'ABANDONED';
      if (op === 'is' && v === 'wip') return (c) => c.wip;
      if (op === 'is' && (v === 'private' || v === 'starred' || v === 'ignored' || v === 'submittable')) return () => false;
      throw new QueryError(op === 'is' ? `Unrecognized value: ${value}` : `Unrecognized value: ${value}`);
    }
    case 'project': { const m = matcher(value); return (c) => m(c.project); }
    case 'projects': return (c) => c.project.startsWith(value);
    case 'branch': { const m = matcher(value.replace(/^refs\/heads\//, '')); return (c) => m(c.branch); }
    case 'topic': {
      if (value === '') return (c) => c.topic === undefined;
      const m = matcher(value);
      return (c) => m(c.topic);
    }
    case 'intopic': { const v = value.toLowerCase(); return (c) => (c.topic ?? '').toLowerCase().includes(v); }
    case 'change': return changePredicate(value);
    case 'commit': {
      const v = value.toLowerCase();
      return (c) => c.patchSets.some((ps) => ps.revision.startsWith(v));
    }
    case 'owner': {
      const who = value === 'self' ? index.self : value;
      if (who === undefined) throw new QueryError('owner:self requires an authenticated user');
      return (c) => accountMatches(index.account(c.owner), c.owner, who);
    }
    case 'uploader': {
      const who = value === 'self' ? index.self : value;
      if (who === undefined) throw new QueryError('uploader:self requires an authenticated user');
      return (c) => { const u = c.patchSets[c.patchSets.length - 1]!.uploader; return accountMatches(index.account(u), u, who); };
    }
    case 'age': { const ms = parseAge(value); return (c) => c.updated.getTime() <= now - ms; }
    case 'after':
    case 'since': { const t = parseQueryDate(value).getTime(); return (c) => c.updated.getTime() >= t; }
    case 'before':
    case 'until': { const t = parseQueryDate(value).getTime(); return (c) => c.updated.getTime() <= t; }
    case 'limit': return () => true;
    case 'label': return labelPredicate(value, index);
    case 'message':
    case 'subject': { const v = value.toLowerCase(); return (c) => c.subject.toLowerCase().includes(v); }
    case 'hashtag': return () => false;
    case '': {
      if (/^\d+$/.test(value) || /^I[0-9a-f]{4,40}$/i.test(value)) return changePredicate(value);
      if (/^[0-9a-f]{7,40}$/i.test(value)) return termPredicate('commit', value, index);
      const v = value.toLowerCase();
      return (c) => c.subject.toLowerCase().includes(v);
    }
    default:
      throw new QueryError(`Unsupported operator ${op}:${value}`);
  }
}

function changePredicate(value: string): (c: SimChange) => boolean {
  if (/^\d+$/.test(value)) { const n = Number(value); return (c) => c.number === n; }
  if (/^I[0-9a-f]{4,40}$/i.test(value)) { const v = value.toLowerCase(); return (c) => c.changeId.toLowerCase().startsWith(v); }
  const parts = value.split('~');
  if (parts.length === 2 && /^\d+$/.test(parts[1]!)) { const n = Number(parts[1]); return (c) => c.project === parts[0] && c.number === n; }
  if (parts.length === 3) return (c) => c.project === parts[0] && c.branch === parts[1] && c.changeId === parts[2];
  throw new QueryError(`Invalid change: ${value}`);
}

function compileNode(node: QueryNode, index: QueryIndex, limits: number[]): (c: SimChange) => boolean {
  switch (node.kind) {
    case 'and': { const fs = node.children.map((n) => compileNode(n, index, limits)); return (c) => fs.every((f) => f(c)); }
    case 'or': { const fs = node.children.map((n) => compileNode(n, index, limits)); return (c) => fs.some((f) => f(c)); }
    case 'not': { const f = compileNode(node.child, index, limits); return (c) => !f(c); }
    case 'term': {
      if (node.op === 'limit') {
        const n = Number(node.value);
        if (!Number.isInteger(n) || n < 1) throw new QueryError(`Invalid limit: ${node.value}`);
        limits.push(n);
      }
      return termPredicate(node.op, node.value, index);
    }
  }
}

/** Narrows the search through the project and change-number indexes; undefined = scan everything. */
function candidatesOf(node: QueryNode, index: QueryIndex): SimChange[] | undefined {
  switch (node.kind) {
    case 'term':
      if (node.op === 'project' && !node.value.startsWith('^')) return index.changesOfProject(node.value);
      if ((node.op === 'change' || node.op === '') && /^\d+$/.test(node.value)) {
        const c = index.change(Number(node.value));
        return c ? [c] : [];
      }
      return undefined;
    case 'and': {
      let best: SimChange[] | undefined;
      for (const child of node.children) {
        const c = candidatesOf(child, index);
        if (c && (!best || c.length < best.length)) best = c;
      }
      return best;
    }
    case 'or': {
      const union = new Set<SimChange>();
      for (const child of node.children) {
        const c = candidatesOf(child, index);
        if (!c) return undefined;
        for (const x of c) union.add(x);
      }
      return [...union];
    }
    case 'not':
      return undefined;
  }
}

export function compileQuery(query: string, index: QueryIndex): CompiledQuery {
  const node = parseQuery(query);
  const limits: number[] = [];
  const match = compileNode(node, index, limits);
  return { match, limit: limits.length ? Math.min(...limits) : undefined, candidates: candidatesOf(node, index) };
}

/** Newest first by `updated`, ties by change number, as Gerrit's index sorts. */
/** Gerrit 2.x's opaque `_sortkey`: ordered like the results (newest first), so the next page holds smaller keys. */
export function sortKey(change: SimChange): string {
  return change.updated.getTime().toString(16).padStart(12, '0') + change.number.toString(16).padStart(8, '0');
}

export function compareChanges(a: SimChange, b: SimChange): number {
  return b.updated.getTime() - a.updated.getTime() || b.number - a.number;
}
