import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { StateStore, enqueueJob, queueBaseline, type FlakyList, type TestRun } from '@smokestack/core';
import { runCli } from '@smokestack/testkit';

const run = (jobId: string, passed: string[], failed: string[], fields: Partial<TestRun> = {}): TestRun => ({
  jobId, project: 'openstack/nova', template: 'nova-full', kind: 'queue', revisionSet: 'nova-full build:nova@c1+m1', finishedAt: new Date().toISOString(), passed, failed, skipped: [], ...fields,
});

describe('bellows commands that say whose fault a failure is', () => {
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bellows-fault-'));
    env = { SMOKESTACK_STATE: path.join(dir, 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
    const store = new StateStore(env.SMOKESTACK_STATE!);
    await store.update((s) => {
      const job = enqueueJob(s, { configId: 'openstack/nova~101', project: 'openstack/nova', number: 101, patchSet: 2, revision: 'a'.repeat(40), template: 'nova-gate' }, new Date());
      Object.assign(job, {
        status: 'incomplete',
        finishedAt: new Date().toISOString(),
        summary: { tests: 3, failures: 0, errors: 0, skipped: 2, durationMs: 1000 },
        skipped: [{ id: 'nova.tests.test_libvirt_spawn', reason: 'libvirt not available' }, { id: 'nova.tests.test_xen', reason: 'no xen' }],
        requiredSkipped: [{ id: 'nova.tests.test_libvirt_spawn', pattern: '*libvirt*', reason: 'libvirt not available', template: 'nova-gate' }],
        message: '1 required test(s) did not run: nova.tests.test_libvirt_spawn (libvirt not available)',
      });
      queueBaseline(s, { key: 'k', template: 'nova-gate', branch: 'master', projects: { 'openstack/nova': { url: 'u', branch: 'master', revision: 'b'.repeat(40) } }, requestedBy: job.id }, 'openstack/nova', new Date());
    });
    await store.recordTestRun(run('j7', ['nova.tests.test_racy'], []));
    await store.recordTestRun(run('j8', [], ['nova.tests.test_racy']));
    await store.recordTestRun(run('j9', ['glance.test_b'], [], { project: 'openstack/glance', revisionSet: 'g' }));
    await store.recordTestRun(run('j10', [], ['glance.test_b'], { project: 'openstack/glance', revisionSet: 'g' }));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('tests flaky lists tests that both passed and failed on one revision set, per project, as a table or JSON', async () => {
    const table = await runCli('bellows', ['tests', 'flaky'], { env });
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.match(/nova\.tests\.test_racy[\s│]+openstack\/nova[\s│]+nova-full[\s│]+1[\s│]+2[\s│]+1[\s│]+/);
    expect(table.stdout).to.contain('glance.test_b');
    const nova = await runCli('bellows', ['tests', 'flaky', '--project', 'openstack/nova', '--json'], { env });
    const list = nova.json<FlakyList>();
    expect(list.tests.map((t) => [t.project, t.id, t.failed, t.runs, t.revisionSets])).to.deep.equal([['openstack/nova', 'nova.tests.test_racy', 1, 2, 1]]);
    const none = await runCli('bellows', ['tests', 'flaky', '--project', 'openstack/swift'], { env });
    expect(none.stdout).to.match(/^No flaky tests seen since \d{4}-\d\d-\d\d\./);
  });

  it('jobs show names the required tests that did not run apart from ordinary skips', async () => {
    const shown = await runCli('bellows', ['jobs', 'show', 'j1'], { env });
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.contain('job j1: incomplete — 1 required test(s) did not run');
    expect(shown.stdout).to.contain(
      'required tests that did not run:\n  - nova.tests.test_libvirt_spawn — skipped: libvirt not available — required by template nova-gate\nskipped tests:\n  - nova.tests.test_xen (no xen)\n',
    );
  });

  it('jobs show and list tell a baseline job from a change’s, and list either kind alone', async () => {
    const shown = await runCli('bellows', ['jobs', 'show', 'j2'], { env });
    expect(shown.stdout).to.contain(`baseline:  openstack/nova master at ${'b'.repeat(12)} (asked for by j1; never votes)`);
    const list = await runCli('bellows', ['jobs', 'list'], { env });
    expect(list.stdout).to.match(/j2[\s│]+openstack\/nova[\s│]+baseline master[\s│]+nova-gate[\s│]+queued/);
    expect(list.stdout).to.match(/j1[\s│]+openstack\/nova[\s│]+101,2[\s│]+nova-gate[\s│]+incomplete/);
    const incomplete = await runCli('bellows', ['jobs', 'list', '--status', 'incomplete', '--json'], { env });
    expect(incomplete.json<{ jobs: Array<{ id: string }> }>().jobs.map((j) => j.id)).to.deep.equal(['j1']);
    const ids = async (kind: string) => (await runCli('bellows', ['jobs', 'list', '--kind', kind, '--json'], { env })).json<{ jobs: Array<{ id: string }> }>().jobs.map((j) => j.id);
    expect(await ids('baseline')).to.deep.equal(['j2']);
    expect(await ids('change')).to.deep.equal(['j1']);
    expect(await ids('queue'), 'what workers take from the queue').to.deep.equal(['j2', 'j1']);
  });
});
