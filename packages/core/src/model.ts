/** The domain model shared by bellows, firestack and reviewday. Names are the contract. */
import type { Configuration } from './config/axes.js';

export type ChangeStatus = 'NEW' | 'MERGED' | 'ABANDONED';

export interface Account {
  name?: string;
  username?: string;
  email?: string;
  accountId?: number;
}

export interface PatchSet {
  number: number;
  revision: string;
  ref: string;
  created?: string;
  kind?: string;
  uploader?: Account;
}

export interface Approval {
  label: string;
  value: number;
  by?: Account;
  date?: string;
  tag?: string;
}

export interface Change {
  project: string;
  branch: string;
  number: number;
  changeId: string;
  subject: string;
  owner: Account;
  topic?: string;
  status: ChangeStatus;
  wip: boolean;
  url?: string;
  updated?: string;
  currentPatchSet: PatchSet;
  approvals: Approval[];
  /** The current patch set's `Depends-On:` footers; absent when Gerrit did not send the commit message. */
  dependsOn?: string[];
}

export interface BranchSource {
  url: string;
  ref: string;
  /** Merged onto the tip of this branch before building (merge with trunk); '' never merges (not even onto the template's own mergeTarget). */
  mergeTarget?: string;
  /** The change itself (absent means this too), the project's default in smokestack.yaml, or set by hand (`bellows configs set`). */
  origin?: 'change' | 'project' | 'custom';
}

/** A test configuration's source as set by hand: it survives syncs until `bellows configs reset`. */
export interface CustomSource {
  /** Absent for the change's own project, whose URL and ref follow its patch sets. */
  url?: string;
  ref?: string;
  /** Merge onto the tip of the change's branch before building; absent: as before it was customised. */
  mergeTrunk?: boolean;
}

/**
 * A change another depends on (`Depends-On:`), as its jobs fetch it: an open change's current patch
 * set, or a merged change's branch.
 */
export interface Dependency {
  project: string;
  number: number;
  changeId?: string;
  branch: string;
  status: 'NEW' | 'MERGED';
  patchSet: number;
  revision: string;
  /** refs/changes/NN/N/P for an open change; refs/heads/BRANCH for a merged one. */
  ref: string;
  /** Git URL of its project. */
  url: string;
}

export interface TestConfig {
  id: string;
  project: string;
  branch: string;
  number: number;
  description: string;
  /** Every source its jobs take from elsewhere than their templates: the change's own, the project's defaults, those set by hand. */
  branches: Record<string, BranchSource>;
  /** Sources set by hand (`bellows configs set`), by project: they survive syncs until `configs reset`. */
  custom?: Record<string, CustomSource>;
  templates: string[];
  patchSet: number;
  revision: string;
  ref: string;
  changeStatus?: ChangeStatus;
  wip?: boolean;
  subject?: string;
  owner?: Account;
  topic?: string;
  updatedAt: string;
  /** When Gerrit was last asked and showed the change open (decides against a purge seen earlier). */
  seenAt?: string;
  /** The current patch set's `Depends-On:` footers, as written. */
  dependsOn?: string[];
  /** The changes it depends on, transitively, in dependency order (each before those that need it). */
  dependencies?: Dependency[];
  /** Why it cannot be tested now (a dependency abandoned or unknown, a cycle): reported in one line, without a vote. */
  dependencyProblem?: string;
}

export const JOB_STATUSES = [
  'queued',
  'running',
  'success',
  'build_failed',
  'test_failed',
  'infra_failed',
  'incomplete',
  'superseded',
  'cancelled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINISHED_STATUSES: readonly JobStatus[] = [
  'success',
  'build_failed',
  'test_failed',
  'infra_failed',
  'incomplete',
  'superseded',
  'cancelled',
];

export interface TestSummary {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  durationMs: number;
}

export interface SkippedTest {
  id: string;
  reason?: string;
}

/** A required test that did not run: skipped (with the skip reason) or absent from the results. */
export interface RequiredSkip {
  /** The test id, or the pattern itself when no test matched it. */
  id: string;
  /** The requiredTests pattern that names it. */
  pattern: string;
  /** Why it did not run: the skip reason, or "absent: no test matched". */
  reason: string;
  /** The template that requires it. */
  template: string;
}

/** Queue jobs test a change's patch set; baseline jobs its target branch, to compare failures with; ad-hoc runs come from `firestack run` on someone's machine. */
export const JOB_KINDS = ['queue', 'baseline', 'adhoc'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** What a baseline job runs: each changed project of the job that asked for it, at its target branch. */
export interface BaselineSpec {
  /** Identifies baselines that can stand in for each other (see baselineKey). */
  key: string;
  template: string;
  /** The combination of the template's axes the change job ran with: its baseline runs the same one. */
  configuration?: Configuration;
  /** The template's pool: a baseline runs where the change job did. */
  pool?: string;
  /** The branch compared with, for messages (e.g. "master"). */
  branch: string;
  /** Per project: where its target branch is fetched, and the revision (absent: the branch tip when the baseline runs). */
  projects: Record<string, { url: string; branch: string; revision?: string }>;
  /** The change job that first asked for it. */
  requestedBy: string;
}

export interface Job {
  id: string;
  configId: string;
  project: string;
  number: number;
  patchSet: number;
  revision: string;
  template: string;
  /** The pool of workers that may run it (the template's `pool:`); absent on records older than pools: `default`. */
  pool?: string;
  /** The template's axis values this job runs with (absent for a template without axes). */
  configuration?: Configuration;
  status: JobStatus;
  attempt: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  heartbeatAt?: string;
  worker?: string;
  summary: TestSummary;
  skipped: SkippedTest[];
  failedTests?: string[];
  message: string;
  logDir: string;
  approvedBy?: string;
  approvedAt?: string;
  supersededBy?: string;
  /** `dependency`: a change it depends on got a new patch set. */
  reason?: 'new' | 'recheck' | 'retry' | 'manual' | 'dependency';
  /** The Depends-On changes it tests with its patch set, in dependency order. */
  dependencies?: Dependency[];
  /** `adhoc`: a run started by hand (`firestack run`, the stepwise commands), never queued, retried or voted; `baseline`: a run of a target branch, never voted; absent: a queue job of a change. */
  kind?: JobKind;
  /** A baseline job's target: what it runs and what it stands for. */
  baseline?: BaselineSpec;
  /** A change job with test failures: the baseline job its failures are compared with. */
  comparedWith?: string;
  /** Tests the template requires that were skipped or absent. */
  requiredSkipped?: RequiredSkip[];
  /** Every source the job built or fetched, with the revision it resolved to (for reproduce). */
  sources?: JobSource[];
  /** The `--change` arguments of an ad hoc run, as given. */
  changes?: string[];
  /** The server group the job ran on. */
  group?: string;
  /** The job this one retries (after infra_failed), whose logs stay in its own directory. */
  retryOf?: string;
  stages?: JobStageRecord[];
  /** Wall time, time inside remote commands, and the difference (the pipeline's own overhead). */
  timing?: { wallMs: number; remoteMs: number; overheadMs: number };
}

export interface JobSource {
  kind: 'build' | 'module';
  name: string;
  project: string;
  url: string;
  ref: string;
  revision?: string;
  /** Other changes merged in after `ref` (Depends-On), in order, each with the revision it resolved to. */
  merges?: Array<{ name: string; url: string; ref: string; revision?: string }>;
  mergeTarget?: string;
  /** Where the target branch was fetched from, when not `url`. */
  mergeUrl?: string;
  mergeTargetRevision?: string;
  /** A developer's local checkout (or a plain directory) shipped in the job bundle. */
  localPath?: string;
  /** The checkout's HEAD when its working tree was shipped (`revision` is then the commit made of it). */
  localHead?: string;
  /** Files whose uncommitted state went in, as `path (added|modified|deleted)`. */
  uncommitted?: string[];
  /** Replaced by the branch under test (a --change or the test config). */
  changed: boolean;
}

export interface JobStageRecord {
  stage: string;
  status: 'passed' | 'failed' | 'skipped';
  kind?: string;
  message?: string;
  durationMs?: number;
}

/** The run posting a patch set's report: a process on a host, since a moment. */
export interface ReportClaimant {
  pid: number;
  host: string;
  at: string;
}

/** A report being posted: recorded before the review is sent, so a crash or a second run never posts it twice. */
export interface VoteIntent {
  /** The run posting it; absent once that run gave up (the review may or may not have reached Gerrit). */
  claimant?: ReportClaimant;
  /** Ids of our own review messages on the patch set before this one was posted: one more means it landed. */
  knownReviews: string[];
}

/** The pool of a template that names none, and of jobs recorded before pools existed. */
export const DEFAULT_POOL = 'default';

export function poolOf(job: Pick<Job, 'pool'>): string {
  return job.pool ?? DEFAULT_POOL;
}

/** A `firestack worker` as it registered itself: which pools it serves, where it runs, when it was last heard of. */
export interface WorkerRecord {
  name: string;
  pools: string[];
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  concurrency: number;
}

export interface Vote {
  project: string;
  number: number;
  patchSet: number;
  revision: string;
  vote: number | null;
  message: string;
  postedAt: string;
  /** Why nothing was posted for this patch set (e.g. "outdated": a newer patch set exists). */
  skipped?: string;
  /** The label the vote was cast on (config gerrit.label). */
  label?: string;
  /** Present while the review is being posted and not yet known to be on Gerrit. */
  intent?: VoteIntent;
  /** The patch set could not be tested (a Depends-On problem) and this said so: forgotten once the problem clears. */
  problem?: string;
}

export interface Host {
  name: string;
  address: string;
  port: number;
  user: string;
  roles: string[];
  gateway: boolean;
  identityFile?: string;
  knownHosts?: string;
  /** Provider-specific id, e.g. the Nova server id or the local working directory. */
  resourceId?: string;
  /**
   * The content-addressed image the host was created from, with nothing run on it before (container hosts):
   * a job that provisioned the host knows exactly what it builds on, so it may reuse an identical build.
   */
  containerImage?: string;
  workDir?: string;
  /** The hosts file listing the group on this host (/etc/hosts when managed there). */
  hostsFile?: string;
}

export type GroupState = 'creating' | 'ready' | 'failed' | 'deleting' | 'deleted';

export interface ServerGroup {
  name: string;
  provider: string;
  hosts: Host[];
  createdAt: string;
  state: GroupState;
  jobId?: string;
  /** Provider resources recorded the moment they exist, so nothing leaks. */
  resources?: Array<{ kind: string; id: string; name?: string; createdAt: string }>;
  definition?: unknown;
  error?: string;
}

export function emptySummary(): TestSummary {
  return { tests: 0, failures: 0, errors: 0, skipped: 0, durationMs: 0 };
}

/** A message on a change, as Gerrit keeps it: what was already posted, by whom, on which patch set. */
export interface ChangeMessage {
  id: string;
  author: Account;
  date?: string;
  message: string;
  tag?: string;
  /** The patch set the message was posted on. */
  patchSet?: number;
}
