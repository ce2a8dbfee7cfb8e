import { expect } from 'chai';
import { planFire } from '../../src/bellows/fire.js';
import { planPurge } from '../../src/bellows/purge.js';
import { planRecheck } from '../../src/bellows/stream.js';
import { enqueueJob } from '../../src/queue/jobs.js';
import { poolOf } from '../../src/model.js';
import { applySyncPlan, planSync } from '../../src/bellows/sync.js';
import { NOW, POLICIES, TARGETS, addJob, change, state } from './fixtures.js';

describe('bellows/fire and purge planners', () => {
  it('fires current patch sets with no job per template, oldest change first, up to the limit', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(3), change(1), change(2, 1, { wip: true }), change(4, 1, { project: 'glance' })], { targets: TARGETS, policies: POLICIES }, NOW), NOW);
    addJob(s, 'nova', 1, 1, 'smoke', 'success');
    expect(planFire(s, TARGETS, POLICIES).map((j) => `${j.configId}:${j.template}`)).to.deep.equal(['glance~4:smoke', 'nova~1:full', 'nova~3:smoke', 'nova~3:full']);
    expect(planFire(s, TARGETS, POLICIES, { limit: 2 }).map((j) => j.configId)).to.deep.equal(['glance~4', 'nova~1']);
    expect(planFire(s, [TARGETS[1]!], POLICIES).map((j) => j.configId)).to.deep.equal(['glance~4']);
  });

  it('queues each job for its template\'s pool; a retry and a recheck keep it', () => {
    const s = state();
    const policies = { ...POLICIES, full: { ...POLICIES.full!, maxInfraRetries: 1, pool: 'libvirt' } };
    applySyncPlan(s, planSync(s, [change(1)], { targets: TARGETS, policies }, NOW), NOW);
    const queued = planFire(s, TARGETS, policies).map((j) => enqueueJob(s, j, NOW));
    expect(queued.map((j) => `${j.template}:${poolOf(j)}`)).to.deep.equal(['smoke:default', 'full:libvirt']);
    const full = queued.find((j) => j.template === 'full')!;
    Object.assign(full, { status: 'infra_failed', finishedAt: NOW.toISOString() });
    expect(planFire(s, TARGETS, policies).map((j) => `${j.template}:${j.reason}:${j.pool}`)).to.deep.equal(['full:retry:libvirt']);
    queued[0]!.status = 'success';
    expect(planRecheck(s, 'nova~1', policies).map((j) => `${j.template}:${j.pool ?? 'default'}`)).to.deep.equal(['smoke:default', 'full:libvirt']);
  });

  it('does not fire a patch set whose jobs were cancelled by hand', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1)], { targets: TARGETS, policies: POLICIES }, NOW), NOW);
    addJob(s, 'nova', 1, 1, 'smoke', 'cancelled');
    addJob(s, 'nova', 1, 1, 'full', 'cancelled');
    expect(planFire(s, TARGETS, POLICIES)).to.deep.equal([]);
  });

  it('purges only stored configs of closed changes and cancels their active jobs', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1), change(2)], { targets: TARGETS, policies: POLICIES }, NOW), NOW);
    const running = addJob(s, 'nova', 2, 1, 'smoke', 'running');
    const plan = planPurge(s, [
      { project: 'nova', number: 2, status: 'ABANDONED' },
      { project: 'nova', number: 1, status: 'NEW' },
      { project: 'nova', number: 7, status: 'MERGED' },
    ], NOW);
    expect(plan.purge).to.deep.equal([{ configId: 'nova~2', status: 'ABANDONED' }]);
    expect(plan.cancel).to.deep.equal([{ jobId: running.id, reason: 'cancelled: the change was abandoned' }]);
  });
});
