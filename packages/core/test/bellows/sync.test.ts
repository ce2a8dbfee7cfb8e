import { expect } from 'chai';
import { PURGE_MEMORY_MS, applySyncPlan, configFromChange, planSync } from '../../src/bellows/sync.js';
import { NOW, POLICIES, TARGETS, addJob, change, state } from './fixtures.js';

const opts = { targets: TARGETS, policies: POLICIES };

describe('bellows/sync planSync', () => {
  it('creates one test config per open change of a configured project branch', () => {
    const s = state();
    const plan = planSync(s, [change(1), change(2, 3, { project: 'glance', owner: { username: 'bob' } }), change(3, 1, { branch: 'stable/x' })], opts, NOW);
    expect(plan.create.map((c) => c.id)).to.deep.equal(['nova~1', 'glance~2']);
    expect(plan.ignored).to.deep.equal([{ project: 'nova', number: 3, reason: 'nova stable/x is not configured' }]);
    expect(plan.create[1]).to.deep.include({ description: 'bob: Change 2', patchSet: 3, revision: 'rev-2-3', ref: 'refs/changes/02/2/3', templates: ['smoke'] });
    expect(plan.create[1]!.branches).to.deep.equal({ glance: { url: 'https://git.example.org/glance', ref: 'refs/changes/02/2/3', mergeTarget: 'master', origin: 'change' } });
    expect(plan.enqueue).to.deep.equal([]);
  });

  it('queues one job per template with --fire, and nothing more on a second run', () => {
    const s = state();
    const first = applySyncPlan(s, planSync(s, [change(1)], { ...opts, fire: true }, NOW), NOW);
    expect(first.created).to.deep.equal(['nova~1']);
    expect(first.queued.map((j) => [j.template, j.patchSet, j.reason])).to.deep.equal([
      ['smoke', 1, 'new'],
      ['full', 1, 'new'],
    ]);
    const second = applySyncPlan(s, planSync(s, [change(1)], { ...opts, fire: true }, new Date(NOW.getTime() + 60_000)), NOW);
    expect(second).to.deep.equal({ created: [], updated: [], superseded: [], cancelled: [], purged: [], queued: [] });
  });

  it('a new patch set updates the config and supersedes queued/running jobs of older ones', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1)], opts, NOW), NOW);
    const running = addJob(s, 'nova', 1, 1, 'smoke', 'running');
    const done = addJob(s, 'nova', 1, 1, 'full', 'success');
    const out = applySyncPlan(s, planSync(s, [change(1, 2)], { ...opts, fire: true }, NOW), NOW);
    expect(out.updated).to.deep.equal(['nova~1']);
    expect(s.configs['nova~1']!.patchSet).to.equal(2);
    expect(out.superseded).to.deep.equal([running.id]);
    const newSmoke = out.queued.find((j) => j.template === 'smoke')!;
    expect(s.jobs[running.id]).to.deep.include({ status: 'superseded', supersededBy: newSmoke.id });
    expect(s.jobs[done.id]!.status).to.equal('success');
    expect(out.queued.map((j) => j.patchSet)).to.deep.equal([2, 2]);
  });

  it('without --fire names the new patch set as what superseded the job', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1)], opts, NOW), NOW);
    const queued = addJob(s, 'nova', 1, 1, 'smoke', 'queued');
    applySyncPlan(s, planSync(s, [change(1, 2)], opts, NOW), NOW);
    expect(s.jobs[queued.id]).to.deep.include({ status: 'superseded', supersededBy: 'patch set 2' });
  });

  it('never goes back to an older patch set when Gerrit data lags', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1, 3)], opts, NOW), NOW);
    const plan = planSync(s, [change(1, 2)], opts, NOW);
    expect(plan.update).to.deep.equal([]);
    expect(plan.ignored[0]!.reason).to.match(/older than the stored 3/);
  });

  it('keeps the newest of duplicate copies of a change', () => {
    const plan = planSync(state(), [change(1, 2), change(1, 3), change(1, 1)], opts, NOW);
    expect(plan.create.map((c) => c.patchSet)).to.deep.equal([3]);
  });

  it('keeps WIP changes as configs without firing, cancels their queued jobs, and fires when ready again', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1)], { ...opts, fire: true }, NOW), NOW);
    const smoke = Object.values(s.jobs).find((j) => j.template === 'smoke')!;
    smoke.status = 'running';
    const wip = applySyncPlan(s, planSync(s, [change(1, 1, { wip: true })], { ...opts, fire: true }, NOW), NOW);
    expect(s.configs['nova~1']!.wip).to.equal(true);
    expect(wip.queued).to.deep.equal([]);
    expect(wip.cancelled).to.have.length(1);
    expect(s.jobs[wip.cancelled[0]!]!.template).to.equal('full');
    expect(smoke.status).to.equal('running');
    const ready = applySyncPlan(s, planSync(s, [change(1)], { ...opts, fire: true }, NOW), NOW);
    expect(ready.queued.map((j) => [j.template, j.attempt])).to.deep.equal([['full', 2]]);
  });

  it('purges closed changes seen in a sweep and cancels their queued/running jobs', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1), change(2)], opts, NOW), NOW);
    const q = addJob(s, 'nova', 1, 1, 'smoke', 'queued');
    const ok = addJob(s, 'nova', 1, 1, 'full', 'success');
    const out = applySyncPlan(s, planSync(s, [change(1, 1, { status: 'MERGED' }), change(9, 1, { status: 'ABANDONED' })], opts, NOW), NOW);
    expect(out.purged).to.deep.equal(['nova~1']);
    expect(out.cancelled).to.deep.equal([q.id]);
    expect(s.configs['nova~1']).to.equal(undefined);
    expect(s.configs['nova~2']).to.not.equal(undefined);
    expect(s.jobs[q.id]!.message).to.equal('cancelled: the change was merged');
    expect(s.jobs[ok.id]!.status).to.equal('success');
  });

  it('re-queues an infra failure while retries remain, never beyond', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1)], opts, NOW), NOW);
    addJob(s, 'nova', 1, 1, 'smoke', 'infra_failed', { attempt: 2 });
    addJob(s, 'nova', 1, 1, 'full', 'infra_failed', { attempt: 1 });
    const out = applySyncPlan(s, planSync(s, [change(1)], { ...opts, fire: true }, NOW), NOW);
    expect(out.queued.map((j) => [j.template, j.attempt, j.reason])).to.deep.equal([['smoke', 3, 'retry']]);
  });

  it('updates a config when only its metadata changed, and leaves it alone otherwise', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [change(1)], opts, NOW), NOW);
    expect(planSync(s, [change(1)], opts, new Date(NOW.getTime() + 1000)).update).to.deep.equal([]);
    const renamed = planSync(s, [change(1, 1, { subject: 'Better subject', topic: 'bug/1' })], opts, NOW);
    expect(renamed.update[0]).to.deep.include({ description: 'Alice: Better subject', topic: 'bug/1' });
  });

  it('rejects a change whose data cannot be trusted, and plans the rest', () => {
    const plan = planSync(state(), [change(1, 0, { currentPatchSet: { number: 0, revision: '', ref: '' } }), change(2), change(3, 1, { project: 'nova/../x' })], opts, NOW);
    expect(plan.create.map((c) => c.id)).to.deep.equal(['nova~2']);
    expect(plan.rejected.map((r) => [r.number, r.reason])).to.deep.equal([
      [1, "no current patch set in Gerrit's answer"],
      [3, 'project name "nova/../x" has an empty, "." or ".." path segment'],
    ]);
  });

  describe('a change seen closed against an older answer that shows it open', () => {
    const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);

    it('an answer asked for before the change was seen merged brings back neither its config nor its jobs', () => {
      const s = state();
      applySyncPlan(s, planSync(s, [change(1)], { ...opts, fire: true }, at(0)), at(0));
      applySyncPlan(s, planSync(s, [change(1, 1, { status: 'MERGED' })], { ...opts, observedAt: at(2) }, at(2)), at(2));
      expect(s.purged['nova~1']).to.deep.equal({ status: 'MERGED', observedAt: at(2).toISOString() });
      const late = planSync(s, [change(1, 2)], { ...opts, fire: true, observedAt: at(1) }, at(3));
      expect(late.create).to.deep.equal([]);
      expect(late.enqueue).to.deep.equal([]);
      expect(late.ignored[0]!.reason).to.equal('seen merged after this answer was asked for');
    });

    it('merged is final; an abandoned change seen open by a later answer comes back and is forgotten as purged', () => {
      const s = state();
      applySyncPlan(s, planSync(s, [change(1, 1, { status: 'MERGED' }), change(2, 1, { status: 'ABANDONED' })], { ...opts, observedAt: at(0) }, at(0)), at(0));
      const later = planSync(s, [change(1), change(2)], { ...opts, fire: true, observedAt: at(1) }, at(1));
      expect(later.create.map((c) => c.id)).to.deep.equal(['nova~2']);
      applySyncPlan(s, later, at(1));
      expect(Object.keys(s.purged)).to.deep.equal(['nova~1']);
      expect(s.configs['nova~2']!.seenAt).to.equal(at(1).toISOString());
    });

    it('a closed answer older than the config’s last open one leaves an abandoned change alone, never a merged one', () => {
      const s = state();
      applySyncPlan(s, planSync(s, [change(1), change(2)], { ...opts, fire: true, observedAt: at(5) }, at(5)), at(5));
      const stale = planSync(s, [change(1, 1, { status: 'ABANDONED' }), change(2, 1, { status: 'MERGED' })], { ...opts, observedAt: at(4) }, at(6));
      expect(stale.purge).to.deep.equal([{ configId: 'nova~2', status: 'MERGED' }]);
      expect(stale.cancel.map((c) => s.jobs[c.jobId]!.configId)).to.deep.equal(['nova~2', 'nova~2']);
    });

    it('an unchanged config still records when it was last seen open', () => {
      const s = state();
      applySyncPlan(s, planSync(s, [change(1)], { ...opts, observedAt: at(0) }, at(0)), at(0));
      const again = applySyncPlan(s, planSync(s, [change(1)], { ...opts, observedAt: at(9) }, at(9)), at(9));
      expect(again.updated).to.deep.equal([]);
      expect(s.configs['nova~1']!.seenAt).to.equal(at(9).toISOString());
    });

    it('forgets purged changes after PURGE_MEMORY_MS', () => {
      const s = state();
      applySyncPlan(s, planSync(s, [change(1, 1, { status: 'ABANDONED' })], { ...opts, observedAt: at(0) }, at(0)), at(0));
      applySyncPlan(s, planSync(s, [], opts, new Date(at(0).getTime() + PURGE_MEMORY_MS - 1)), new Date(at(0).getTime() + PURGE_MEMORY_MS - 1));
      expect(Object.keys(s.purged)).to.deep.equal(['nova~1']);
      applySyncPlan(s, planSync(s, [], opts, at(1)), new Date(at(1).getTime() + PURGE_MEMORY_MS));
      expect(s.purged).to.deep.equal({});
    });
  });

  it('configFromChange names an unknown owner', () => {
    expect(configFromChange(change(1, 1, { owner: {} }), TARGETS[0]!, NOW).description).to.equal('unknown: Change 1');
  });
});

describe('bellows/sync planSync: Depends-On', () => {
  const glanceDep = (patchSet: number, status: 'NEW' | 'MERGED' = 'NEW') => ({
    project: 'glance', number: 20, branch: 'master', status, patchSet, revision: `rev-20-${patchSet}`, ref: status === 'NEW' ? `refs/changes/20/20/${patchSet}` : 'refs/heads/master', url: 'https://git.example.org/glance',
  });
  const resolved = (id: string, dependencies: ReturnType<typeof glanceDep>[], problem?: string) => new Map([[id, { dependencies, ignored: [], ...(problem ? { problem } : {}) }]]);
  const nova1 = () => change(1, 1, { dependsOn: ['I20'] });

  it('a change’s jobs are queued with the changes it depends on, which its config records', () => {
    const s = state();
    const out = applySyncPlan(s, planSync(s, [nova1()], { ...opts, fire: true, dependencies: resolved('nova~1', [glanceDep(1)]) }, NOW), NOW);
    expect(s.configs['nova~1']).to.deep.include({ dependsOn: ['I20'], dependencies: [glanceDep(1)] });
    expect(out.queued.map((j) => [j.template, j.dependencies?.map((d) => `${d.project} ${d.number},${d.patchSet}`)])).to.deep.equal([
      ['smoke', ['glance 20,1']],
      ['full', ['glance 20,1']],
    ]);
  });

  it('a new patch set of a dependency supersedes the running jobs of the changes depending on it, re-queues them, and reports again', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [nova1()], { ...opts, fire: true, dependencies: resolved('nova~1', [glanceDep(1)]) }, NOW), NOW);
    const [smoke, full] = Object.values(s.jobs);
    smoke!.status = 'running';
    full!.status = 'success';
    s.votes['nova~1~1'] = { project: 'nova', number: 1, patchSet: 1, revision: 'rev-1-1', vote: 1, message: 'ok', postedAt: NOW.toISOString() };
    // The sweep saw glance 20 at patch set 2: nova 1 (not in the sweep) is resolved again.
    const glance20 = change(20, 2, { project: 'glance' });
    const out = applySyncPlan(s, planSync(s, [glance20], { ...opts, fire: true, dependencies: resolved('nova~1', [glanceDep(2)]) }, NOW), NOW);
    expect(out.updated).to.include('nova~1');
    expect(out.superseded).to.deep.equal([smoke!.id]);
    expect(s.jobs[smoke!.id]!.message).to.equal('superseded: Depends-On glance 20 has patch set 2');
    const requeued = out.queued.filter((j) => j.configId === 'nova~1');
    expect(requeued.map((j) => [j.template, j.reason, j.attempt, j.dependencies![0]!.patchSet])).to.deep.equal([
      ['smoke', 'dependency', 2, 2],
      ['full', 'dependency', 2, 2],
    ]);
    expect(s.jobs[smoke!.id]!.supersededBy).to.equal(requeued[0]!.id);
    expect(s.votes['nova~1~1'], 'the patch set is reported again').to.equal(undefined);
    // Merging the dependency later moves nothing: its content is what was tested.
    const again = applySyncPlan(s, planSync(s, [change(20, 2, { project: 'glance', status: 'MERGED' })], { ...opts, fire: true, dependencies: resolved('nova~1', [glanceDep(2, 'MERGED')]) }, NOW), NOW);
    expect(again.superseded).to.deep.equal([]);
    expect(again.queued.filter((j) => j.configId === 'nova~1')).to.deep.equal([]);
  });

  it('a Depends-On problem cancels the patch set’s jobs and queues none; once it clears they run and its report is forgotten', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [nova1()], { ...opts, fire: true, dependencies: resolved('nova~1', [glanceDep(1)]) }, NOW), NOW);
    const problem = 'Depends-On glance 20 (Quota API) is abandoned';
    const out = applySyncPlan(s, planSync(s, [change(20, 1, { project: 'glance', status: 'ABANDONED' })], { ...opts, fire: true, dependencies: resolved('nova~1', [], problem) }, NOW), NOW);
    expect(out.cancelled).to.have.length(2);
    expect(Object.values(s.jobs).filter((j) => j.configId === 'nova~1').map((j) => j.message)).to.deep.equal([`cancelled: ${problem}`, `cancelled: ${problem}`]);
    expect(out.queued.filter((j) => j.configId === 'nova~1')).to.deep.equal([]);
    expect(s.configs['nova~1']!.dependencyProblem).to.equal(problem);
    s.votes['nova~1~1'] = { project: 'nova', number: 1, patchSet: 1, revision: 'rev-1-1', vote: null, message: `cannot test: ${problem}`, postedAt: NOW.toISOString(), problem };
    const restored = applySyncPlan(s, planSync(s, [change(20, 1, { project: 'glance' })], { ...opts, fire: true, dependencies: resolved('nova~1', [glanceDep(1)]) }, NOW), NOW);
    expect(restored.queued.filter((j) => j.configId === 'nova~1').map((j) => [j.template, j.reason])).to.deep.equal([['smoke', 'new'], ['full', 'new']]);
    expect(s.configs['nova~1']).to.not.have.property('dependencyProblem');
    expect(s.votes['nova~1~1']).to.equal(undefined);
  });

  it('a change whose footers could not be resolved in this run keeps what its config had', () => {
    const s = state();
    applySyncPlan(s, planSync(s, [nova1()], { ...opts, dependencies: resolved('nova~1', [glanceDep(1)]) }, NOW), NOW);
    applySyncPlan(s, planSync(s, [change(1, 2, { dependsOn: ['I20'] })], opts, NOW), NOW);
    expect(s.configs['nova~1']!.dependencies).to.deep.equal([glanceDep(1)]);
    applySyncPlan(s, planSync(s, [change(1, 3, { dependsOn: [] })], opts, NOW), NOW);
    expect(s.configs['nova~1']).to.not.have.property('dependencies');
  });
});
