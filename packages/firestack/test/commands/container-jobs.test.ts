import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Logger, StateStore, enqueueJob, type Job } from '@smokestack/core';
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
