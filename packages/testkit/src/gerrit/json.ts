import type { SimFile } from './types.js';
import { epochSeconds, gerritTimestamp, LABELS, type LabelDefinition } from './format.js';
import type { SimAccount, SimApproval, SimChange, SimPatchSet } from './types.js';

/** What rendering needs from the simulator. */
export interface RenderContext {
  account(username: string): SimAccount;
  /** web URL of the server, e.g. http://127.0.0.1:8080 */
  webUrl: string;
  /** RevisionInfo.fetch: download scheme → {url, ref} */
  fetch(project: string, ref: string): Record<string, { url: string; ref: string }>;
}

/** The REST `o=` options Gerrit knows; unknown ones are a 400. */
export const LIST_CHANGES_OPTIONS = new Set([
  'LABELS', 'DETAILED_LABELS', 'SUBMIT_REQUIREMENTS', 'CURRENT_REVISION', 'ALL_REVISIONS', 'CURRENT_COMMIT', 'ALL_COMMITS',
  'CURRENT_FILES', 'ALL_FILES', 'DETAILED_ACCOUNTS', 'REVIEWER_UPDATES', 'MESSAGES', 'CURRENT_ACTIONS', 'CHANGE_ACTIONS',
  'REVIEWED', 'SKIP_MERGEABLE', 'SKIP_DIFFSTAT', 'SUBMITTABLE', 'WEB_LINKS', 'CHECK', 'COMMIT_FOOTERS', 'PUSH_CERTIFICATES',
  'TRACKING_IDS', 'DOWNLOAD_COMMANDS', 'STAR', 'CUSTOM_KEYED_VALUES', 'PARENTS',
]);

const FOOTER_LINE = /^[A-Za-z][A-Za-z0-9-]*: \S/;

/**
 * A commit message as Gerrit's commit-msg hook leaves it: subject, body, and Change-Id in the last
 * paragraph, joining footer lines already there (Depends-On: ..., Signed-off-by: ...).
 */
export function composeCommitMessage(subject: string, body: string | undefined, changeId: string): string {
  const text = (body ?? '').trim();
  if (!text) return `${subject}\n\nChange-Id: ${changeId}\n`;
  const last = text.split(/\n\s*\n/).pop()!;
  const footers = last.split('\n').every((line) => FOOTER_LINE.test(line));
  return `${subject}\n\n${text}\n${footers ? '' : '\n'}Change-Id: ${changeId}\n`;
}

/** The commit message of a patch set (the current one by default). */
export function commitMessage(change: SimChange, ps: SimPatchSet = currentPatchSet(change)): string {
  return ps.message ?? composeCommitMessage(change.subject, undefined, change.changeId);
}

export function currentPatchSet(change: SimChange): SimPatchSet {
  return change.patchSets[change.patchSets.length - 1]!;
}

function fileText(file: SimFile): string {
  return typeof file === 'string' ? file : file.content;
}

function insertions(ps: SimPatchSet): number {
  return Object.values(ps.files).map(fileText).reduce((n, content) => n + content.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).length, 0);
}

// ---------------------------------------------------------------- REST

export function accountInfo(account: SimAccount, detailed: boolean): Record<string, unknown> {
  if (!detailed) return { _account_id: account.accountId };
  return { _account_id: account.accountId, name: account.name, email: account.email, username: account.username };
}

/** Gerrit's LabelsJson.setLabelScores: the first decisive vote wins. */
function setLabelScore(info: Record<string, unknown>, def: LabelDefinition, vote: SimApproval, who: Record<string, unknown>): void {
  if (info.approved || info.rejected || vote.value === 0) return;
  if (vote.value === def.min) info.rejected = who;
  else if (vote.value === def.max) info.approved = who;
  else if (vote.value < 0) { info.disliked = who; info.value = vote.value; }
  else if (vote.value > 0 && !info.disliked) { info.recommended = who; info.value = vote.value; }
}

export function labelsInfo(change: SimChange, detailedLabels: boolean, account: (u: string) => Record<string, unknown>): Record<string, unknown> {
  const current = currentPatchSet(change).number;
  const votes = change.approvals.filter((a) => a.patchSet === current);
  const voters = [...new Set(votes.map((v) => v.by))];
  const labels: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(LABELS)) {
    const info: Record<string, unknown> = {};
    const ofLabel = votes.filter((v) => v.label === name);
    for (const vote of ofLabel) setLabelScore(info, def, vote, account(vote.by));
    if (detailedLabels) {
      info.all = voters.map((username) => {
        const vote = ofLabel.find((v) => v.by === username);
        return {
          value: vote?.value ?? 0,
          ...(vote ? { date: gerritTimestamp(vote.date) } : {}),
          ...(vote?.tag ? { tag: vote.tag } : {}),
          permitted_voting_range: { min: def.min, max: def.max },
          ...account(username),
        };
      });
      info.values = def.values;
      info.default_value = 0;
    }
    labels[name] = info;
  }
  return labels;
}

function commitInfo(change: SimChange, ps: SimPatchSet, owner: SimAccount): Record<string, unknown> {
  const person = { name: owner.name, email: owner.email, date: gerritTimestamp(ps.created), tz: 0 };
  const uploader = { ...person };
  return { parents: [{ commit: ps.parent, subject: 'Parent commit' }], author: person, committer: uploader, subject: change.subject, message: commitMessage(change, ps) };
}

export function revisionInfo(change: SimChange, ps: SimPatchSet, options: Set<string>, ctx: RenderContext): Record<string, unknown> {
  const detailed = options.has('DETAILED_ACCOUNTS');
  const isCurrent = ps === currentPatchSet(change);
  const info: Record<string, unknown> = {
    kind: ps.kind,
    _number: ps.number,
    created: gerritTimestamp(ps.created),
    uploader: accountInfo(ctx.account(ps.uploader), detailed),
    ref: ps.ref,
    fetch: ctx.fetch(change.project, ps.ref),
  };
  if (options.has('ALL_COMMITS') || (options.has('CURRENT_COMMIT') && isCurrent)) info.commit = commitInfo(change, ps, ctx.account(change.owner));
  if (options.has('ALL_FILES') || (options.has('CURRENT_FILES') && isCurrent)) {
    info.files = Object.fromEntries(Object.entries(ps.files).map(([path, file]) => [path, fileText(file)] as const).map(([path, content]) => [path, { lines_inserted: content.split('\n').length, size_delta: content.length, size: content.length }]));
  }
  return info;
}

export function changeInfo(change: SimChange, options: Set<string>, ctx: RenderContext): Record<string, unknown> {
  const detailed = options.has('DETAILED_ACCOUNTS');
  const account = (username: string): Record<string, unknown> => accountInfo(ctx.account(username), detailed);
  const current = currentPatchSet(change);
  const info: Record<string, unknown> = {
    id: `${change.project}~${change.number}`,
    triplet_id: `${change.project}~${change.branch}~${change.changeId}`,
    project: change.project,
    branch: change.branch,
    ...(change.topic !== undefined ? { topic: change.topic } : {}),
    hashtags: [],
    change_id: change.changeId,
    subject: change.subject,
    status: change.status,
    created: gerritTimestamp(change.created),
    updated: gerritTimestamp(change.updated),
    ...(change.submitted ? { submitted: gerritTimestamp(change.submitted), submitter: account(change.submitter ?? change.owner) } : {}),
    ...(change.wip ? { work_in_progress: true } : {}),
    insertions: insertions(current),
    deletions: 0,
    total_comment_count: 0,
    unresolved_comment_count: 0,
    has_review_started: !change.wip,
    _number: change.number,
    owner: account(change.owner),
  };
  if (options.has('LABELS') || options.has('DETAILED_LABELS')) info.labels = labelsInfo(change, options.has('DETAILED_LABELS'), account);
  if (options.has('MESSAGES')) {
    info.messages = change.messages.map((m) => ({
      id: m.id,
      ...(m.tag ? { tag: m.tag } : {}),
      author: account(m.author),
      date: gerritTimestamp(m.date),
      message: m.message,
      _revision_number: m.patchSet,
    }));
  }
  if (options.has('CURRENT_REVISION') || options.has('ALL_REVISIONS')) {
    info.current_revision = current.revision;
    const shown = options.has('ALL_REVISIONS') ? change.patchSets : [current];
    info.revisions = Object.fromEntries(shown.map((ps) => [ps.revision, revisionInfo(change, ps, options, ctx)]));
  }
  return info;
}

// ---------------------------------------------------------------- SSH / stream-events JSON

export function accountAttribute(account: SimAccount): Record<string, unknown> {
  return { name: account.name, email: account.email, username: account.username };
}

export function approvalAttribute(approval: SimApproval, ctx: RenderContext, oldValue?: number): Record<string, unknown> {
  return {
    type: approval.label,
    description: approval.label,
    value: String(approval.value),
    ...(oldValue !== undefined ? { oldValue: String(oldValue) } : {}),
    grantedOn: epochSeconds(approval.date),
    by: accountAttribute(ctx.account(approval.by)),
  };
}

export function patchSetAttribute(change: SimChange, ps: SimPatchSet, ctx: RenderContext, withApprovals = false): Record<string, unknown> {
  const attr: Record<string, unknown> = {
    number: ps.number,
    revision: ps.revision,
    parents: [ps.parent],
    ref: ps.ref,
    uploader: accountAttribute(ctx.account(ps.uploader)),
    createdOn: epochSeconds(ps.created),
    author: accountAttribute(ctx.account(change.owner)),
    kind: ps.kind,
    sizeInsertions: insertions(ps),
    sizeDeletions: 0,
  };
  if (withApprovals) {
    const approvals = change.approvals.filter((a) => a.patchSet === ps.number && a.value !== 0);
    if (approvals.length) attr.approvals = approvals.map((a) => approvalAttribute(a, ctx));
  }
  return attr;
}

export function changeUrl(change: SimChange, ctx: RenderContext): string {
  return `${ctx.webUrl}/c/${change.project}/+/${change.number}`;
}

export function changeAttribute(change: SimChange, ctx: RenderContext): Record<string, unknown> {
  return {
    project: change.project,
    branch: change.branch,
    ...(change.topic !== undefined ? { topic: change.topic } : {}),
    id: change.changeId,
    number: change.number,
    subject: change.subject,
    owner: accountAttribute(ctx.account(change.owner)),
    url: changeUrl(change, ctx),
    commitMessage: commitMessage(change),
    hashtags: [],
    createdOn: epochSeconds(change.created),
    lastUpdated: epochSeconds(change.updated),
    open: change.status === 'NEW',
    status: change.status,
    ...(change.wip ? { wip: true } : {}),
  };
}

export interface QueryAttributeOptions {
  currentPatchSet?: boolean;
  patchSets?: boolean;
  allApprovals?: boolean;
  comments?: boolean;
}

/** One line of `gerrit query --format=JSON`. */
export function queryAttribute(change: SimChange, ctx: RenderContext, opts: QueryAttributeOptions): Record<string, unknown> {
  const attr = changeAttribute(change, ctx);
  if (opts.comments) {
    attr.comments = change.messages.map((m) => ({ timestamp: epochSeconds(m.date), reviewer: accountAttribute(ctx.account(m.author)), message: m.message }));
  }
  if (opts.patchSets || opts.allApprovals) attr.patchSets = change.patchSets.map((ps) => patchSetAttribute(change, ps, ctx, opts.allApprovals));
  if (opts.currentPatchSet) attr.currentPatchSet = patchSetAttribute(change, currentPatchSet(change), ctx, true);
  return attr;
}
