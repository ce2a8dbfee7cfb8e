import os from 'node:os';
import { expect } from 'chai';
import { queueBaseline, type Job, type JobStatus, type Store } from '@smokestack/core';
import { waitFor } from '@smokestack/testkit';
import { describeBackends } from '../store/backends.js';
import { allJobs } from '../store/helpers.js';
import { queueJobs, result, runClaimer } from './helpers.js';

const supersede = (store: Store, id: string) =>
  store.update((s) => {
    const job = s.jobs[id]!;
    if (job.status === 'queued' || job.status === 'running') Object.assign(job, { status: 'superseded', supersededBy: 'j99', finishedAt: new Date().toISOString() });
  });

describeBackends('the job queue', (backend) => {
  it('hands each job to exactly one of 4 processes claiming at once', async function () {
    this.timeout(180_000);
    const ids = await queueJobs(backend.open(), 120);
    const claimers = ['w1', 'w2', 'w3', 'w4'].map((w) => runClaimer(backend.location(), w));
    await Promise.all(claimers.map((c) => c.done));
    const claimed = claimers.flatMap((c) => c.lines.map((l) => l.replace(/^claimed /, '')));
    expect(claimed).to.have.members(ids);
    expect(new Set(claimed).size).to.equal(claimed.length);
    const state = await backend.open().read();
    for (const [i, c] of claimers.entries()) for (const line of c.lines) expect(state.jobs[line.replace(/^claimed /, '')]).to.include({ status: 'running', worker: `w${i + 1}` });
  });

  it('a worker takes only jobs of its pools, the oldest first', async () => {
    const store = backend.open();
    const [unit1] = await queueJobs(store, 1, { pool: 'unit' });
    const [libvirt] = await queueJobs(store, 1, { pool: 'libvirt' });
    const [plain] = await queueJobs(store, 1);
    expect(await store.queue.claim('x', new Date(), ['xenserver'])).to.equal(undefined);
    expect(await store.queue.hasQueued(['xenserver'])).to.equal(false);
    expect(await store.queue.hasQueued(['libvirt'])).to.equal(true);
    expect((await store.queue.claim('a', new Date(), ['libvirt', 'default']))?.id).to.equal(libvirt);
    expect((await store.queue.claim('a', new Date(), ['libvirt', 'default']))?.id).to.equal(plain);
    expect(await store.queue.claim('a', new Date(), ['libvirt', 'default'])).to.equal(undefined);
    const job = await store.queue.claim('b', new Date(), ['unit']);
    expect(job).to.include({ id: unit1, pool: 'unit', status: 'running', worker: 'b' });
  });

  it('a worker takes a queued baseline of its pool before older change jobs; retried after an infrastructure failure, it stays the baseline of the jobs waiting on it', async () => {
    const store = backend.open();
    const [change] = await queueJobs(store, 1, { pool: 'libvirt' });
    const spec = { key: 't nova@master@m1', template: 't', pool: 'libvirt', branch: 'master', projects: { nova: { url: 'u', branch: 'master', revision: 'm1' } }, requestedBy: change! };
    const baselineId = await store.update((s) => {
      s.jobs[change!]!.comparedWith = 'soon';
      const b = queueBaseline(s, spec, 'nova', new Date(Date.UTC(2026, 0, 2)));
      s.jobs[change!]!.comparedWith = b.id;
      return b.id;
    });
    expect(await store.queue.claim('w', new Date(), ['default'])).to.equal(undefined);
    expect((await store.queue.claim('w', new Date(), ['libvirt']))?.id, 'the baseline first').to.equal(baselineId);
    const outcome = await store.queue.finish(baselineId, result('infra_failed'), new Date(), { maxInfraRetries: 1, worker: 'w' });
    expect(outcome.retry).to.deep.include({ kind: 'baseline', pool: 'libvirt', attempt: 2 });
    const state = await backend.open().read();
    expect(state.jobs[change!]!.comparedWith).to.equal(outcome.retry!.id);
    expect(state.baselines[spec.key]).to.deep.include({ jobId: outcome.retry!.id });
  });

  it('a job superseded while it runs is seen by its watcher and its heartbeat, and keeps its result', async function () {
    this.timeout(60_000);
    const store = backend.open();
    const [id] = await queueJobs(store, 1);
    await store.queue.claim('w', new Date());
    const seen: JobStatus[] = [];
    const unwatch = await store.queue.watchStop(id!, (status) => seen.push(status), 100);
    await supersede(backend.open(), id!);
    await waitFor('the stop request', () => seen.length > 0, 20_000);
    await unwatch();
    expect(seen).to.deep.equal(['superseded']);
    expect(await store.queue.heartbeat(id!, 'w', new Date())).to.equal('superseded');
    const outcome = await store.queue.finish(id!, result('success'), new Date(), { maxInfraRetries: 0, worker: 'w' });
    expect(outcome.job.status).to.equal('superseded');
    expect(outcome.job.message).to.match(/stopped while running/);
    expect((await store.getJob(id!))?.summary.tests).to.equal(1);
  });

  it('records a result once: the same result again queues no second retry', async () => {
    const store = backend.open();
    const [id] = await queueJobs(store, 1);
    await store.queue.claim('w', new Date());
    const first = await store.queue.finish(id!, result('infra_failed', 'ssh lost'), new Date(), { maxInfraRetries: 2, worker: 'w' });
    expect(first.retry).to.include({ attempt: 2, retryOf: id, status: 'queued' });
    const again = await store.queue.finish(id!, result('infra_failed', 'ssh lost'), new Date(), { maxInfraRetries: 2, worker: 'w' });
    expect(again.stale).to.equal(true);
    expect(again.retry).to.equal(undefined);
    const jobs = await allJobs(store);
    expect(jobs.map((j) => `${j.id}:${j.status}`).sort()).to.deep.equal([`${id}:infra_failed`, `${first.retry!.id}:queued`].sort());
  });

  it('requeues the jobs of a worker that stopped heartbeating once the recoverer has cleaned up; its late result is not recorded', async () => {
    const store = backend.open();
    const [id] = await queueJobs(store, 1);
    const t0 = new Date(Date.UTC(2026, 5, 1, 12));
    await store.queue.claim('dead', t0);
    expect(await store.queue.recoverStale(new Date(t0.getTime() + 30_000), 60_000, 'rescuer')).to.deep.equal([]);
    const at = new Date(t0.getTime() + 61_000);
    const recovered = await store.queue.recoverStale(at, 60_000, 'rescuer');
    expect(recovered.map((j) => [j.id, j.worker])).to.deep.equal([[id, 'dead']]);
    // While the recoverer cleans up, nobody else takes the job, claims it or records the dead worker's result.
    expect(await store.queue.recoverStale(new Date(at.getTime() + 1000), 60_000, 'other')).to.deep.equal([]);
    expect(await store.queue.claim('alive', at)).to.equal(undefined);
    const late = await store.queue.finish(id!, result('success'), new Date(), { maxInfraRetries: 0, worker: 'dead' });
    expect(late.stale).to.equal(true);
    expect(await store.queue.requeueTaken(id!, 'other')).to.equal(false);
    expect(await store.queue.requeueTaken(id!, 'rescuer')).to.equal(true);
    const requeued = await store.getJob(id!);
    expect(requeued).to.include({ status: 'queued' });
    expect(requeued!.worker).to.equal(undefined);
    expect(requeued!.message).to.match(/worker dead stopped sending heartbeats/);
    expect((await store.queue.claim('alive', new Date()))?.id).to.equal(id);
  });

  it('never takes back an ad-hoc run: it belongs to the firestack run that started it, which sends no heartbeats', async () => {
    const store = backend.open();
    const t0 = new Date(Date.UTC(2026, 5, 1, 12));
    const run = await store.queue.startAdHoc({ configId: 'laptop', project: 'p', number: 0, patchSet: 0, revision: '', template: 't', reason: 'manual', worker: 'cli:4242' }, t0);
    expect(await store.queue.recoverStale(new Date(t0.getTime() + 3600_000), 60_000, 'rescuer')).to.deep.equal([]);
    expect(await store.getJob(run.id)).to.include({ kind: 'adhoc', status: 'running', worker: 'cli:4242' });
  });

  it('workers register with name, pools and host, beat, and leave', async () => {
    const store = backend.open();
    const now = new Date();
    await store.queue.registerWorker({ name: 'w1', pools: ['libvirt', 'unit'], host: os.hostname(), pid: 1, startedAt: now.toISOString(), heartbeatAt: now.toISOString(), concurrency: 2 }, now);
    await store.queue.registerWorker({ name: 'w2', pools: ['default'], host: 'other', pid: 2, startedAt: now.toISOString(), heartbeatAt: now.toISOString(), concurrency: 1 }, now);
    const later = new Date(now.getTime() + 5000);
    expect(await store.queue.beatWorker('w2', later)).to.equal(true);
    expect(await store.queue.beatWorker('nobody', later)).to.equal(false);
    const listed = await backend.open().queue.listWorkers();
    expect(listed.map((w) => [w.name, w.pools, w.host, w.heartbeatAt])).to.deep.equal([
      ['w2', ['default'], 'other', later.toISOString()],
      ['w1', ['libvirt', 'unit'], os.hostname(), now.toISOString()],
    ]);
    await store.queue.unregisterWorker('w1');
    expect((await store.queue.listWorkers()).map((w) => w.name)).to.deep.equal(['w2']);
    // An update of the live state leaves the registrations as they are.
    await store.update((s) => void (s.sync.x = {}));
    expect((await store.read()).workers.w2!.heartbeatAt).to.equal(later.toISOString());
  });
});
