import { InfraError } from '../errors.js';
import type { Account, Approval, Change, ChangeStatus, PatchSet } from '../model.js';
import { dependsOnFooters } from './footers.js';
import { parseGerritTime } from './time.js';
import type { RestAccountInfo, RestChangeInfo, RestLabelInfo, RestRevisionInfo, SshAccount, SshApproval, SshChange, SshPatchSet } from './wire.js';

/** Numbers may arrive as strings on older servers; anything else non-numeric is absent. */
export function toInt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) return Number.parseInt(value, 10);
  return undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function toChangeStatus(value: unknown, open?: boolean): ChangeStatus {
  const upper = typeof value === 'string' ? value.toUpperCase() : '';
  if (upper === 'MERGED') return 'MERGED';
  if (upper === 'ABANDONED') return 'ABANDONED';
  if (upper === 'NEW' || upper === 'DRAFT') return 'NEW';
  return open === false ? 'ABANDONED' : 'NEW';
}

export function accountFromRest(info: RestAccountInfo | undefined): Account {
  if (!info || typeof info !== 'object') return {};
  const account: Account = {};
  const name = text(info.name) ?? text(info.display_name);
  if (name) account.name = name;
  if (text(info.username)) account.username = info.username;
  if (text(info.email)) account.email = info.email;
  const id = toInt(info._account_id);
  if (id !== undefined) account.accountId = id;
  return account;
}

export function accountFromSsh(info: SshAccount | undefined): Account {
  if (!info || typeof info !== 'object') return {};
  const account: Account = {};
  if (text(info.name)) account.name = info.name;
  if (text(info.username)) account.username = info.username;
  if (text(info.email)) account.email = info.email;
  return account;
}

/** How a person is named in descriptions and messages. */
export function accountLabel(account: Account | undefined): string {
  return account?.name ?? account?.username ?? account?.email ?? 'unknown';
}

const NO_PATCH_SET: PatchSet = { number: 0, revision: '', ref: '' };

function restPatchSet(sha: string | undefined, rev: RestRevisionInfo | undefined, number: number, currentNumber?: unknown): PatchSet {
  if (!sha) return { ...NO_PATCH_SET };
  const psNumber = toInt(rev?._number) ?? toInt(currentNumber) ?? 0;
  const ps: PatchSet = { number: psNumber, revision: sha, ref: text(rev?.ref) ?? (psNumber ? changeRef(number, psNumber) : '') };
  const created = parseGerritTime(rev?.created);
  if (created) ps.created = created;
  if (text(rev?.kind)) ps.kind = rev!.kind;
  if (rev?.uploader) ps.uploader = accountFromRest(rev.uploader);
  return ps;
}

/** `refs/changes/NN/NUMBER/PS`, NN being the last two digits of the change number. */
export function changeRef(number: number, patchSet: number): string {
  return `refs/changes/${String(number % 100).padStart(2, '0')}/${number}/${patchSet}`;
}

const MAX_VOTE: Record<string, number> = { 'Code-Review': 2, Workflow: 1 };

function labelBound(label: string, info: RestLabelInfo, sign: 1 | -1): number {
  const values = Object.keys(info.values ?? {})
    .map((k) => toInt(k))
    .filter((v): v is number => v !== undefined);
  if (values.length) return sign > 0 ? Math.max(...values) : Math.min(...values);
  return sign * (MAX_VOTE[label] ?? 1);
}

function restApprovals(labels: Record<string, RestLabelInfo> | undefined): Approval[] {
  const out: Approval[] = [];
  if (!labels || typeof labels !== 'object') return out;
  for (const [label, info] of Object.entries(labels)) {
    if (!info || typeof info !== 'object') continue;
    if (Array.isArray(info.all)) {
      // DETAILED_LABELS: every reviewer's vote; 0 means "reviewer, no vote".
      for (const a of info.all) {
        const value = toInt(a.value);
        if (!value) continue;
        const approval: Approval = { label, value, by: accountFromRest(a) };
        const date = parseGerritTime(a.date);
        if (date) approval.date = date;
        if (text(a.tag)) approval.tag = a.tag;
        out.push(approval);
      }
      continue;
    }
    out.push(...summaryVotes(label, info));
  }
  return out;
}

/**
 * LABELS without DETAILED_LABELS names a few voters: approved (the label's maximum) or rejected (its
 * minimum), and beside it disliked or recommended, whose `value` is given when it is not -1/+1.
 */
function summaryVotes(label: string, info: RestLabelInfo): Approval[] {
  const votes: Approval[] = [];
  if (info.rejected) votes.push({ label, value: labelBound(label, info, -1), by: accountFromRest(info.rejected) });
  else if (info.approved) votes.push({ label, value: labelBound(label, info, 1), by: accountFromRest(info.approved) });
  const value = toInt(info.value);
  if (info.disliked) votes.push({ label, value: value !== undefined && value < 0 ? value : -1, by: accountFromRest(info.disliked) });
  else if (info.recommended) votes.push({ label, value: value !== undefined && value > 0 ? value : 1, by: accountFromRest(info.recommended) });
  return votes;
}

export interface MapOptions {
  /** The Gerrit web URL, to build the change's link when the server gives none. */
  baseUrl?: string;
}

function required<T>(value: T | undefined, field: string, where: string): T {
  if (value === undefined) throw new InfraError(`gerrit: ${where}: missing or invalid "${field}"`);
  return value;
}

/** Maps a REST ChangeInfo (any server version, any options) to the Change model. */
export function changeFromRest(info: RestChangeInfo, options: MapOptions = {}): Change {
  if (!info || typeof info !== 'object') throw new InfraError('gerrit: change: expected a ChangeInfo object');
  const where = `change ${info._number ?? info.id ?? '?'}`;
  const project = required(text(info.project), 'project', where);
  const number = required(toInt(info._number), '_number', where);
  const sha = text(info.current_revision);
  const change: Change = {
    project,
    branch: (text(info.branch) ?? 'master').replace(/^refs\/heads\//, ''),
    number,
    changeId: text(info.change_id) ?? '',
    subject: text(info.subject) ?? '',
    owner: accountFromRest(info.owner),
    status: toChangeStatus(info.status),
    wip: info.work_in_progress === true,
    currentPatchSet: restPatchSet(sha, sha ? info.revisions?.[sha] : undefined, number, info.current_revision_number),
    approvals: restApprovals(info.labels),
  };
  if (text(info.topic)) change.topic = info.topic;
  const updated = parseGerritTime(info.updated);
  if (updated) change.updated = updated;
  if (options.baseUrl) change.url = `${options.baseUrl.replace(/\/+$/, '')}/c/${project}/+/${number}`;
  const message = sha ? info.revisions?.[sha]?.commit?.message : undefined;
  if (typeof message === 'string') change.dependsOn = dependsOnFooters(message);
  return change;
}

function sshPatchSet(ps: SshPatchSet | undefined, number: number): PatchSet {
  if (!ps || typeof ps !== 'object' || !text(ps.revision)) return { ...NO_PATCH_SET };
  const psNumber = toInt(ps.number) ?? 0;
  const out: PatchSet = { number: psNumber, revision: ps.revision!, ref: text(ps.ref) ?? (psNumber ? changeRef(number, psNumber) : '') };
  const created = parseGerritTime(ps.createdOn);
  if (created) out.created = created;
  if (text(ps.kind)) out.kind = ps.kind;
  if (ps.uploader) out.uploader = accountFromSsh(ps.uploader);
  return out;
}

export function sshApprovals(approvals: SshApproval[] | undefined): Approval[] {
  if (!Array.isArray(approvals)) return [];
  const out: Approval[] = [];
  for (const a of approvals) {
    const value = toInt(a?.value);
    if (!text(a?.type) || !value) continue;
    const approval: Approval = { label: a.type!, value, by: accountFromSsh(a.by) };
    const date = parseGerritTime(a.grantedOn);
    if (date) approval.date = date;
    out.push(approval);
  }
  return out;
}

/**
 * Maps an SSH `gerrit query` change or a stream event's `change` to the Change model.
 * Stream events carry the patch set beside the change; pass it as `patchSet`.
 */
export function changeFromSsh(info: SshChange, patchSet?: SshPatchSet): Change {
  if (!info || typeof info !== 'object') throw new InfraError('gerrit: change: expected a change object');
  const where = `change ${info.number ?? info.id ?? '?'}`;
  const project = required(text(info.project), 'project', where);
  const number = required(toInt(info.number), 'number', where);
  const ps = info.currentPatchSet ?? patchSet;
  const change: Change = {
    project,
    branch: (text(info.branch) ?? 'master').replace(/^refs\/heads\//, ''),
    number,
    changeId: text(info.id) ?? '',
    subject: text(info.subject) ?? '',
    owner: accountFromSsh(info.owner),
    status: toChangeStatus(info.status, info.open),
    wip: info.wip === true,
    currentPatchSet: sshPatchSet(ps, number),
    approvals: sshApprovals(ps?.approvals),
  };
  if (text(info.topic)) change.topic = info.topic;
  if (text(info.url)) change.url = info.url;
  const updated = parseGerritTime(info.lastUpdated);
  if (updated) change.updated = updated;
  if (typeof info.commitMessage === 'string') change.dependsOn = dependsOnFooters(info.commitMessage);
  return change;
}

/** A change with no known current patch set cannot be tested. */
export function hasPatchSet(change: Change): boolean {
  return change.currentPatchSet.number > 0 && change.currentPatchSet.revision !== '';
}

/** The REST change id to use in URLs: `project~number`, with the project URL-encoded. */
export function restChangeId(project: string, number: number): string {
  return `${encodeURIComponent(project)}~${number}`;
}
