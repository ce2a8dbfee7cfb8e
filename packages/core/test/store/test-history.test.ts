import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { StateStore } from '../../src/store/store.js';
import type { TestRun } from '../../src/results/history.js';
import pg from 'pg';
import { allTestRuns } from '../../src/store/postgres/tests.js';
import { describeBackends } from './backends.js';

const run = (jobId: string, passed: string[], failed: string[], fields: Partial<TestRun> = {}): TestRun => ({
  jobId, project: 'nova', template: 'full', kind: 'queue', revisionSet: 'full build:nova@c1+m1', finishedAt: '2026-11-21T10:00:00Z', passed, failed, skipped: [], ...fields,
});

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

describe('store: per-test history of the file store', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-tests-'));
    store = new StateStore(path.join(dir, 'state.json'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps every run of a revision set and answers them by revision set, apart from other sets', async () => {
    await store.recordTestRun(run('j1', ['a'], ['b']));
    await store.recordTestRun(run('j2', ['a', 'b'], []));
    await store.recordTestRun(run('j3', ['a'], [], { revisionSet: 'full build:nova@c2+m1' }));
    expect((await store.testRunsOf('full build:nova@c1+m1')).map((r) => r.jobId)).to.deep.equal(['j1', 'j2']);
    expect((await store.testRunsOf('full build:nova@c2+m1')).map((r) => r.jobId)).to.deep.equal(['j3']);
    expect(await store.testRunsOf('never ran')).to.deep.equal([]);
    // One file per revision set, beside the store; the state document is not touched.
    expect(filesUnder(path.join(dir, 'tests', 'runs'))).to.have.length(2);
    expect(fs.existsSync(path.join(dir, 'state.json'))).to.equal(false);
  });

  it('a job recorded twice counts once; a line torn by a killed writer is dropped and the next run still lands', async () => {
    await store.recordTestRun(run('j1', ['a'], ['b']));
    await store.recordTestRun(run('j1', ['a'], ['b']));
    const [file] = filesUnder(path.join(dir, 'tests', 'runs'));
    fs.appendFileSync(path.join(dir, 'tests', 'runs', file!), '{"jobId":"j9","proj');
    expect((await store.testRunsOf('full build:nova@c1+m1')).map((r) => r.jobId)).to.deep.equal(['j1']);
    await store.recordTestRun(run('j2', ['b'], []));
    expect((await store.testRunsOf('full build:nova@c1+m1')).map((r) => r.jobId)).to.deep.equal(['j1', 'j2']);
    expect(fs.readFileSync(path.join(dir, 'tests', 'runs', file!), 'utf8')).to.not.include('j9');
    expect((await store.flakyTests({ since: new Date('2026-01-01') })).map((t) => t.id)).to.deep.equal(['b']);
  });

  it('runs recorded at the same time by several writers all land', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => new StateStore(path.join(dir, 'state.json')).recordTestRun(run(`j${i}`, i % 2 ? ['t'] : [], i % 2 ? [] : ['t']))));
    expect((await store.testRunsOf('full build:nova@c1+m1')).map((r) => r.jobId).sort()).to.deep.equal(['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6', 'j7']);
    expect(await store.flakyTests({ since: new Date('2026-01-01') })).to.deep.equal([
      { project: 'nova', id: 't', templates: ['full'], failed: 4, runs: 8, revisionSets: 1, lastSeen: '2026-11-21T10:00:00Z' },
    ]);
  });

  it('pruning history removes revision sets last run before the cutoff and older flaky sightings', async () => {
    await store.recordTestRun(run('j1', ['a'], ['b'], { finishedAt: '2025-01-01T00:00:00Z' }));
    await store.recordTestRun(run('j2', ['b'], [], { finishedAt: '2025-01-01T00:00:00Z' }));
    await store.recordTestRun(run('j3', ['c'], [], { revisionSet: 'new' }));
    const old = path.join(dir, 'tests', 'runs', filesUnder(path.join(dir, 'tests', 'runs')).find((f) => fs.readFileSync(path.join(dir, 'tests', 'runs', f), 'utf8').includes('"j1"'))!);
    fs.utimesSync(old, new Date('2025-01-01'), new Date('2025-01-01'));
    await store.pruneHistory(new Date('2026-01-01'), { dryRun: false });
    expect(await store.testRunsOf('full build:nova@c1+m1')).to.deep.equal([]);
    expect((await store.testRunsOf('new')).map((r) => r.jobId)).to.deep.equal(['j3']);
    expect(await store.flakyTests({ since: new Date('2000-01-01') })).to.deep.equal([]);
  });
});

describeBackends('store: per-test history', (backend) => {
  it('lists every kept run once, oldest first, ties in job id order (what copying a store reads)', async () => {
    const store = backend.open();
    const at = ['2026-11-21T10:00:00.001Z', '2026-11-21T10:00:00.002Z', '2026-11-20T10:00:00.000Z', '2026-11-21T10:00:00.002Z', '2026-11-21T10:00:01.000Z'];
    for (const [i, finishedAt] of at.entries()) await store.recordTestRun(run(`j${i + 1}`, ['a'], [], { finishedAt, revisionSet: `set ${i % 2}` }));
    await store.recordTestRun(run('j1', ['a'], [], { finishedAt: at[0], revisionSet: 'set 0' }));
    const order = ['j3', 'j1', 'j2', 'j4', 'j5'];
    const listed: string[] = [];
    for await (const r of backend.open().listTestRuns()) listed.push(r.jobId);
    expect(listed).to.deep.equal(order);
    if (backend.name === 'postgresql') {
      // A page at a time: pages of two, with a tie at a page's edge, still give each run once.
      const pool = new pg.Pool({ connectionString: backend.location() });
      try {
        const paged: string[] = [];
        for await (const r of allTestRuns(pool, 2)) paged.push(r.jobId);
        expect(paged).to.deep.equal(order);
      } finally {
        await pool.end();
      }
    }
  });

  it('answers runs by revision set; a job recorded twice counts once; a test that passed and failed on one set is flaky, per project and since a date', async () => {
    const store = backend.open();
    await store.recordTestRun(run('j1', ['a'], ['b'], { finishedAt: '2026-11-20T10:00:00Z' }));
    await store.recordTestRun(run('j1', ['a'], ['b'], { finishedAt: '2026-11-20T10:00:00Z' }));
    expect(await store.flakyTests({ since: new Date('2026-01-01') })).to.deep.equal([]);
    await store.recordTestRun(run('j2', ['a', 'b'], [], { finishedAt: '2026-11-21T10:00:00Z' }));
    await store.recordTestRun(run('j3', ['x'], [], { project: 'glance', revisionSet: 'g', finishedAt: '2026-11-21T11:00:00Z' }));
    await store.recordTestRun(run('j4', [], ['x'], { project: 'glance', revisionSet: 'g', finishedAt: '2026-11-21T12:00:00Z' }));
    expect((await backend.open().testRunsOf('full build:nova@c1+m1')).map((r) => r.jobId)).to.deep.equal(['j1', 'j2']);
    expect(await store.testRunsOf('never ran')).to.deep.equal([]);
    const all = await store.flakyTests({ since: new Date('2026-01-01') });
    expect(all.map((t) => [t.project, t.id, t.failed, t.runs])).to.have.deep.members([
      ['nova', 'b', 1, 2],
      ['glance', 'x', 1, 2],
    ]);
    expect(await store.flakyTests({ project: 'nova', since: new Date('2026-01-01') })).to.deep.equal([
      { project: 'nova', id: 'b', templates: ['full'], failed: 1, runs: 2, revisionSets: 1, lastSeen: '2026-11-21T10:00:00Z' },
    ]);
    expect(await store.flakyTests({ project: 'nova', since: new Date('2026-11-22') })).to.deep.equal([]);
  });

  it('runs recorded at the same time through several handles all land and count in the flaky test', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => backend.open().recordTestRun(run(`j${i}`, i % 2 ? ['t'] : [], i % 2 ? [] : ['t']))));
    const store = backend.open();
    expect((await store.testRunsOf('full build:nova@c1+m1')).map((r) => r.jobId).sort()).to.deep.equal(['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6', 'j7']);
    expect(await store.flakyTests({ since: new Date('2026-01-01') })).to.deep.equal([
      { project: 'nova', id: 't', templates: ['full'], failed: 4, runs: 8, revisionSets: 1, lastSeen: '2026-11-21T10:00:00Z' },
    ]);
  });

  it('the baselines index is kept in the live state between updates', async () => {
    const store = backend.open();
    await store.update((state) => void (state.baselines['full nova@master@m1'] = { jobId: '7', createdAt: '2026-11-21T10:00:00.000Z' }));
    expect((await backend.open().read()).baselines).to.deep.equal({ 'full nova@master@m1': { jobId: '7', createdAt: '2026-11-21T10:00:00.000Z' } });
    await store.update((state) => void delete state.baselines['full nova@master@m1']);
    expect((await backend.open().read()).baselines).to.deep.equal({});
  });
});
