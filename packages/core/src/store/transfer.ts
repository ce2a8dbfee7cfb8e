import { UserError } from '../errors.js';
import type { Job } from '../model.js';
import type { StateData } from './schema.js';
import type { Store } from './types.js';

/** How many history records go into one update of the target. */
const CHUNK = 5000;

export interface StoreCounts {
  configs: number;
  jobs: number;
  votes: number;
  groups: number;
  workers: number;
  /** Per-test history: one run per finished job that reported tests. */
  testRuns: number;
}

export interface CopyReport {
  from: string;
  to: string;
  copied: StoreCounts;
  /** The target's counts after the copy, read back: equal to `copied`, or the copy fails. */
  verified: StoreCounts;
  nextJobId: number;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const ended = (job: Job) => job.finishedAt ?? job.createdAt;

/** Counts what a store holds, history included. */
export async function countStore(store: Store): Promise<StoreCounts> {
  const state = await store.read();
  let jobs = 0;
  for await (const _job of store.listJobs()) jobs++;
  let votes = 0;
  for await (const _vote of store.listVotes()) votes++;
  let testRuns = 0;
  for await (const _run of store.listTestRuns()) testRuns++;
  return { configs: Object.keys(state.configs).length, jobs, votes, groups: Object.keys(state.groups).length, workers: Object.keys(state.workers).length, testRuns };
}

/**
 * Copies one store into another that is empty (a JSON file into PostgreSQL, or back): the live
 * state, then every job and vote of history, oldest first, a chunk per update, so the target
 * keeps its own live set, then the per-test history; then reads the target back and compares the counts.
 */
export async function copyStore(from: Store, to: Store): Promise<CopyReport> {
  const existing = await countStore(to);
  if (existing.jobs > 0 || existing.configs > 0 || existing.votes > 0 || existing.testRuns > 0) {
    throw new UserError(`${to.location}: the target store is not empty (${existing.jobs} jobs, ${existing.configs} configs, ${existing.votes} votes, ${existing.testRuns} test runs)`, { hint: 'copy into a new, empty store' });
  }
  const live = await from.read();
  const jobs = (await collect(from.listJobs())).sort((a, b) => (ended(a) < ended(b) ? -1 : ended(a) > ended(b) ? 1 : 0));
  const votes = (await collect(from.listVotes())).sort((a, b) => (a.postedAt < b.postedAt ? -1 : a.postedAt > b.postedAt ? 1 : 0));
  await to.update((state) => copyLiveState(live, state));
  for (let i = 0; i < Math.max(jobs.length, votes.length); i += CHUNK) {
    await to.update((state) => {
      for (const job of jobs.slice(i, i + CHUNK)) state.jobs[job.id] = job;
      for (const vote of votes.slice(i, i + CHUNK)) state.votes[`${vote.project}~${vote.number}~${vote.patchSet}`] = vote;
    });
  }
  // Live jobs and votes last, so the target's live set holds what the source's did.
  await to.update((state) => {
    Object.assign(state.jobs, live.jobs);
    Object.assign(state.votes, live.votes);
  });
  // Per-test history, oldest first: recording each run again notes the same flaky tests, seen when they were.
  let testRuns = 0;
  for await (const run of from.listTestRuns()) {
    await to.recordTestRun(run);
    testRuns++;
  }
  const copied: StoreCounts = { configs: Object.keys(live.configs).length, jobs: jobs.length, votes: votes.length, groups: Object.keys(live.groups).length, workers: Object.keys(live.workers).length, testRuns };
  const verified = await countStore(to);
  for (const key of Object.keys(copied) as Array<keyof StoreCounts>) {
    if (verified[key] !== copied[key]) throw new Error(`${to.location}: copied ${copied[key]} ${key} but the target holds ${verified[key]}`);
  }
  return { from: from.location, to: to.location, copied, verified, nextJobId: (await to.read()).nextJobId };
}

function copyLiveState(live: StateData, state: StateData): void {
  Object.assign(state.configs, live.configs);
  Object.assign(state.groups, live.groups);
  Object.assign(state.sync, live.sync);
  Object.assign(state.purged, live.purged);
  Object.assign(state.workers, live.workers);
  Object.assign(state.baselines, live.baselines);
  state.seenEvents.push(...live.seenEvents);
  state.nextJobId = Math.max(state.nextJobId, live.nextJobId);
}

