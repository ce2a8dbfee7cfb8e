/**
 * Gerrit's wire formats as documented (rest-api-changes.txt, json.txt, cmd-stream-events.txt).
 * Every field is optional: servers differ by version and by the options asked for.
 */

export interface RestAccountInfo {
  _account_id?: number | string;
  name?: string;
  email?: string;
  username?: string;
  display_name?: string;
}

export interface RestApprovalInfo extends RestAccountInfo {
  value?: number | string;
  date?: string;
  tag?: string;
}

export interface RestLabelInfo {
  approved?: RestAccountInfo;
  rejected?: RestAccountInfo;
  recommended?: RestAccountInfo;
  disliked?: RestAccountInfo;
  value?: number | string;
  all?: RestApprovalInfo[];
  values?: Record<string, string>;
}

export interface RestRevisionInfo {
  _number?: number | string;
  ref?: string;
  created?: string;
  uploader?: RestAccountInfo;
  kind?: string;
  fetch?: Record<string, { url?: string; ref?: string }>;
}

export interface RestChangeInfo {
  id?: string;
  project?: string;
  branch?: string;
  topic?: string;
  hashtags?: string[];
  change_id?: string;
  subject?: string;
  status?: string;
  created?: string;
  updated?: string;
  _number?: number | string;
  owner?: RestAccountInfo;
  labels?: Record<string, RestLabelInfo>;
  current_revision?: string;
  revisions?: Record<string, RestRevisionInfo>;
  work_in_progress?: boolean;
  is_private?: boolean;
  _more_changes?: boolean;
  /** Gerrit before 2.9: the key to resume after (N=) for the next page. */
  _sortkey?: string;
  /** The current patch set's number, given without `revisions` by some endpoints (e.g. merge patch set). */
  current_revision_number?: number | string;
}

export interface SshAccount {
  name?: string;
  email?: string;
  username?: string;
}

export interface SshApproval {
  type?: string;
  description?: string;
  value?: string | number;
  grantedOn?: number | string;
  by?: SshAccount;
}

export interface SshPatchSet {
  number?: number | string;
  revision?: string;
  ref?: string;
  uploader?: SshAccount;
  author?: SshAccount;
  createdOn?: number | string;
  kind?: string;
  approvals?: SshApproval[];
}

export interface SshChange {
  project?: string;
  branch?: string;
  topic?: string;
  id?: string;
  number?: number | string;
  subject?: string;
  owner?: SshAccount;
  url?: string;
  createdOn?: number | string;
  lastUpdated?: number | string;
  open?: boolean;
  status?: string;
  wip?: boolean;
  private?: boolean;
  currentPatchSet?: SshPatchSet;
}

/** One line of `gerrit stream-events`. */
export interface SshStreamEvent {
  type: string;
  eventCreatedOn?: number | string;
  change?: SshChange;
  patchSet?: SshPatchSet;
  uploader?: SshAccount;
  author?: SshAccount;
  submitter?: SshAccount;
  abandoner?: SshAccount;
  restorer?: SshAccount;
  changer?: SshAccount;
  comment?: string;
  reason?: string;
  approvals?: SshApproval[];
  newRev?: string;
  refUpdate?: { oldRev?: string; newRev?: string; refName?: string; project?: string };
  [key: string]: unknown;
}

/** ReviewInput for POST /changes/{id}/revisions/{rev}/review. */
export interface ReviewInput {
  message?: string;
  labels?: Record<string, number>;
  tag?: string;
  notify?: 'NONE' | 'OWNER' | 'OWNER_REVIEWERS' | 'ALL';
}

export type ChangeOption =
  | 'CURRENT_REVISION'
  | 'ALL_REVISIONS'
  | 'DETAILED_ACCOUNTS'
  | 'LABELS'
  | 'DETAILED_LABELS'
  | 'MESSAGES'
  | 'CURRENT_COMMIT';
