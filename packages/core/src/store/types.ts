import type { Job, Vote } from '../model.js';
import type { FlakyTest, TestRun } from '../results/history.js';
import type { JobFilter } from '../queue/jobs.js';
import type { JobQueue } from '../queue/queue.js';
import type { StateData } from './schema.js';

/**
 * The state store as every command sees it, whatever keeps it (a JSON file, PostgreSQL).
 * `read` and `update` work on the live state: test configs, unfinished jobs, the current patch
 * sets' results and votes, server groups, sync marks. Finished history is reached through
 * `getJob` and `listJobs`. The worker's hot path goes through `queue`.
 */
export interface Store {
  /** What the store is, for messages (a path, or a URL without its password). */
  readonly location: string;
  /** Directory on this machine for files the store does not hold: job logs (`jobs/<id>/`), group keys and host keys (`groups/`). */
  readonly dataDir: string;
  /** `jobs/` under dataDir. */
  readonly jobsDir: string;
  jobDir(jobId: string): string;
  /** A consistent snapshot of the live state. */
  read(): Promise<StateData>;
  /** Applies `fn` to the live state, serialized with every other update, and persists the result at once. */
  update<T>(fn: (state: StateData) => T | Promise<T>): Promise<T>;
  /** Any job by id: live, or from history. */
  getJob(id: string): Promise<Job | undefined>;
  /** Jobs matching the filter: live ones newest first, then history, most recently finished first. */
  listJobs(filter?: JobFilter, options?: { limit?: number }): AsyncGenerator<Job>;
  /** Every vote record, live and history (for copying a store). */
  listVotes(): AsyncGenerator<Vote>;
  /** Removes history jobs that ended before the cutoff (the caller removes their logs), and test runs and flaky sightings older than it; answers the jobs' ids. */
  pruneHistory(cutoff: Date, options: { dryRun: boolean }): Promise<string[]>;
  /** Keeps one finished job's per-test outcomes (appended as history) and notes tests now seen flaky. */
  recordTestRun(run: TestRun): Promise<void>;
  /** Every kept run of one revision set (the same code tested again: a recheck, a retry, another baseline). */
  testRunsOf(revisionSet: string): Promise<TestRun[]>;
  /** Every kept test run, oldest first (for copying a store). */
  listTestRuns(): AsyncGenerator<TestRun>;
  /** Tests that both passed and failed on one revision set since `since` (of one project, or all), most recently seen first. */
  flakyTests(filter: { project?: string; since: Date }): Promise<FlakyTest[]>;
  readonly queue: JobQueue;
  close(): Promise<void>;
}
