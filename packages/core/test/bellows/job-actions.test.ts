import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { approveJob, cancelJob, retryJob } from '../../src/bellows/job-actions.js';
import { applySyncPlan, planSync } from '../../src/bellows/sync.js';
import { StateStore } from '../../src/store/store.js';
import { NOW, POLICIES, TARGETS, addJob, change } from './fixtures.js';

describe('bellows/job-actions', () => {
  let dir: string;
  let store: StateStore;
  const ids: Record<string, string> = {};

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-actions-'));
    store = new StateStore(path.join(dir, 'state.json'));
    await store.update((s) => {
      applySyncPlan(s, planSync(s, [change(1, 2)], { targets: TARGETS, policies: POLICIES }, NOW), NOW);
      ids.failed = addJob(s, 'nova', 1, 2, 'smoke', 'test_failed').id;
      ids.queued = addJob(s, 'nova', 1, 2, 'full', 'queued').id;
      ids.old = addJob(s, 'nova', 1, 1, 'smoke', 'superseded').id;
      s.votes['nova~1~2'] = { project: 'nova', number: 1, patchSet: 2, revision: 'rev-1-2', vote: -1, message: '', postedAt: NOW.toISOString() };
    });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('approve marks a failed job approved, and refuses other jobs', async () => {
    const job = await approveJob(store, ids.failed!, 'carol', NOW);
    expect(job).to.deep.include({ approvedBy: 'carol', approvedAt: NOW.toISOString() });
    await approveJob(store, ids.queued!, 'carol', NOW).then(
      () => expect.fail('expected a refusal'),
      (err: Error) => expect(err.message).to.equal(`job ${ids.queued}: only failed jobs can be approved (it is queued)`),
    );
  });

  it('retry queues the next attempt and lets the patch set be reported again', async () => {
    const { job, previous } = await retryJob(store, ids.failed!, NOW);
    expect(job).to.deep.include({ template: 'smoke', patchSet: 2, attempt: 2, status: 'queued', reason: 'retry' });
    expect(previous.id).to.equal(ids.failed);
    expect((await store.read()).votes['nova~1~2']).to.equal(undefined);
    await retryJob(store, ids.failed!, NOW).then(
      () => expect.fail('expected a refusal'),
      (err: Error) => expect(err.message).to.match(/is already queued for smoke/),
    );
    await retryJob(store, ids.old!, NOW).then(
      () => expect.fail('expected a refusal'),
      (err: Error) => expect(err.message).to.match(/patch set 1 is outdated \(current: 2\)/),
    );
  });

  it('cancel stops queued or running jobs only', async () => {
    const job = await cancelJob(store, ids.queued!, NOW);
    expect(job).to.deep.include({ status: 'cancelled', finishedAt: NOW.toISOString() });
    await cancelJob(store, ids.queued!, NOW).then(
      () => expect.fail('expected a refusal'),
      (err: Error) => expect(err.message).to.match(/only queued or running jobs can be cancelled \(it is cancelled\)/),
    );
    await cancelJob(store, 'j999', NOW).then(
      () => expect.fail('expected a refusal'),
      (err: Error) => expect(err.message).to.match(/not found/),
    );
  });
});
