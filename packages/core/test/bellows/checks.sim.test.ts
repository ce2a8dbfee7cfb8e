import { expect } from 'chai';
import { reportChecks } from '../../src/bellows/checks.js';
import { syncProjects } from '../../src/bellows/sync.js';
import { createBellowsContext } from '../../src/bellows/context.js';
import { queueOf } from '../../src/queue/queue.js';
import type { JobResult } from '../../src/queue/transitions.js';
import { finishJobs, startHarness, type Harness } from './harness.js';

const EMPTY_RESULT: JobResult = {
  status: 'success',
  message: '',
  summary: { tests: 0, failures: 0, errors: 0, skipped: 0, durationMs: 0 },
  skipped: [],
  failedTests: [],
  sources: [],
  stages: [],
  timing: { wallMs: 0, remoteMs: 0, overheadMs: 0 },
};

const URL = 'https://ci.example.org/smokestack';

describe('bellows checks against the Gerrit simulator with the checks plugin', function () {
  this.timeout(30_000);
  let h: Harness;
  afterEach(() => h?.stop());

  async function harness(blocking = false, templates = ['smoke', 'full']): Promise<Harness> {
    const started = await startHarness({
      sim: { checksPlugin: true },
      gerrit: { checks: { scheme: 'smokestack', blocking } },
      projects: [{ name: 'nova', templates }],
      templates: Object.fromEntries(templates.map((t) => [t, {}])),
    });
    const loaded = { ...started.loaded, config: { ...started.loaded.config, web: { url: `${URL}/` } } };
    return { ...started, loaded, ctx: createBellowsContext({ loaded, store: started.store, password: 'secret', backoff: { baseMs: 2, maxMs: 20 } }) };
  }

  const statesOf = (h: Harness, number: number, checker: string) => h.sim.checkUpdates(number).filter((u) => u.checker === checker).map((u) => `${u.patchSet}:${u.state}`);

  it('moves each template\'s check SCHEDULED → RUNNING → SUCCESSFUL or FAILED, linking the job page, and registers each checker once', async () => {
    h = await harness(true);
    const c = h.sim.createChange({ project: 'nova', subject: 'a change' });
    await syncProjects(h.ctx, { fire: true });
    const queued = await reportChecks(h.ctx);
    expect(queued.posted.map((p) => `${p.template}:${p.state}`).sort()).to.deep.equal(['full:SCHEDULED', 'smoke:SCHEDULED']);
    expect(queued.checkers.sort()).to.deep.equal(['smokestack:nova.full', 'smokestack:nova.smoke']);
    expect(h.sim.checkers().map((k) => ({ uuid: k.uuid, repository: k.repository, blocking: k.blocking }))).to.deep.include({ uuid: 'smokestack:nova.smoke', repository: 'nova', blocking: ['STATE_NOT_PASSING'] });
    // A queued job has no page yet: its check links to the status page.
    expect(h.sim.checkUpdates(c.number)[0]!.url).to.equal(`${URL}/status/`);

    await h.store.update((s) => {
      for (const j of Object.values(s.jobs)) Object.assign(j, { status: 'running', startedAt: new Date().toISOString(), worker: 'ci1:1' });
    });
    await reportChecks(h.ctx);
    await finishJobs(h.store, 'success', (j) => j.template === 'smoke');
    await finishJobs(h.store, 'test_failed', (j) => j.template === 'full', { message: '1 test failed' });
    await reportChecks(h.ctx);
    const again = await reportChecks(h.ctx);

    expect(statesOf(h, c.number, 'smokestack:nova.smoke')).to.deep.equal(['1:SCHEDULED', '1:RUNNING', '1:SUCCESSFUL']);
    expect(statesOf(h, c.number, 'smokestack:nova.full')).to.deep.equal(['1:SCHEDULED', '1:RUNNING', '1:FAILED']);
    expect(again.posted, 'a run with nothing new posts nothing').to.deep.equal([]);
    expect(again.unchanged).to.equal(2);
    expect(h.sim.checkers()).to.have.length(2);
    const jobs = Object.values((await h.store.read()).jobs);
    const full = jobs.find((j) => j.template === 'full')!;
    const last = h.sim.checkUpdates(c.number).at(-1)!;
    expect(last).to.deep.include({ checker: 'smokestack:nova.full', state: 'FAILED', url: `${URL}/jobs/${full.id}/`, by: 'smokestack' });
    expect(last.message).to.equal("Tests failed. 10 tests, 1 failed, 1 skipped. The change's fault: 1 test failed.");
    expect((await h.store.read()).activity?.checks).to.deep.include({ ok: true, summary: '0 check(s) updated, 2 unchanged' });
  });

  it('a superseded patch set\'s checks become NOT_RELEVANT while the new patch set\'s are SCHEDULED', async () => {
    h = await harness();
    const c = h.sim.createChange({ project: 'nova', subject: 'moving' });
    await syncProjects(h.ctx, { fire: true });
    await reportChecks(h.ctx);
    h.sim.uploadPatchSet(c.number);
    await syncProjects(h.ctx, { fire: true });
    await reportChecks(h.ctx);
    expect(statesOf(h, c.number, 'smokestack:nova.smoke')).to.have.members(['1:SCHEDULED', '1:NOT_RELEVANT', '2:SCHEDULED']);
    expect(statesOf(h, c.number, 'smokestack:nova.smoke').indexOf('1:NOT_RELEVANT')).to.be.greaterThan(0);
  });

  it('an infrastructure failure with a retry queued is SCHEDULED again; with none left it is FAILED, saying it is not the change\'s fault', async () => {
    h = await harness(false, ['smoke']);
    const c = h.sim.createChange({ project: 'nova', subject: 'flaky cloud' });
    await syncProjects(h.ctx, { fire: true });
    const queue = queueOf(h.store);
    const lost = (): JobResult => ({ ...EMPTY_RESULT, status: 'infra_failed', message: 'ssh to the gateway was lost' });
    const first = (await queue.claim('ci1:1', new Date()))!;
    await reportChecks(h.ctx);
    await queue.finish(first.id, lost(), new Date(), { maxInfraRetries: 1 });
    await reportChecks(h.ctx);
    const retry = (await queue.claim('ci1:1', new Date()))!;
    expect(retry.retryOf).to.equal(first.id);
    await reportChecks(h.ctx);
    await queue.finish(retry.id, lost(), new Date(), { maxInfraRetries: 1 });
    await reportChecks(h.ctx);
    const checker = `smokestack:nova.${first.template}`;
    expect(statesOf(h, c.number, checker)).to.deep.equal(['1:RUNNING', '1:SCHEDULED', '1:RUNNING', '1:FAILED']);
    const last = h.sim.checkUpdates(c.number).filter((u) => u.checker === checker).at(-1)!;
    expect(last.url).to.equal(`${URL}/jobs/${retry.id}/`);
    expect(last.message).to.match(/^Infrastructure failure\. Not the change's fault: the test machinery failed \(ssh to the gateway was lost\)/);
  });

  it('without the plugin on the server, each patch set fails in one line and nothing stored is lost', async () => {
    const started = await startHarness({ gerrit: { checks: {} } });
    h = started;
    h.sim.createChange({ project: 'nova', subject: 'no plugin' });
    await syncProjects(h.ctx, { fire: true });
    const before = await h.store.read();
    const result = await reportChecks(h.ctx);
    expect(result.errors).to.have.length(1);
    expect(result.errors[0]!.message).to.match(/checks\/: HTTP 404|POST \/plugins\/checks\/checkers\/: HTTP 404/);
    const after = await h.store.read();
    expect(after.jobs).to.deep.equal(before.jobs);
    expect(after.activity?.checks).to.deep.include({ ok: false });
  });

  it('refuses to run when gerrit.checks is not set', async () => {
    h = await startHarness();
    try {
      await reportChecks(h.ctx);
      expect.fail('expected a UserError');
    } catch (err) {
      expect((err as Error).message).to.equal('gerrit.checks is not set: nothing reports to the checks plugin');
    }
  });
});
