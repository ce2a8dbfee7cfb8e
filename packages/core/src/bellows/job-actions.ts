import { UserError } from '../errors.js';
import type { Job } from '../model.js';
import { enqueueJob, getJob, jobKind } from '../queue/jobs.js';
import type { StateStore } from '../store/store.js';
import { isActive, jobsOfPatchSet, voteKey } from './patchsets.js';

/** Lets a failure of a template with `autoApprove: false` vote -1 on the next `bellows comment`. */
export function approveJob(store: StateStore, id: string, by: string, now: Date): Promise<Job> {
  return store.update((state) => {
    const job = getJob(state, id);
    if (job.status !== 'build_failed' && job.status !== 'test_failed') {
      throw new UserError(`job ${id}: only failed jobs can be approved (it is ${job.status})`);
    }
    job.approvedBy = by;
    job.approvedAt = now.toISOString();
    return job;
  });
}

/** Queues a new attempt of a finished job of the current patch set; its result will be reported anew. */
export function retryJob(store: StateStore, id: string, now: Date): Promise<{ job: Job; previous: Job }> {
  return store.update((state) => {
    const previous = getJob(state, id);
    if (jobKind(previous) === 'adhoc') {
      throw new UserError(`job ${id}: an ad-hoc run (firestack run), not a queue job, so there is nothing to queue again`, {
        hint: `run it again with: firestack reproduce ${id} --run`,
      });
    }
    if (isActive(previous)) throw new UserError(`job ${id}: it is still ${previous.status}`, { hint: 'cancel it first: bellows jobs cancel ' + id });
    const config = state.configs[previous.configId];
    if (!config) throw new UserError(`job ${id}: change ${previous.number} has no test config any more (merged or abandoned?)`);
    if (config.patchSet !== previous.patchSet) {
      throw new UserError(`job ${id}: patch set ${previous.patchSet} is outdated (current: ${config.patchSet})`, { hint: 'retry a job of the current patch set' });
    }
    const attempts = jobsOfPatchSet(state, config.id, config.patchSet).filter((j) => j.template === previous.template);
    const active = attempts.find(isActive);
    if (active) throw new UserError(`job ${id}: ${active.id} is already ${active.status} for ${previous.template}`);
    const job = enqueueJob(
      state,
      { configId: config.id, project: config.project, number: config.number, patchSet: config.patchSet, revision: config.revision, template: previous.template, reason: 'retry', attempt: Math.max(...attempts.map((j) => j.attempt)) + 1 },
      now,
    );
    // A new result for the patch set is reported again.
    delete state.votes[voteKey(config.project, config.number, config.patchSet)];
    return { job, previous };
  });
}

/** Cancels a queued or running job. */
export function cancelJob(store: StateStore, id: string, now: Date, reason = 'cancelled by hand'): Promise<Job> {
  return store.update((state) => {
    const job = getJob(state, id);
    if (!isActive(job)) throw new UserError(`job ${id}: only queued or running jobs can be cancelled (it is ${job.status})`);
    job.status = 'cancelled';
    job.message = reason;
    job.finishedAt = now.toISOString();
    return job;
  });
}
