import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Logger, StateStore, enqueueJob, type Job, type WorkerReport } from '@smokestack/core';
import {
  cliBin,
  containerIdsOfStore,
  containerLeftovers,
  ensureDefaultImage,
  requireContainers,
  removeContainersOfStore,
  repoRoot,
  waitFor,
} from '@smokestack/testkit';
import { CliWorkspace } from './helpers.js';

const examples = path.join(repoRoot(), 'examples');

/** demoapp built on the gateway, served by web1 (a systemd socket), asked for a greeting from client1. */
const clusterTemplate = (repo: string) => ({
  group: {
    provider: 'container',
    hosts: [
      { name: 'gw', gateway: true, roles: ['build'] },
      { name: 'web1', roles: ['web'] },
      { name: 'client1', roles: ['client'] },
    ],
  },
  builds: [{ name: 'demoapp', url: repo, ref: 'master', method: 'dpkg' }],
  puppet: {
    modules: [{ name: 'demoapp', path: path.join(examples, 'puppet', 'modules', 'demoapp') }],
    manifests: { web: path.join(examples, 'puppet', 'manifests', 'demoapp-server.pp'), client: path.join(examples, 'puppet', 'manifests', 'demoapp-client.pp') },
  },
  suites: [
    { name: 'smoke', role: 'web', command: 'sh /usr/share/demoapp/tests/smoke.sh' },
    { name: 'network', role: 'client', command: 'sh /usr/share/demoapp/tests/network.sh' },
  ],
  maxInfraRetries: 0,
});

/** What dpkg on this machine says about demoapp ("absent" when it knows nothing of it). */
function machineDemoapp(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Status} ${Version}', 'demoapp'], { encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return 'absent';
  }
}

describe('jobs on container groups (real containers on this machine: needs root, systemd-container, debootstrap)', function () {
  this.timeout(40 * 60_000);
  let ws: CliWorkspace;
  let store: StateStore;

  const enqueue = (number: number): Promise<Job> =>
    store.update((state) => enqueueJob(state, { configId: `c${number}`, project: 'demoapp', number, patchSet: 1, revision: 'abc', template: 'cluster' }, new Date()));

  before(async function () {
    await requireContainers(this);
    await ensureDefaultImage(new Logger({ tty: false }));
    ws = new CliWorkspace({});
    const config = { templates: { cluster: clusterTemplate(ws.repo) }, worker: { concurrency: 2, heartbeatSeconds: 1, staleSeconds: 60 } };
    fs.writeFileSync(ws.env.SMOKESTACK_CONFIG!, JSON.stringify(config));
    store = new StateStore(ws.env.SMOKESTACK_STATE!);
  });

  after(async () => {
    if (!ws) return;
    await removeContainersOfStore(ws.env.SMOKESTACK_STATE!);
    ws.cleanup();
  });

  it('two jobs run at the same time, each on its own three hosts, and pass; nothing they install appears on this machine', async () => {
    const jobs = [await enqueue(1), await enqueue(2)];
    const worked = await ws.firestack(['worker', '--once', '--json'], 30 * 60_000);
    expect(worked.code, worked.stderr).to.equal(0);
    const report = worked.json<WorkerReport>();
    expect(report.jobs.map((j) => j.status), JSON.stringify(report.jobs)).to.deep.equal(['success', 'success']);
    const state = await store.read();
    const [ja, jb] = jobs.map((j) => state.jobs[j.id]!) as [Job, Job];
    expect(ja.group).to.not.equal(jb.group);
    const span = (j: Job) => [Date.parse(j.startedAt!), Date.parse(j.finishedAt!)] as const;
    const [[as, ae], [bs, be]] = [span(ja), span(jb)];
    expect(as < be && bs < ae, 'the two jobs overlapped in time').to.equal(true);
    expect(ja.summary).to.include({ tests: 8, failures: 0, skipped: 1 });
    expect(state.groups, 'both groups are deleted').to.deep.equal({});
    expect(containerIdsOfStore(store.location)).to.deep.equal([]);
    // Other tests may install demoapp on this machine with the local provider; never a version these jobs built.
    const built = jobs.flatMap((j) => fs.readdirSync(path.join(store.jobDir(j.id), 'packages', 'gw')).map((f) => f.split('_')[1]!));
    expect(built).to.have.length(2);
    for (const version of built) expect(machineDemoapp(), 'demoapp on this machine').to.not.contain(version);
  });

  it('a worker SIGKILLed mid-job leaves its containers running; group sweep removes every piece of them', async () => {
    const job = await enqueue(3);
    const child = spawn(process.execPath, [cliBin('firestack'), 'worker'], { cwd: ws.dir, env: { ...process.env, ...ws.env }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let ids: string[] = [];
    try {
      // Mid-job: the group is up and the job has gone on to build on it.
      ids = await waitFor(
        'the job to be building on its group',
        async () => {
          const state = await store.read();
          const group = Object.values(state.groups).find((g) => g.jobId === job.id && g.state === 'ready');
          const building = fs.existsSync(path.join(store.jobDir(job.id), 'logs', 'build.log'));
          return group && building ? group.resources!.filter((r) => r.kind === 'container').map((r) => r.id) : undefined;
        },
        10 * 60_000,
        100,
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect(ids).to.have.length(3);
    expect(await containerLeftovers(ids), 'the killed worker left its containers').to.have.length.above(0);
    const swept = await ws.firestack(['group', 'sweep', '--older-than', '0s', '--json'], 5 * 60_000);
    expect(swept.code, swept.stderr).to.equal(0);
    expect(await containerLeftovers(ids)).to.deep.equal([]);
    expect(containerIdsOfStore(store.location)).to.deep.equal([]);
  });
});
