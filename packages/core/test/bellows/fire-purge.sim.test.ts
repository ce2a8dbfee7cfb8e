import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { fireJobs } from '../../src/bellows/fire.js';
import { saveGerritPassword } from '../../src/bellows/login.js';
import { purgeChanges } from '../../src/bellows/purge.js';
import { syncProjects } from '../../src/bellows/sync.js';
import { gerritHttpPassword } from '../../src/config/credentials.js';
import { finishJobs, startHarness, type Harness } from './harness.js';

describe('bellows fire, purge and login against the Gerrit simulator', function () {
  this.timeout(30_000);
  let h: Harness;
  afterEach(() => h?.stop());

  it('fire queues jobs for current patch sets that have none, up to --limit changes, then nothing', async () => {
    h = await startHarness({ projects: [{ name: 'nova', templates: ['smoke', 'full'] }, { name: 'glance', templates: ['smoke'] }] });
    for (let i = 0; i < 5; i++) h.sim.createChange({ project: i < 3 ? 'nova' : 'glance', subject: `c${i}` });
    await syncProjects(h.ctx);
    const limited = await fireJobs(h.ctx, { limit: 2, projects: ['nova'] });
    expect(limited.queued.map((j) => `${j.number}:${j.template}`)).to.deep.equal(['1:smoke', '1:full', '2:smoke', '2:full']);
    const rest = await fireJobs(h.ctx);
    expect(rest.queued.map((j) => `${j.project}:${j.number}`)).to.deep.equal(['glance:4', 'glance:5', 'nova:3', 'nova:3']);
    expect((await fireJobs(h.ctx)).queued).to.deep.equal([]);
  });

  it('fire re-queues an infra failure while retries remain', async () => {
    h = await startHarness({ projects: [{ name: 'nova', templates: ['smoke'] }], templates: { smoke: { maxInfraRetries: 1 } } });
    h.sim.createChange({ project: 'nova', subject: 'flaky' });
    await syncProjects(h.ctx, { fire: true });
    await finishJobs(h.store, 'infra_failed');
    expect((await fireJobs(h.ctx)).queued.map((j) => [j.attempt, j.reason])).to.deep.equal([[2, 'retry']]);
    await finishJobs(h.store, 'infra_failed');
    expect((await fireJobs(h.ctx)).queued).to.deep.equal([]);
  });

  it('purge asks Gerrit, removes merged and abandoned changes and cancels their jobs', async () => {
    h = await startHarness();
    const keep = h.sim.createChange({ project: 'nova', subject: 'open' });
    const merged = h.sim.createChange({ project: 'nova', subject: 'merged' });
    const abandoned = h.sim.createChange({ project: 'nova', subject: 'abandoned' });
    await syncProjects(h.ctx, { fire: true });
    await finishJobs(h.store, 'running', (j) => j.number === merged.number);
    h.sim.merge(merged.number);
    h.sim.abandon(abandoned.number, 'not needed');
    const result = await purgeChanges(h.ctx);
    expect(result.purged).to.deep.equal([
      { configId: `nova~${merged.number}`, status: 'MERGED' },
      { configId: `nova~${abandoned.number}`, status: 'ABANDONED' },
    ]);
    expect(result.cancelled).to.have.length(4);
    expect(result.requests).to.equal(1);
    const state = await h.store.read();
    expect(Object.keys(state.configs)).to.deep.equal([`nova~${keep.number}`]);
    expect(Object.values(state.jobs).filter((j) => j.number !== keep.number).every((j) => j.status === 'cancelled')).to.equal(true);
    expect((await purgeChanges(h.ctx)).purged).to.deep.equal([]);
  });

  it('login checks the HTTP password and stores it 0600 where gerritHttpPassword finds it', async () => {
    h = await startHarness();
    const gerrit = h.loaded.config.gerrit!;
    const sources = { env: {}, credentialDir: path.join(h.dir, 'cred') };
    const result = await saveGerritPassword(gerrit, 'secret', { sources });
    expect(result).to.deep.include({ host: '127.0.0.1', username: 'smokestack', verified: true });
    expect(fs.statSync(result.file).mode & 0o777).to.equal(0o600);
    expect(gerritHttpPassword(gerrit.url, gerrit.username, sources)).to.equal('secret');
    await saveGerritPassword(gerrit, 'wrong', { sources }).then(
      () => expect.fail('expected a refusal'),
      (err: Error) => expect(err.message).to.match(/authentication failed/),
    );
    expect(gerritHttpPassword(gerrit.url, gerrit.username, sources)).to.equal('secret');
  });
});
