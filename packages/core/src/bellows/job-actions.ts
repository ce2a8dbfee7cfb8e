import type { Job } from '../model.js';
import { approveTransition, cancelTransition, retryTransition } from '../queue/transitions.js';
import type { StateStore } from '../store/store.js';
import { voteKey } from './patchsets.js';

/** Lets a failure of a template with `autoApprove: false` vote -1 on the next `bellows comment`. */
export function approveJob(store: StateStore, id: string, by: string, now: Date): Promise<Job> {
  return store.update((state) => approveTransition(state, id, by, now));
}

/** Queues a new attempt of a finished job of the current patch set; its result will be reported anew. */
export function retryJob(store: StateStore, id: string, now: Date): Promise<{ job: Job; previous: Job }> {
  return store.update((state) => {
    const retried = retryTransition(state, id, now);
    const { project, number, patchSet } = retried.job;
    // A new result for the patch set is reported again.
    delete state.votes[voteKey(project, number, patchSet)];
    return retried;
  });
}

/** Cancels a queued or running job. */
export function cancelJob(store: StateStore, id: string, now: Date, reason = 'cancelled by hand'): Promise<Job> {
  return store.update((state) => cancelTransition(state, id, now, reason));
}
