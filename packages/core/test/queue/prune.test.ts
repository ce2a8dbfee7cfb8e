import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { StateStore, emptyState, enqueueJob, planPrune, pruneJobs, type StateData, type TestConfig } from '@smokestack/core';

const NOW = new Date('2026-11-22T12:00:00Z');
const DAY = 86_400_000;

function config(number: number, patchSet: number): TestConfig {
  return {
    id: `p~${number}`, project: 'p', branch: 'master', number, description: 'x', branches: {}, templates: ['t'],
    patchSet, revision: 'r', ref: `refs/changes/0${number}/${number}/${patchSet}`, updatedAt: NOW.toISOString(),
  };
}

/** A job of change `number`, patch set `ps`, that finished `daysAgo` days before NOW. */
function addJob(state: StateData, number: number, ps: number, status: 'success' | 'queued' | 'superseded', daysAgo: number): string {
  const when = new Date(NOW.getTime() - daysAgo * DAY);
  const job = enqueueJob(state, { configId: `p~${number}`, project: 'p', number, patchSet: ps, revision: 'r', template: 't' }, when);
  job.status = status;
  if (status !== 'queued') job.finishedAt = when.toISOString();
  return job.id;
}

describe('pruning old jobs', () => {
  it('drops finished jobs past the age, keeps recent ones, running ones and current patch sets\' results', () => {
    const state = emptyState();
    state.configs['p~1'] = config(1, 2);
    const oldPs1 = addJob(state, 1, 1, 'superseded', 40); // an older patch set of an open change
    const currentPs2 = addJob(state, 1, 2, 'success', 40); // still the change's current result
    const closedChange = addJob(state, 2, 1, 'success', 35); // its config was purged
    const recent = addJob(state, 2, 1, 'success', 5);
    const stillQueued = addJob(state, 3, 1, 'queued', 90);
    const plan = planPrune(state, 30 * DAY, NOW);
    expect(plan.remove).to.deep.equal([oldPs1, closedChange]);
    expect(plan.keptCurrent).to.equal(1);
    expect(plan.remove).to.not.include.members([currentPs2, recent, stillQueued]);
  });

  it('removes the jobs from the store and their log directories; --dry-run touches nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-prune-'));
    try {
      const store = new StateStore(path.join(dir, 'state.json'));
      const ids = await store.update((s) => [addJob(s, 5, 1, 'success', 60), addJob(s, 5, 1, 'success', 1)]);
      for (const id of ids) {
        fs.mkdirSync(store.jobDir(id), { recursive: true });
        fs.writeFileSync(path.join(store.jobDir(id), 'summary.json'), '{}');
      }
      const dry = await pruneJobs(store, { olderThanMs: 30 * DAY, now: NOW, dryRun: true });
      expect(dry.remove).to.deep.equal([ids[0]]);
      expect(Object.keys((await store.read()).jobs)).to.have.length(2);
      expect(fs.existsSync(store.jobDir(ids[0]!))).to.equal(true);

      const done = await pruneJobs(store, { olderThanMs: 30 * DAY, now: NOW });
      expect(done.logDirs).to.deep.equal([store.jobDir(ids[0]!)]);
      expect(Object.keys((await store.read()).jobs)).to.deep.equal([ids[1]]);
      expect(fs.existsSync(store.jobDir(ids[0]!))).to.equal(false);
      expect(fs.existsSync(store.jobDir(ids[1]!))).to.equal(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
