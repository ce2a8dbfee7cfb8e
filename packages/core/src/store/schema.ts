import type { ChangeStatus, Job, ServerGroup, TestConfig, Vote, WorkerRecord } from '../model.js';
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

/** The long-running parts bellows runs from cron or as a service, as the status page shows them. */
export const ACTIVITY_KINDS = ['sync', 'stream', 'comment', 'checks'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** The last run of one of them (one record each: the store keeps no log of runs). */
export interface ActivityMark {
  at: string;
  ok: boolean;
  /** What it did, or why it failed, in one line. */
  summary: string;
  /** Where it ran (host:pid). */
  by?: string;
  /** When it last went well (a failed run keeps the previous success). */
  lastOkAt?: string;
  /** The stream: since when it is connected (or disconnected). */
  since?: string;
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
  /** Registered workers by name (live or not: `isLiveWorker` tells). */
  workers: Record<string, WorkerRecord>;
  /** Monotonic counter for job ids. */
  nextJobId: number;
  /** The last sync, stream connection, comment run and checks run (absent in stores written before). */
  activity?: Partial<Record<ActivityKind, ActivityMark>>;
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
    workers: {},
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
