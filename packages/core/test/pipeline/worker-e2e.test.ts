import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startSshHosts, type SshTestHosts, sshGroupDefinition } from '@smokestack/testkit';
import { enqueueJob } from '../../src/queue/jobs.js';
import { runWorker } from '../../src/pipeline/index.js';
import type { Job } from '../../src/model.js';
import { REPO_ROOT, Workspace, processesMentioning, waitFor } from './helpers.js';

describe('worker end to end on two real sshd hosts', function () {
  this.timeout(120_000);
  let sshd: SshTestHosts;
  let ws: Workspace;
  const group = () => sshGroupDefinition(sshd);
  const enqueue = (template: string, fields: Partial<Job> = {}) =>
    ws.store.update((state) => {
      const job = enqueueJob(state, { configId: fields.configId ?? 'c1', project: 'demoapp', number: 1, patchSet: 1, revision: fields.revision ?? '', template }, new Date());
      return structuredClone(job);
    });
  const job = async (id: string) => (await ws.store.read()).jobs[id]!;

  beforeEach(async () => {
    sshd = await startSshHosts({ count: 2 });
    ws = new Workspace();
  });
  afterEach(async () => {
    await sshd?.stop();
    ws?.cleanup();
  });

  it('sshd killed on one host mid-run: infra_failed, retried as a new attempt, nothing leaked, first logs kept', async () => {
    const flag = path.join(ws.dir, 'suite-started');
    const featureRev = ws.branch('feature', (repo) => fs.appendFileSync(path.join(repo, 'README.md'), '\nA feature.\n'));
    const loaded = ws.config({
      flaky: {
        group: group(),
        builds: [{ name: 'demoapp', url: './demoapp', ref: 'master' }],
        suites: [{ name: 'slow', host: 'host2', command: `test -f '${flag}' || { touch '${flag}'; sleep 60; }` }],
        maxInfraRetries: 1,
      },
    });
    await ws.store.update((state) => {
      state.configs.c1 = {
        id: 'c1', project: 'demoapp', branch: 'master', number: 1, description: 'alice: feature', templates: ['flaky'],
        branches: { demoapp: { url: ws.repo, ref: 'refs/heads/feature' } }, patchSet: 1, revision: featureRev, ref: 'refs/heads/feature', updatedAt: new Date().toISOString(),
      };
    });
    const first = await enqueue('flaky', { revision: featureRev });
    const worker = runWorker({ store: ws.store, loaded, logger: ws.logger, once: true, heartbeatMs: 500, pollMs: 200, workerId: 'w1' });

    await waitFor('the suite to start on host2', () => fs.existsSync(flag));
    await sshd.host('host2').stop();
    await waitFor('attempt 1 to finish', async () => (await job(first.id)).status === 'infra_failed');
    await sshd.host('host2').start();
    const report = await worker;

    const failed = await job(first.id);
    expect(failed.message).to.match(/host2/).and.to.match(/retrying as j2/);
    expect(fs.readFileSync(path.join(ws.store.jobDir(first.id), 'logs', 'test.log'), 'utf8')).to.contain('== suite 0: slow');
    const retry = await job('j2');
    expect(retry).to.include({ status: 'success', attempt: 2, retryOf: first.id, reason: 'retry' });
    expect(retry.sources![0]).to.include({ ref: 'refs/heads/feature', revision: featureRev, changed: true });
    expect(report.jobs.map((j) => `${j.id}:${j.status}`)).to.deep.equal([`${first.id}:infra_failed`, 'j2:success']);
    expect((await ws.store.read()).groups).to.deep.equal({});
    expect(processesMentioning(`/jobs/${first.id}/`)).to.deep.equal([]);
  });

  it('a job marked superseded while running is stopped and torn down within seconds', async () => {
    const started = path.join(ws.dir, 'long-started');
    const loaded = ws.config({ long: { group: group(), suites: [{ name: 'long', host: 'host1', command: `touch '${started}'; sleep 120` }] } });
    const j = await enqueue('long');
    const worker = runWorker({ store: ws.store, loaded, logger: ws.logger, once: true, heartbeatMs: 500, pollMs: 200 });
    await waitFor('the suite to start', () => fs.existsSync(started));
    const t0 = Date.now();
    await ws.store.update((state) => {
      state.jobs[j.id]!.status = 'superseded';
      state.jobs[j.id]!.supersededBy = 'j99';
    });
    await worker;
    const took = Date.now() - t0;
    expect(took, `stopping took ${took} ms`).to.be.below(6000);
    const stopped = await job(j.id);
    expect(stopped.status).to.equal('superseded');
    expect(stopped.message).to.match(/stopped while running/);
    expect(stopped.stages!.find((s) => s.stage === 'teardown')!.status).to.equal('passed');
    expect((await ws.store.read()).groups).to.deep.equal({});
    expect(processesMentioning(`/jobs/${j.id}/`)).to.deep.equal([]);
  });

  it('a worker killed with SIGKILL mid-job: another worker recovers the job and runs it', async () => {
    const flag = path.join(ws.dir, 'resumable-started');
    ws.config(
      { killable: { group: group(), suites: [{ name: 'resumable', host: 'host1', command: `test -f '${flag}' || { touch '${flag}'; sleep 120; }` }] } },
      { worker: { heartbeatSeconds: 1, staleSeconds: 3 } },
    );
    const loaded = ws.config(
      { killable: { group: group(), suites: [{ name: 'resumable', host: 'host1', command: `test -f '${flag}' || { touch '${flag}'; sleep 120; }` }] } },
      { worker: { heartbeatSeconds: 1, staleSeconds: 3 } },
    );
    const j = await enqueue('killable');
    const out = fs.openSync(path.join(ws.dir, 'worker-a.log'), 'w');
    const a = spawn(
      process.execPath,
      ['--import', 'tsx/esm', '--conditions=smokestack-source', path.join(REPO_ROOT, 'packages/firestack/bin/dev.js'), 'worker', '--once', '--config', loaded.path!],
      { cwd: REPO_ROOT, stdio: ['ignore', out, out] },
    );
    const exited = new Promise((resolve) => a.once('exit', resolve));
    try {
      await waitFor('worker A to start the suite', () => fs.existsSync(flag), 60_000);
      expect((await job(j.id)).status).to.equal('running');
      a.kill('SIGKILL');
      await exited;
    } finally {
      fs.closeSync(out);
      if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
    }
    expect((await job(j.id)).worker).to.match(/:\d+:/);
    await new Promise((r) => setTimeout(r, 3500));
    const report = await runWorker({ store: ws.store, loaded, logger: ws.logger, once: true, pollMs: 200, workerId: 'b' });
    expect(report.recovered).to.deep.equal([j.id]);
    const done = await job(j.id);
    expect(done).to.include({ status: 'success', attempt: 1 });
    expect(fs.existsSync(path.join(ws.store.jobDir(j.id), 'interrupted-1', 'logs', 'test.log'))).to.equal(true);
    expect((await ws.store.read()).groups).to.deep.equal({});
    expect(processesMentioning(`/jobs/${j.id}/`)).to.deep.equal([]);
  });
});
