import { expect } from 'chai';
import { commentResults } from '../../src/bellows/comment.js';
import { retryJob } from '../../src/bellows/job-actions.js';
import { handleEvent } from '../../src/bellows/stream.js';
import { syncProjects } from '../../src/bellows/sync.js';
import type { Job } from '../../src/model.js';
import { finishJobs, startHarness, type Harness } from './harness.js';

// Changes tested together: Depends-On footers across the simulator's projects, through bellows.
describe('bellows and Depends-On against the Gerrit simulator', function () {
  this.timeout(60_000);
  let h: Harness;
  afterEach(() => h?.stop());

  const start = () => startHarness({ projects: [{ name: 'nova', templates: ['smoke'] }, { name: 'glance', templates: ['smoke'] }], templates: { smoke: {} } });
  const jobsOf = async (number: number): Promise<Job[]> => Object.values((await h.store.read()).jobs).filter((j) => j.number === number);
  const tested = (job: Job) => (job.dependencies ?? []).map((d) => `${d.project} ${d.number},${d.patchSet}`);

  /** nova 1 ← glance 2 (by Change-Id) ← nova 3 (by URL): a chain of three changes across two projects. */
  function chain() {
    const c1 = h.sim.createChange({ project: 'nova', subject: 'Add the quota API' });
    const c2 = h.sim.createChange({ project: 'glance', subject: 'Use the quota API', message: `Depends-On: ${c1.changeId}` });
    const c3 = h.sim.createChange({ project: 'nova', subject: 'Enforce quotas', message: `Enforce them everywhere.\n\nDepends-On: ${h.sim.httpUrl}/c/glance/+/${c2.number}` });
    return { c1, c2, c3 };
  }

  it('a chain of three changes across two projects: each job tests its change with those it depends on, in dependency order', async () => {
    h = await start();
    const { c1, c2, c3 } = chain();
    await syncProjects(h.ctx, { fire: true });
    const state = await h.store.read();
    expect(state.configs[`nova~${c3.number}`]!.dependencies!.map((d) => `${d.project} ${d.number} ${d.ref}`)).to.deep.equal([
      `nova ${c1.number} refs/changes/01/1/1`,
      `glance ${c2.number} refs/changes/02/2/1`,
    ]);
    expect(state.configs[`nova~${c3.number}`]!.dependencies![1]!.url).to.equal(h.sim.gitUrl('glance'));
    expect((await jobsOf(c3.number)).map(tested)).to.deep.equal([['nova 1,1', 'glance 2,1']]);
    expect((await jobsOf(c2.number)).map(tested)).to.deep.equal([['nova 1,1']]);
    expect((await jobsOf(c1.number)).map(tested)).to.deep.equal([[]]);
  });

  it('a new patch set of a change supersedes and re-queues the jobs of the changes depending on it, through the chain', async () => {
    h = await start();
    const { c1, c2, c3 } = chain();
    await syncProjects(h.ctx, { fire: true });
    await h.store.update((s) => void Object.values(s.jobs).forEach((j) => (j.status = 'running')));
    h.sim.uploadPatchSet(c1.number);
    const out = await syncProjects(h.ctx, { fire: true });
    expect(out.superseded).to.have.length(3);
    for (const number of [c2.number, c3.number]) {
      const jobs = await jobsOf(number);
      expect(jobs.map((j) => [j.status, j.reason])).to.deep.equal([['superseded', 'new'], ['queued', 'dependency']]);
      expect(jobs[0]!.message).to.equal(`superseded: Depends-On nova ${c1.number} has patch set 2`);
      expect(tested(jobs[1]!)[0]).to.equal('nova 1,2');
    }
    // Nothing moved since: a second sync re-queues nothing.
    expect((await syncProjects(h.ctx, { fire: true })).queued).to.deep.equal([]);
  });

  it('an abandoned dependency is reported on the changes depending on it in one line, without a vote; restored, they run', async () => {
    h = await start();
    const { c1, c2, c3 } = chain();
    await syncProjects(h.ctx, { fire: true });
    h.sim.abandon(c1.number, 'wrong approach');
    const out = await syncProjects(h.ctx, { fire: true });
    expect(out.cancelled.length).to.be.at.least(2);
    await commentResults(h.ctx);
    for (const number of [c2.number, c3.number]) {
      const reviews = h.sim.reviews(number);
      expect(reviews, `change ${number}`).to.have.length(1);
      expect(reviews[0]!.labels).to.deep.equal({});
      expect(reviews[0]!.message).to.equal(`SmokeStack: cannot test patch set 1, no vote: Depends-On nova ${c1.number} (Add the quota API) is abandoned.`);
    }
    await commentResults(h.ctx);
    expect(h.sim.reviews(c3.number)).to.have.length(1);
    const [cancelled] = await jobsOf(c3.number);
    let refusal = '';
    await retryJob(h.store, cancelled!.id, new Date()).catch((err: Error) => (refusal = err.message));
    expect(refusal).to.equal(`job ${cancelled!.id}: change ${c3.number} cannot be tested now: Depends-On nova ${c1.number} (Add the quota API) is abandoned`);

    h.sim.restore(c1.number);
    const restored = await syncProjects(h.ctx, { fire: true });
    expect(restored.queued.filter((j) => j.number === c3.number).map(tested)).to.deep.equal([['nova 1,1', 'glance 2,1']]);
    await finishJobs(h.store, 'success');
    await commentResults(h.ctx);
    expect(h.sim.reviews(c3.number).map((r) => r.labels.Verified ?? null)).to.deep.equal([null, 1]);
    expect(h.sim.reviews(c3.number)[1]!.message).to.contain(`Tested together with (Depends-On): nova ${c1.number},1, glance ${c2.number},1`);
  });

  it('a cycle is reported once, not followed; an unknown change is reported; other servers’ changes are left alone', async () => {
    h = await start();
    const a = h.sim.createChange({ project: 'nova', subject: 'A' });
    const b = h.sim.createChange({ project: 'glance', subject: 'B', message: `Depends-On: ${a.changeId}` });
    h.sim.uploadPatchSet(a.number, { message: `Depends-On: ${b.changeId}` });
    const lonely = h.sim.createChange({ project: 'nova', subject: 'Needs a ghost', message: `Depends-On: https://github.com/org/lib/pull/1\nDepends-On: ${h.sim.httpUrl}/c/glance/+/999` });
    const requests = h.sim.requestCount;
    await syncProjects(h.ctx, { fire: true });
    expect(h.sim.requestCount - requests, 'a bounded number of requests').to.be.below(12);
    const state = await h.store.read();
    expect(state.configs[`nova~${a.number}`]!.dependencyProblem).to.equal(`Depends-On cycle: nova ${a.number} → glance ${b.number} → nova ${a.number}`);
    expect(state.configs[`nova~${lonely.number}`]!.dependencyProblem).to.equal(`Depends-On: ${h.sim.httpUrl}/c/glance/+/999: Gerrit shows no such change`);
    expect((await jobsOf(a.number)).concat(await jobsOf(lonely.number))).to.deep.equal([]);
    await commentResults(h.ctx);
    expect(h.sim.reviews(a.number)[0]!.message).to.match(/^SmokeStack: cannot test patch set 2, no vote: Depends-On cycle: /);
  });

  it('an answer about a dependency that cannot be read fails the sweep that needed it; the next sync repeats it', async () => {
    h = await start();
    const lib = h.sim.createChange({ project: 'glance', subject: 'Library' });
    const app = h.sim.createChange({ project: 'nova', subject: 'App', message: `Depends-On: ${h.sim.httpUrl}/c/glance/+/${lib.number}` });
    h.sim.corruptChangeInfo(lib.number, () => null);
    const failed = await syncProjects(h.ctx, { fire: true, projects: ['nova'] });
    expect(failed.errors).to.deep.equal([{ project: 'nova', branch: 'master', message: `Depends-On: gerrit: change: expected a ChangeInfo object` }]);
    expect((await h.store.read()).configs).to.not.have.property(`nova~${app.number}`);
    h.sim.corruptChangeInfo(lib.number, undefined);
    const repeated = await syncProjects(h.ctx, { fire: true, projects: ['nova'] });
    expect(repeated.errors).to.deep.equal([]);
    expect((await jobsOf(app.number)).map(tested)).to.deep.equal([[`glance ${lib.number},1`]]);
  });

  it('the event stream: a dependency’s new patch set re-queues its dependents; its merge leaves their results alone', async () => {
    h = await start();
    const { c1, c3 } = chain();
    await syncProjects(h.ctx, { fire: true });
    await finishJobs(h.store, 'success');
    const ps2 = h.sim.uploadPatchSet(c1.number);
    const event = { type: 'patchset-created', change: { project: 'nova', branch: 'master', number: c1.number }, patchSet: { number: ps2.number }, eventCreatedOn: 1 };
    const handled = await handleEvent(h.ctx, event, { fire: true });
    expect(handled.outcome.queued.filter((j) => j.number === c3.number).map((j) => j.reason)).to.deep.equal(['dependency']);
    await finishJobs(h.store, 'success');
    h.sim.merge(c1.number);
    const merged = await handleEvent(h.ctx, { type: 'change-merged', change: { project: 'nova', branch: 'master', number: c1.number }, eventCreatedOn: 2 }, { fire: true });
    expect(merged.outcome.queued).to.deep.equal([]);
    const config = (await h.store.read()).configs[`nova~${c3.number}`]!;
    expect(config.dependencies![0]).to.deep.include({ status: 'MERGED', ref: 'refs/heads/master' });
  });
});
