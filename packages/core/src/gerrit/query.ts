import { formatGerritTime } from './time.js';

/** Quotes a search operand: bare when plain, `{…}` otherwise (Gerrit's quoting that needs no escapes). */
export function searchValue(value: string): string {
  if (/^[A-Za-z0-9_./@+-]+$/.test(value)) return value;
  if (!/[{}]/.test(value)) return `{${value}}`;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface ChangeQuery {
  project?: string;
  branch?: string;
  /** open | merged | abandoned | closed; omitted for every status. */
  status?: 'open' | 'merged' | 'abandoned' | 'closed';
  /** Only changes updated at or after this time. */
  after?: Date;
  numbers?: number[];
}

/** Builds a search string such as `status:open project:nova branch:master after:{2026-11-20 10:00:00}`. */
export function buildQuery(q: ChangeQuery): string {
  const terms: string[] = [];
  if (q.status === 'closed') terms.push('(status:merged OR status:abandoned)');
  else if (q.status) terms.push(`status:${q.status}`);
  if (q.project) terms.push(`project:${searchValue(q.project)}`);
  if (q.branch) terms.push(`branch:${searchValue(q.branch)}`);
  if (q.after) terms.push(`after:${searchValue(formatGerritTime(q.after))}`);
  if (q.numbers?.length) {
    const ors = q.numbers.map((n) => `change:${n}`).join(' OR ');
    terms.push(q.numbers.length > 1 ? `(${ors})` : ors);
  }
  return terms.join(' ');
}

/** The open changes of one project branch. */
export function openChangesQuery(project: string, branch: string): string {
  return buildQuery({ status: 'open', project, branch });
}

/** Every change of a project branch touched since `since` (open and closed: a closed one is purged). */
export function updatedChangesQuery(project: string, branch: string, since: Date): string {
  return buildQuery({ project, branch, after: since });
}
