import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
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

/** demoapp built on one container host, nothing else: what a job builds, without the cluster's Puppet and suites. */
const buildOnlyTemplate = (repo: string) => ({
  group: { provider: 'container', hosts: [{ name: 'builder', gateway: true, roles: ['build'] }] },
  builds: [{ name: 'demoapp', url: repo, ref: 'master', method: 'dpkg' }],
  maxInfraRetries: 0,
});

describe('jobs on container groups (real containers on this machine: needs root, systemd-container, debootstrap)', function () {
  this.timeout(40 * 60_000);
  let ws: CliWorkspace;
  let store: StateStore;

  const enqueue = (number: number, template = 'cluster'): Promise<Job> =>
    store.update((state) => enqueueJob(state, { configId: `c${number}`, project: 'demoapp', number, patchSet: 1, revision: 'abc', template }, new Date()));

  before(async function () {
    await requireContainers(this);
    await ensureDefaultImage(new Logger({ tty: false }));
    ws = new CliWorkspace({});
    const config = { templates: { cluster: clusterTemplate(ws.repo), 'build-only': buildOnlyTemplate(ws.repo) }, worker: { concurrency: 2, heartbeatSeconds: 1, staleSeconds: 60 } };
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

  it('a job that builds the commits an earlier job built on the same image installs and tests its packages without building; a new commit is built', async () => {
    /** Runs one job to its end with a worker; answers the job, its build log and the digests of its packages. */
    const work = async (number: number, template?: string) => {
      const queued = await enqueue(number, template);
      const worked = await ws.firestack(['worker', '--once'], 15 * 60_000);
      expect(worked.code, worked.stderr).to.equal(0);
      const job = (await store.read()).jobs[queued.id]!;
      const dir = store.jobDir(job.id);
      const packages = path.join(dir, 'packages');
      const debs = fs.readdirSync(packages).flatMap((host) => fs.readdirSync(path.join(packages, host)).map((f) => path.join(packages, host, f)));
      const digests = debs.map((f) => `${path.basename(f)} ${createHash('sha256').update(fs.readFileSync(f)).digest('hex')}`);
      return { job, log: fs.readFileSync(path.join(dir, 'logs', 'build.log'), 'utf8'), digests };
    };
    const first = await work(10);
    expect(first.job.status, first.job.message).to.equal('success');
    expect(first.log).to.contain('kept these packages for later jobs');
    expect(first.log).to.contain('dpkg-buildpackage');

    // The same commit again: web1 installs and client1 asks the very packages the first job built.
    const second = await work(11);
    expect(second.job.status, second.job.message).to.equal('success');
    expect(second.log).to.contain(`reused the packages job ${first.job.id} built on gw`);
    expect(second.log).to.not.contain('dpkg-buildpackage');
    expect(second.digests).to.deep.equal(first.digests);
    expect(second.job.sources?.find((s) => s.kind === 'build')?.revision).to.equal(ws.head);
    const summary = JSON.parse(fs.readFileSync(path.join(store.jobDir(second.job.id), 'summary.json'), 'utf8'));
    expect(summary.stages.find((s: { stage: string }) => s.stage === 'build').message).to.contain(`(reused from job ${first.job.id})`);

    // Another template building the same on its own host of the same image reuses it too.
    const buildOnly = await work(12, 'build-only');
    expect(buildOnly.job.status, buildOnly.job.message).to.equal('success');
    expect(buildOnly.log).to.contain(`reused the packages job ${first.job.id}`);

    // A kept package that no longer matches its digest is never installed: the job builds, and passes.
    const cache = path.join(store.dataDir, 'build-cache');
    const [entry] = fs.readdirSync(cache).filter((n) => !n.startsWith('.'));
    const kept = path.join(cache, entry!, 'packages');
    for (const deb of fs.readdirSync(kept)) fs.appendFileSync(path.join(kept, deb), 'tampered');
    const tampered = await work(14, 'build-only');
    expect(tampered.job.status, tampered.job.message).to.equal('success');
    expect(tampered.log).to.match(/could not reuse an earlier build \(.* no longer matches its digest/);
    expect(tampered.log).to.contain('dpkg-buildpackage');

    // A new commit is a new build.
    fs.appendFileSync(path.join(ws.repo, 'README.md'), 'one more line\n');
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.org', 'commit', '-qam', 'one more line'], { cwd: ws.repo });
    const changed = await work(13, 'build-only');
    expect(changed.job.status, changed.job.message).to.equal('success');
    expect(changed.log).to.not.contain('reused the packages');
    expect(changed.log).to.contain('dpkg-buildpackage');
    expect(changed.digests).to.not.deep.equal(first.digests);
  });
});
