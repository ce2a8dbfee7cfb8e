import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { PostgresStore, RECENT_FINISHED_KEPT, StateStore, copyStore, enqueueJob, isUserError, type Job, type Store, type TestRun, type Vote } from '@smokestack/core';
import { startPostgres, type TestPostgres } from '@smokestack/testkit';
import { allJobs } from './helpers.js';

async function everything(store: Store): Promise<{ jobs: Job[]; votes: Vote[] }> {
  const jobs = await allJobs(store);
  const votes: Vote[] = [];
  for await (const vote of store.listVotes()) votes.push(vote);
  return { jobs: jobs.sort((a, b) => a.id.localeCompare(b.id)), votes: votes.sort((a, b) => a.number - b.number || a.patchSet - b.patchSet) };
}

/** Per-test history: one revision set where a test both passed and failed (flaky), one where everything passed. */
const RUNS: TestRun[] = [
  { jobId: 'j1', project: 'p', template: 't', kind: 'queue', revisionSet: 'set-a', finishedAt: '2025-02-01T00:00:00.000Z', passed: ['p.x', 'p.flaky'], failed: [], skipped: ['p.s'] },
  { jobId: 'j2', project: 'p', template: 't', kind: 'queue', revisionSet: 'set-a', finishedAt: '2025-02-01T01:00:00.000Z', passed: ['p.x'], failed: ['p.flaky'], skipped: [] },
  { jobId: 'j3', project: 'p', template: 't', kind: 'queue', revisionSet: 'set-b', finishedAt: '2025-02-02T00:00:00.000Z', passed: ['p.x', 'p.flaky'], failed: [], skipped: [] },
];

async function testHistory(store: Store) {
  const byJob = (runs: TestRun[]) => runs.sort((a, b) => a.jobId.localeCompare(b.jobId));
  return { a: byJob(await store.testRunsOf('set-a')), b: byJob(await store.testRunsOf('set-b')), flaky: await store.flakyTests({ since: new Date(0) }) };
}

describe('copying a store between a JSON file and PostgreSQL', function () {
  this.timeout(180_000);
  let cluster: TestPostgres;
  let dir: string;
  const opened: Store[] = [];
  before(async () => (cluster = await startPostgres({ settings: { fsync: 'off' } })));
  after(async () => cluster?.stop());
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-transfer-'))));
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const track = <T extends Store>(store: T): T => (opened.push(store), store);

  it('copies a file store into PostgreSQL and back, history included, with every record and count intact', async () => {
    const file = track(new StateStore(path.join(dir, 'state.json')));
    const history = RECENT_FINISHED_KEPT + 60;
    await file.update((s) => {
      s.configs['p~1'] = { id: 'p~1', project: 'p', branch: 'master', number: 1, description: 'd', branches: {}, templates: ['t'], patchSet: 2, revision: 'r', ref: 'refs/changes/01/1/2', updatedAt: 'x' };
      for (let i = 0; i < history; i++) {
        const at = new Date(Date.UTC(2025, 0, 1, 0, i));
        const job = enqueueJob(s, { configId: `gone~${i}`, project: 'p', number: 100 + i, patchSet: 1, revision: 'r', template: 't' }, at);
        Object.assign(job, { status: i % 2 ? 'success' : 'test_failed', finishedAt: at.toISOString() });
        s.votes[`p~${100 + i}~1`] = { project: 'p', number: 100 + i, patchSet: 1, revision: 'r', vote: i % 2 ? 1 : -1, message: 'm', postedAt: at.toISOString() };
      }
      enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 2, revision: 'r', template: 't', pool: 'unit' }, new Date());
      s.groups.g1 = { name: 'g1', provider: 'local', hosts: [], createdAt: 'x', state: 'ready' } as never;
      s.sync['p|master'] = { lastSweepAt: '2026-01-01T00:00:00Z' };
      s.seenEvents.push('e1', 'e2');
    });
    for (const run of RUNS) await file.recordTestRun(run);
    expect((await file.read()).archive.jobs.count, 'the source has history').to.be.greaterThan(0);
    const source = await everything(file);
    const tests = await testHistory(file);
    expect(tests.flaky.map((f) => f.id), 'the source knows a flaky test').to.deep.equal(['p.flaky']);

    const url = await cluster.createDatabase();
    const db = track(new PostgresStore(url, { dataDir: dir }));
    const there = await copyStore(file, db);
    expect(there.verified).to.deep.equal({ configs: 1, jobs: history + 1, votes: history, groups: 1, workers: 0, testRuns: RUNS.length });
    expect(await everything(db)).to.deep.equal(source);
    expect(await testHistory(db), 'per-test history and flaky tests').to.deep.equal(tests);
    const live = await db.read();
    expect(live.seenEvents).to.deep.equal(['e1', 'e2']);
    expect(live.sync['p|master']).to.deep.equal({ lastSweepAt: '2026-01-01T00:00:00Z' });
    expect(live.nextJobId).to.equal(history + 2);
    expect(Object.values(live.jobs).find((j) => j.status === 'queued')).to.include({ pool: 'unit' });

    const back = track(new StateStore(path.join(dir, 'back', 'state.json')));
    const report = await copyStore(db, back);
    expect(report.verified).to.deep.equal(there.verified);
    expect(await everything(back)).to.deep.equal(source);
    expect(await testHistory(back)).to.deep.equal(tests);
    expect((await back.read()).nextJobId).to.equal(history + 2);

    const err = await copyStore(file, db).catch((e: unknown) => e);
    expect(isUserError(err)).to.equal(true);
    expect((err as Error).message).to.match(/not empty/);
  });
});
