import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { StateStore, enqueueJob, type WorkerReport } from '@smokestack/core';
import { cliBin } from '@smokestack/testkit';
import { CliWorkspace } from './helpers.js';

describe('firestack worker', function () {
  this.timeout(120_000);
  let ws: CliWorkspace;
  let started: string;
  before(() => {
    ws = new CliWorkspace({});
    started = path.join(ws.dir, 'suite-started');
    fs.writeFileSync(
      ws.env.SMOKESTACK_CONFIG!,
      `templates:\n  slow:\n    group: {provider: local, hosts: [{name: solo}]}\n    suites:\n      - name: slow\n        command: "test -f '${started}' && exit 0; touch '${started}'; sleep 60"\nworker:\n  heartbeatSeconds: 1\n  staleSeconds: 30\n`,
    );
  });
  after(() => ws.cleanup());

  it('on SIGTERM stops the running job, puts it back in the queue, and exits; the next worker runs it', async () => {
    const store = new StateStore(ws.env.SMOKESTACK_STATE!);
    const job = await store.update((state) => enqueueJob(state, { configId: 'c1', project: 'demoapp', number: 3, patchSet: 1, revision: 'abc', template: 'slow' }, new Date()));
    const child = spawn(process.execPath, [cliBin('firestack'), 'worker'], { cwd: ws.dir, env: { ...process.env, ...ws.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!fs.existsSync(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(fs.existsSync(started), stderr).to.equal(true);
      const t0 = Date.now();
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
      expect(Date.now() - t0).to.be.below(10_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const requeued = (await store.read()).jobs[job.id]!;
    expect(requeued).to.include({ status: 'queued', attempt: 1 });
    expect(requeued.message).to.match(/^requeued: test: stopped: worker shutting down/);
    expect(requeued.worker).to.equal(undefined);
    expect((await store.read()).groups).to.deep.equal({});

    const again = await ws.firestack(['worker', '--once', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.json<WorkerReport>().jobs).to.deep.equal([{ id: job.id, status: 'success', message: 'passed' }]);
    expect(fs.existsSync(path.join(store.jobDir(job.id), 'interrupted-1', 'logs', 'test.log'))).to.equal(true);
  });
});
