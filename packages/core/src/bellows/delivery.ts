import type { Change, ChangeMessage, ReportClaimant, TestConfig, Vote } from '../model.js';
import type { StateData } from '../store/schema.js';

/** How a review of ours is recognised among a change's messages. */
export interface ReviewIdentity {
  tag: string;
  botUsername?: string;
}

export type Delivery = { kind: 'post' } | { kind: 'skip'; skipped: string; reason: string };

/** Whether a ready report goes to Gerrit as the change stands: never to a closed change, never to an outdated revision. Pure. */
export function decideDelivery(config: TestConfig, change: Change): Delivery {
  if (change.status !== 'NEW') {
    const status = change.status.toLowerCase();
    return { kind: 'skip', skipped: status, reason: `change is ${status}` };
  }
  if (change.currentPatchSet.revision !== config.revision) {
    return { kind: 'skip', skipped: 'outdated', reason: `revision ${config.revision.slice(0, 12)} is no longer current` };
  }
  return { kind: 'post' };
}

/** Ids of our own reviews on one patch set: our tag, that patch set, our account where Gerrit names it. Pure. */
export function ownReviews(messages: ChangeMessage[], who: ReviewIdentity, patchSet: number): string[] {
  return messages
    .filter((m) => m.tag === who.tag && m.patchSet === patchSet && (!who.botUsername || !m.author.username || m.author.username === who.botUsername))
    .map((m) => m.id);
}

/** The review a run that stopped midway got onto Gerrit, if it did: one of ours it did not know of before. Pure. */
export function landedReview(messages: ChangeMessage[], vote: Vote, who: ReviewIdentity): ChangeMessage | undefined {
  const known = new Set(vote.intent?.knownReviews ?? []);
  const landed = new Set(ownReviews(messages, who, vote.patchSet).filter((id) => !known.has(id)));
  return messages.find((m) => landed.has(m.id));
}

export type Claim =
  /** This run posts the report; `previous`: the unfinished intent of a run that is gone. */
  | { kind: 'claimed'; previous?: Vote }
  | { kind: 'reported' }
  | { kind: 'busy'; claimant: ReportClaimant };

/** Who may post a patch set's report now, given its Vote record. Pure. */
export function claimReport(existing: Vote | undefined, isAlive: (claimant: ReportClaimant) => boolean): Claim {
  if (!existing) return { kind: 'claimed' };
  if (!existing.intent) return { kind: 'reported' };
  const claimant = existing.intent.claimant;
  if (claimant && isAlive(claimant)) return { kind: 'busy', claimant };
  return { kind: 'claimed', previous: existing };
}

/** Records the final outcome of a claimed report, unless another run already recorded one. */
export function settleVote(state: StateData, key: string, vote: Vote): void {
  if (!state.votes[key] || state.votes[key]!.intent) state.votes[key] = vote;
}

/** Gives up a claim after an error: the intent stays, so the next run checks Gerrit before posting again. */
export function releaseClaim(state: StateData, key: string, claimant: ReportClaimant): void {
  const current = state.votes[key]?.intent?.claimant;
  if (current && current.pid === claimant.pid && current.host === claimant.host && current.at === claimant.at) delete state.votes[key]!.intent!.claimant;
}
