import type { ChangeStatus, Job, ServerGroup, TestConfig, Vote } from '../model.js';
import { jobNumber } from '../queue/jobs.js';
import { emptyArchiveMark, type ArchiveMark } from './archive.js';

export const SCHEMA_VERSION = 2;

export interface SyncMark {
  /** When the last complete sweep of this project/branch started (Gerrit time, UTC). */
  lastSweepAt?: string;
  lastSweepChanges?: number;
}

/** A change seen closed and purged: remembered a while, so a sync that saw it open earlier cannot bring it back. */
export interface PurgeMark {
  status: ChangeStatus;
  /** When Gerrit was asked for the answer that showed it closed. */
  observedAt: string;
}

/** The latest baseline job of a baseline key (see baselineKey), so a recent one is reused. */
export interface BaselineEntry {
  jobId: string;
  createdAt: string;
}

export interface StateData {
  schemaVersion: number;
  configs: Record<string, TestConfig>;
  jobs: Record<string, Job>;
  votes: Record<string, Vote>;
  groups: Record<string, ServerGroup>;
  sync: Record<string, SyncMark>;
  /** Recently handled stream event keys, for deduplication across reconnects. */
  seenEvents: string[];
  /** Changes recently seen closed, by config id. */
  purged: Record<string, PurgeMark>;
  /** Recent baseline jobs by baseline key; entries older than the reuse window are dropped. */
  baselines: Record<string, BaselineEntry>;
  /** Monotonic counter for job ids. */
  nextJobId: number;
  /** How much of each archive (history that left this document) is committed. */
  archive: { jobs: ArchiveMark; votes: ArchiveMark };
}

export function emptyState(): StateData {
  return {
    schemaVersion: SCHEMA_VERSION,
    configs: {},
    jobs: {},
    votes: {},
    groups: {},
    sync: {},
    seenEvents: [],
    purged: {},
    baselines: {},
    nextJobId: 1,
    archive: { jobs: emptyArchiveMark('jobs'), votes: emptyArchiveMark('votes') },
  };
}

/** Each migration takes a document of version N-1 to version N. Index N-1 migrates to N. */
export const MIGRATIONS: Array<(doc: Record<string, unknown>) => Record<string, unknown>> = [
  // 0 -> 1: documents written before versioning held only jobs and configs.
  (doc) => ({ ...emptyState(), ...doc, schemaVersion: 1 }),
  // 1 -> 2: finished history moves to archives beside the document (on the next update).
  (doc) => ({ ...doc, archive: { jobs: emptyArchiveMark('jobs'), votes: emptyArchiveMark('votes') }, schemaVersion: 2 }),
];

/**
 * The next job id a document may hand out: past every stored job, whatever its counter says (documents
 * written before the counter existed have none), and never back below the counter (pruned jobs' ids stay used).
 */
export function nextFreeJobId(doc: { nextJobId?: unknown; jobs: Record<string, unknown> }): number {
  const counter = typeof doc.nextJobId === 'number' && Number.isSafeInteger(doc.nextJobId) && doc.nextJobId > 0 ? doc.nextJobId : 1;
  let next = counter;
  for (const id of Object.keys(doc.jobs)) {
    const n = jobNumber({ id });
    if (Number.isSafeInteger(n) && n >= next) next = n + 1;
  }
  return next;
}
