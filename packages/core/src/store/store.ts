import fs from 'node:fs';
import path from 'node:path';
import { Low } from 'lowdb';
import { UserError } from '../errors.js';
import type { Job, Vote } from '../model.js';
import { defaultStatePath, type Env } from '../paths.js';
import { filterJobs, isFinished, matchesJobFilter, type JobFilter } from '../queue/jobs.js';
import { StoreJobQueue, type JobQueue } from '../queue/queue.js';
import { appendToArchive, readArchive, removeOldGenerations, rewriteArchive } from './archive.js';
import type { FlakyTest, TestRun } from '../results/history.js';
import { AtomicJsonFile } from './file.js';
import { retiredRecords } from './live-set.js';
import { acquireLock, type LockOptions } from './lock.js';
import { SCHEMA_VERSION, emptyState, type StateData } from './schema.js';
import { FileTestHistory } from './test-history.js';
import type { Store } from './types.js';

/**
 * The JSON state store: the embedded default for laptops and small sites.
 * Every mutation goes through `update`, which locks across processes, re-reads,
 * applies the change and writes atomically. Reads need no lock. Finished history leaves the
 * document for append-only archives beside it (see live-set.ts), so an update costs the same
 * with ten jobs in history or a hundred thousand.
 */
export class StateStore implements Store {
  readonly queue: JobQueue = new StoreJobQueue(this);
  private readonly adapter: AtomicJsonFile;
  private readonly tests: FileTestHistory;
  private readonly db: Low<StateData>;
  private sweptTemps = false;

  constructor(
    readonly file: string,
    private readonly lockOptions: LockOptions = {},
  ) {
    this.adapter = new AtomicJsonFile(file);
    this.tests = new FileTestHistory(path.join(path.dirname(file), 'tests'));
    this.db = new Low(this.adapter, emptyState());
  }

  get location(): string {
    return this.file;
  }

  async close(): Promise<void> {}

  /** The directory of the state file: logs and group files live beside it. */
  get dataDir(): string {
    return path.dirname(this.file);
  }

  /** Directory beside the store where job logs and artifacts live. */
  get jobsDir(): string {
    return path.join(this.dataDir, 'jobs');
  }

  jobDir(jobId: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(jobId)) throw new UserError(`job id "${jobId}" is not valid`);
    return path.join(this.jobsDir, jobId);
  }

  /** A consistent snapshot of the store (empty when the file does not exist yet). */
  async read(): Promise<StateData> {
    await this.load();
    return this.db.data;
  }

  private async load(): Promise<void> {
    await this.db.read();
    // lowdb keeps its previous data when the file is absent; a missing file means an empty store.
    if (this.adapter.lastReadVersion === undefined) this.db.data = emptyState();
  }

  /** Applies `fn` to the current document under the cross-process lock and persists the result. */
  async update<T>(fn: (state: StateData) => T | Promise<T>): Promise<T> {
    // The lock lives beside the store, so a first run needs the directory before the lock.
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const release = await acquireLock(this.file, this.lockOptions);
    try {
      if (!this.sweptTemps) {
        this.sweptTemps = true;
        removeDeadWritersTemps(this.file);
      }
      await this.load();
      const fromVersion = this.adapter.lastReadVersion;
      if (fromVersion !== undefined && fromVersion < SCHEMA_VERSION) this.backupBeforeMigration(fromVersion);
      const result = await fn(this.db.data);
      await this.retireHistory(this.db.data);
      this.db.data.schemaVersion = SCHEMA_VERSION;
      await this.db.write();
      return result;
    } finally {
      release();
    }
  }

  /**
   * Appends history the live document no longer needs to the archives (synced) before the document
   * that leaves it out is written: a crash in between leaves it in both, and the next writer cuts
   * the archive back to the committed mark.
   */
  private async retireHistory(state: StateData): Promise<void> {
    const retired = retiredRecords(state);
    if (retired.jobs.length > 0) {
      state.archive.jobs = await appendToArchive(this.dataDir, state.archive.jobs, retired.jobs);
      for (const job of retired.jobs) delete state.jobs[job.id];
    }
    if (retired.votes.length > 0) {
      state.archive.votes = await appendToArchive(this.dataDir, state.archive.votes, retired.votes.map(([, vote]) => vote));
      for (const [key] of retired.votes) delete state.votes[key];
    }
  }

  /** Any job by id: from the live document, else from history. */
  async getJob(id: string): Promise<Job | undefined> {
    const state = await this.read();
    if (state.jobs[id]) return state.jobs[id];
    const needle = `"id":${JSON.stringify(id)},`;
    for await (const job of readArchive<Job>(this.dataDir, state.archive.jobs, 'newest-first', (line) => line.includes(needle))) {
      if (job.id === id) return job;
    }
    return undefined;
  }

  /** Jobs matching the filter: the live ones newest first, then history, most recently finished first. */
  async *listJobs(filter: JobFilter = {}, options: { limit?: number } = {}): AsyncGenerator<Job> {
    const state = await this.read();
    let left = options.limit ?? Number.POSITIVE_INFINITY;
    for (const job of filterJobs(state, filter)) {
      if (left-- <= 0) return;
      yield job;
    }
    // History holds only finished jobs.
    if (filter.status && filter.status.every((s) => !isFinished(s))) return;
    const prefilter = archiveLineFilter(filter);
    for await (const job of readArchive<Job>(this.dataDir, state.archive.jobs, 'newest-first', prefilter)) {
      if (!matchesJobFilter(job, filter) || state.jobs[job.id]) continue;
      if (left-- <= 0) return;
      yield job;
    }
  }

  recordTestRun(run: TestRun): Promise<void> {
    return this.tests.record(run);
  }

  testRunsOf(revisionSet: string): Promise<TestRun[]> {
    return this.tests.runsOf(revisionSet);
  }

  flakyTests(filter: { project?: string; since: Date }): Promise<FlakyTest[]> {
    return this.tests.flaky(filter);
  }

  async *listTestRuns(): AsyncGenerator<TestRun> {
    yield* await this.tests.all();
  }

  async *listVotes(): AsyncGenerator<Vote> {
    const state = await this.read();
    yield* Object.values(state.votes);
    const live = new Set(Object.values(state.votes).map((v) => `${v.project}~${v.number}~${v.patchSet}`));
    for await (const vote of readArchive<Vote>(this.dataDir, state.archive.votes)) if (!live.has(`${vote.project}~${vote.number}~${vote.patchSet}`)) yield vote;
  }

  async pruneHistory(cutoff: Date, options: { dryRun: boolean }): Promise<string[]> {
    const old = (job: Job) => Date.parse(job.finishedAt ?? job.createdAt) < cutoff.getTime();
    if (options.dryRun) {
      const ids: string[] = [];
      for await (const job of readArchive<Job>(this.dataDir, (await this.read()).archive.jobs)) if (old(job)) ids.push(job.id);
      return ids;
    }
    const removed = await this.update(async (state) => {
      const rewritten = await rewriteArchive<Job>(this.dataDir, state.archive.jobs, (job) => !old(job));
      state.archive.jobs = rewritten.mark;
      return rewritten.removed.map((j) => j.id);
    });
    removeOldGenerations(this.dataDir, (await this.read()).archive.jobs);
    await this.tests.prune(cutoff);
    return removed;
  }

  private backupBeforeMigration(version: number): void {
    const backup = `${this.file}.schema-v${version}.bak`;
    if (!fs.existsSync(backup)) fs.copyFileSync(this.file, backup);
  }
}

/** A writer killed mid-write leaves `.state.json.<pid>.<rand>.tmp`; remove those whose pid is gone. */
function removeDeadWritersTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}

/** Store path: --state, then SMOKESTACK_STATE, then the config's `state:`, then XDG state home. */
export function resolveStatePath(options: { flag?: string; env?: Env; configState?: string; configDir?: string; cwd?: string }): string {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.flag) return path.resolve(cwd, options.flag);
  if (env.SMOKESTACK_STATE) return path.resolve(cwd, env.SMOKESTACK_STATE);
  if (options.configState) return path.resolve(options.configDir ?? cwd, options.configState);
  return defaultStatePath(env);
}

/** A cheap test on a raw archive line before it is parsed: a line that cannot match is skipped unparsed. */
function archiveLineFilter(filter: JobFilter): ((line: string) => boolean) | undefined {
  const needles: string[][] = [];
  if (filter.status) needles.push(filter.status.map((s) => `"status":${JSON.stringify(s)}`));
  if (filter.project) needles.push(filter.project.map((p) => `"project":${JSON.stringify(p)}`));
  if (filter.configId) needles.push([`"configId":${JSON.stringify(filter.configId)}`]);
  // A prefix of the revision: the needle stops before the closing quote.
  if (filter.revision) needles.push([`"revision":${JSON.stringify(filter.revision).slice(0, -1)}`]);
  if (needles.length === 0) return undefined;
  return (line) => needles.every((any) => any.some((n) => line.includes(n)));
}
