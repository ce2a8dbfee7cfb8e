import type { Job, Vote } from '../model.js';
import { isFinished } from '../queue/jobs.js';
import type { StateData } from './schema.js';

/**
 * What the live document keeps: every test config, unfinished jobs, the jobs and vote of each
 * open change's current patch set — what sync, fire, comment, stream and the report decide on —
 * and the most recent finished jobs and votes, so recent history stays at hand. Everything else is history:
 * it leaves the document for the archive, so the cost of an update follows the number of open
 * changes, not the number of jobs ever run.
 */
export const RECENT_FINISHED_KEPT = 200;

export interface Retired {
  jobs: Job[];
  votes: Array<[string, Vote]>;
}

/** Pure: the finished jobs and the votes no open change's current patch set needs any more. */
export function retiredRecords(state: StateData): Retired {
  const current = new Set<string>();
  for (const config of Object.values(state.configs)) current.add(`${config.project}~${config.number}~${config.patchSet}`);
  const currentConfigPatchSet = (job: Job) => {
    const config = state.configs[job.configId];
    return config !== undefined && config.patchSet === job.patchSet;
  };
  const ended = (job: Job) => job.finishedAt ?? job.createdAt;
  const history = Object.values(state.jobs)
    .filter((job) => isFinished(job.status) && !currentConfigPatchSet(job))
    .sort((a, b) => (ended(a) < ended(b) ? 1 : ended(a) > ended(b) ? -1 : 0));
  const jobs = history.slice(RECENT_FINISHED_KEPT).reverse();
  const votes = Object.entries(state.votes)
    .filter(([, vote]) => !current.has(`${vote.project}~${vote.number}~${vote.patchSet}`))
    .sort(([, a], [, b]) => (a.postedAt < b.postedAt ? 1 : a.postedAt > b.postedAt ? -1 : 0))
    .slice(RECENT_FINISHED_KEPT)
    .reverse();
  return { jobs, votes };
}
