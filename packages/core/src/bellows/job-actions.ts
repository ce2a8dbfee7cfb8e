import { UserError } from '../errors.js';
import type { Job } from '../model.js';
import { approveTransition, cancelTransition, refuseAdHocRetry, retryTransition } from '../queue/transitions.js';
import type { Store } from '../store/types.js';
import { voteKey } from './patchsets.js';

/** A job that left the live state is history: no action applies to it any more. */
async function refuseHistory(store: Store, id: string, action: string): Promise<void> {
  if ((await store.read()).jobs[id]) return;
  const job = await store.getJob(id);
  if (!job) return;
  throw new UserError(`job ${id}: cannot ${action} it: it is history (${job.status}, ${job.project} ${job.number},${job.patchSet} is no longer a current patch set)`, {
    hint: 'act on a job of the current patch set: bellows jobs list --change ' + job.number,
  });
}

/** Lets a failure of a template with `autoApprove: false` vote -1 on the next `bellows comment`. */
export async function approveJob(store: Store, id: string, by: string, now: Date): Promise<Job> {
  await refuseHistory(store, id, 'approve');
  return store.update((state) => approveTransition(state, id, by, now));
}

/** Queues a new attempt of a finished job of the current patch set; its result will be reported anew. */
export async function retryJob(store: Store, id: string, now: Date): Promise<{ job: Job; previous: Job }> {
  const stored = await store.getJob(id);
  if (stored) refuseAdHocRetry(stored);
  await refuseHistory(store, id, 'retry');
  return store.update((state) => {
    const retried = retryTransition(state, id, now);
    const { project, number, patchSet } = retried.job;
    // A new result for the patch set is reported again.
    delete state.votes[voteKey(project, number, patchSet)];
    return retried;
  });
}

/** Cancels a queued or running job. */
export function cancelJob(store: Store, id: string, now: Date, reason = 'cancelled by hand'): Promise<Job> {
  return store.update((state) => cancelTransition(state, id, now, reason));
}
