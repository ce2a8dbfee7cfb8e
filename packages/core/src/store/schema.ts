import type { Job, ServerGroup, TestConfig, Vote } from '../model.js';
import { emptyArchiveMark, type ArchiveMark } from './archive.js';

export const SCHEMA_VERSION = 2;

export interface SyncMark {
  /** When the last complete sweep of this project/branch started (Gerrit time, UTC). */
  lastSweepAt?: string;
  lastSweepChanges?: number;
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
