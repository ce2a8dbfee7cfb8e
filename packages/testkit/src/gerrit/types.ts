export interface GerritUser {
  username: string;
  password: string;
  name: string;
  email: string;
  accountId?: number;
  /** OpenSSH public key line, e.g. 'ssh-ed25519 AAAA...' */
  sshPublicKey?: string;
  /** the global "Stream Events" capability; default true */
  streamEvents?: boolean;
}

export interface GerritFaults {
  /** delay before every REST answer */
  latencyMs?: number;
  /** 0..1 of REST answers become 500/503/429 */
  errorRate?: number;
  /** 0..1 of REST connections destroyed without answer */
  dropRate?: number;
  /** the statuses errorRate answers with (default 500, 503 and 429) */
  errorStatuses?: Array<500 | 503 | 429>;
  /** only requests of these methods are faulted (default all) */
  faultMethods?: string[];
  /** open SSH stream-events sessions stay open but send nothing (half-open); keepalives are still answered */
  silentStream?: boolean;
  /** like silentStream, and the server also stops reading those connections, so client keepalives go unanswered */
  frozenStream?: boolean;
  /** SSH command output (stream-events lines, query results) goes out in data packets of this many bytes, split anywhere (even inside a character) as a real server splits long lines */
  sshChunkBytes?: number;
}

export interface GerritSimOptions {
  /** 0 or omitted = random free port on 127.0.0.1 */
  httpPort?: number;
  sshPort?: number;
  /** working dir (git repos, host key); default a temp dir removed on stop() */
  dir?: string;
  /** create real git commits for patch sets (default false: synthetic SHAs, for scale tests) */
  git?: boolean;
  /** default: 'smokestack' (password 'secret') and a human 'alice' (password 'alice-secret') */
  users?: GerritUser[];
  /** server-side max page size (Gerrit's queryLimit), default 500 */
  pageCap?: number;
  /**
   * How /changes/ pages: 'offset' (S=, Gerrit 2.9 and later; the default), 'sortkey' (Gerrit 2.x before
   * 2.9: `_sortkey` on every change, the next page with N=, S ignored), 'first-page-only' (S ignored and no
   * sort key: every request answers the first page)
   */
  paging?: 'offset' | 'sortkey' | 'first-page-only';
  faults?: GerritFaults;
  clock?: () => Date;
  /** seed of the PRNG that decides faults */
  seed?: number;
  /** JSON scenario loaded at start (when it exists) and saved on stop() */
  dataFile?: string;
  /** serve the scenario control API under /_sim/ (used by the standalone bin) */
  controlApi?: boolean;
  /** serve the checks plugin's endpoints (/plugins/checks/checkers/, /changes/…/revisions/…/checks/) */
  checksPlugin?: boolean;
}

/** A file of a commit: its text, or its text and whether it is executable (scripts, debian/rules). */
export type SimFile = string | { content: string; executable?: boolean };
export type SimFiles = Record<string, SimFile>;

export interface SimPatchSet {
  number: number;
  revision: string;
  ref: string;
  created: Date;
  uploader: string;
  kind: string;
  /** the commit's parent (the branch tip when uploaded) */
  parent: string;
  /** files this patch set changes relative to its parent */
  files: SimFiles;
  /** the commit message: subject, body, footers (Depends-On: ..., Change-Id: ...); absent in scenarios saved before messages were kept */
  message?: string;
}

export interface SimMessage {
  id: string;
  author: string;
  date: Date;
  message: string;
  patchSet: number;
  tag?: string;
}

export interface SimApproval {
  label: string;
  value: number;
  by: string;
  date: Date;
  patchSet: number;
  tag?: string;
}

export interface SimChange {
  number: number;
  project: string;
  branch: string;
  changeId: string;
  subject: string;
  owner: string;
  topic?: string;
  status: 'NEW' | 'MERGED' | 'ABANDONED';
  wip: boolean;
  created: Date;
  updated: Date;
  patchSets: SimPatchSet[];
  messages: SimMessage[];
  /** every vote ever cast, per patch set; the current labels are those of the current patch set */
  approvals: SimApproval[];
  submitted?: Date;
  submitter?: string;
}

export interface SimReview {
  number: number;
  patchSet: number;
  revision: string;
  message: string;
  labels: Record<string, number>;
  tag?: string;
  by: string;
  at: string;
  via: 'rest' | 'ssh';
}

export interface CreateChangeInput {
  project: string;
  branch?: string;
  subject: string;
  owner?: string;
  topic?: string;
  wip?: boolean;
  files?: SimFiles;
  created?: Date;
  /** the commit message after the subject: a body and/or footer lines such as `Depends-On: I...`; Change-Id is added */
  message?: string;
}

export interface UploadPatchSetInput {
  files?: SimFiles;
  subject?: string;
  /** a new commit message body (default: the previous patch set's) */
  message?: string;
  kind?: string;
  uploader?: string;
  created?: Date;
}

export interface CommentInput {
  author: string;
  message: string;
  labels?: Record<string, number>;
  patchSet?: number;
  tag?: string;
}

/** An account as the simulator keeps it (users plus accounts created on first use). */
export interface SimAccount {
  accountId: number;
  username: string;
  name: string;
  email: string;
  password?: string;
  sshPublicKey?: string;
  streamEvents: boolean;
}
