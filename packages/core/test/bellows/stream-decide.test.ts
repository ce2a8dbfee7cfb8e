import { expect } from 'chai';
import { decideEvent, planRecheck, rememberEvent } from '../../src/bellows/stream.js';
import { applySyncPlan, planSync } from '../../src/bellows/sync.js';
import type { SshStreamEvent } from '../../src/gerrit/wire.js';
import { NOW, POLICIES, TARGETS, addJob, change, state } from './fixtures.js';

const settings = { projects: TARGETS, botUsername: 'smokestack', recheck: '^\\s*recheck(\\s+smokestack)?\\s*$' };
const ch = { project: 'nova', branch: 'master', number: 1 };

describe('bellows/stream decisions', () => {
  it('maps every handled event type to an action', () => {
    const ev = (type: string, extra: Partial<SshStreamEvent> = {}): SshStreamEvent => ({ type, change: ch, patchSet: { number: 1 }, eventCreatedOn: 1, ...extra });
    expect(decideEvent(ev('patchset-created'), settings)).to.deep.equal({ kind: 'sync', project: 'nova', number: 1 });
    expect(decideEvent(ev('change-restored'), settings).kind).to.equal('sync');
    expect(decideEvent(ev('wip-state-changed'), settings).kind).to.equal('sync');
    expect(decideEvent(ev('change-merged'), settings)).to.deep.equal({ kind: 'purge', project: 'nova', number: 1, status: 'MERGED' });
    expect(decideEvent(ev('change-abandoned'), settings)).to.deep.equal({ kind: 'purge', project: 'nova', number: 1, status: 'ABANDONED' });
    expect(decideEvent({ type: 'dropped-output' }, settings).kind).to.equal('sweep');
    expect(decideEvent(ev('ref-updated'), settings).kind).to.equal('ignore');
    expect(decideEvent(ev('patchset-created', { change: { ...ch, branch: 'stable/x' } }), settings)).to.deep.equal({ kind: 'ignore', reason: 'nova stable/x is not configured' });
    expect(decideEvent({ type: 'patchset-created' }, settings).kind).to.equal('ignore');
  });

  it('rechecks on a matching comment, but never on the bot’s own', () => {
    const comment = (username: string, text: string): SshStreamEvent => ({ type: 'comment-added', change: ch, author: { username }, comment: text });
    expect(decideEvent(comment('alice', 'Patch Set 1:\n\nrecheck'), settings)).to.deep.equal({ kind: 'recheck', project: 'nova', number: 1 });
    expect(decideEvent(comment('smokestack', 'Patch Set 1:\n\nrecheck'), settings)).to.deep.equal({ kind: 'ignore', reason: 'our own comment' });
    expect(decideEvent(comment('alice', 'Patch Set 1: Code-Review+1\n\nnice'), settings).kind).to.equal('ignore');
  });

  it('a recheck re-queues the current patch set’s templates that are not already pending', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1, 2)], { targets: TARGETS, policies: POLICIES }, NOW), NOW);
    addJob(s, 'nova', 1, 1, 'smoke', 'test_failed');
    addJob(s, 'nova', 1, 2, 'smoke', 'test_failed');
    addJob(s, 'nova', 1, 2, 'full', 'queued');
    expect(planRecheck(s, 'nova~1', POLICIES).map((j) => [j.template, j.patchSet, j.attempt, j.reason])).to.deep.equal([['smoke', 2, 2, 'recheck']]);
    expect(planRecheck(s, 'nova~9', POLICIES)).to.deep.equal([]);
  });

  it('remembers a bounded number of handled events', () => {
    const s = state();
    for (let i = 0; i < 12; i++) rememberEvent(s, `k${i}`, 10);
    rememberEvent(s, 'k11', 10);
    expect(s.seenEvents).to.have.length(10);
    expect(s.seenEvents[0]).to.equal('k2');
  });
});
