import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import pg from 'pg';
import { RECENT_FINISHED_KEPT, StateStore, enqueueJob, parseState, SCHEMA_VERSION, isUserError, knownSchemaVersion, type Job, type JobFilter, type JobKind, type StateData, type Store } from '@smokestack/core';
import { waitFor } from '@smokestack/testkit';
import { describeBackends } from './backends.js';
import { allJobIds, finished, runUpdater } from './helpers.js';

function tempStore(): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-store-'));
  return { dir, file: path.join(dir, 'state.json') };
}


describe('StateStore', () => {
  let dir: string;
  let file: string;
  beforeEach(() => ({ dir, file } = tempStore()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts empty when the file does not exist and creates it on the first update', async () => {
    const store = new StateStore(file);
    const state = await store.read();
    expect(state.schemaVersion).to.equal(SCHEMA_VERSION);
    expect(state.jobs).to.deep.equal({});
    await store.update((s) => {
      s.sync.x = { lastSweepChanges: 1 };
    });
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).sync.x.lastSweepChanges).to.equal(1);
  });

  it('creates the store directory on the first update (a fresh XDG state home)', async () => {
    const nested = path.join(dir, 'state-home', 'smokestack', 'state.json');
    await new StateStore(nested).update((s) => void (s.sync.first = {}));
    expect(JSON.parse(fs.readFileSync(nested, 'utf8')).sync).to.have.property('first');
  });

  it('writes the file with owner-only permissions and keeps job logs beside it', async () => {
    const store = new StateStore(file);
    await store.update(() => undefined);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(store.jobDir('j7')).to.equal(path.join(dir, 'jobs', 'j7'));
    expect(() => store.jobDir('../etc')).to.throw(/not valid/);
  });

  it('sees updates made by another process (re-reads under the lock)', async () => {
    const a = new StateStore(file);
    const b = new StateStore(file);
    await a.update((s) => void (s.sync.a = {}));
    await b.update((s) => void (s.sync.b = {}));
    await a.update((s) => void (s.sync.c = {}));
    expect(Object.keys((await b.read()).sync).sort()).to.deep.equal(['a', 'b', 'c']);
  });

  it('leaves the file unchanged when the update function throws', async () => {
    const store = new StateStore(file);
    await store.update((s) => void (s.sync.kept = {}));
    const before = fs.readFileSync(file);
    await store.update(() => {
      throw new Error('boom');
    }).then(
      () => expect.fail('update should have thrown'),
      (err: Error) => expect(err.message).to.equal('boom'),
    );
    expect(fs.readFileSync(file).equals(before)).to.equal(true);
    // and the lock was released
    await store.update((s) => void (s.sync.after = {}));
  });

  for (const [what, content] of [
    ['invalid JSON', '{"schemaVersion": 1, "jobs": {'],
    ['a truncated (empty) file', ''],
    ['a JSON array', '[]'],
    ['a newer schema version', JSON.stringify({ schemaVersion: SCHEMA_VERSION + 1, jobs: {}, configs: {}, votes: {}, groups: {}, sync: {} })],
    ['jobs that are not an object', JSON.stringify({ schemaVersion: 1, jobs: [], configs: {}, votes: {}, groups: {}, sync: {} })],
  ] as const) {
    it(`refuses ${what}, naming the path, and leaves the file byte-for-byte unchanged`, async () => {
      fs.writeFileSync(file, content);
      const before = fs.readFileSync(file);
      const store = new StateStore(file);
      for (const attempt of [() => store.read(), () => store.update((s) => void (s.sync.x = {}))]) {
        const err = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isUserError(err), `expected a user error for ${what}`).to.equal(true);
        expect((err as Error).message).to.contain(file);
        expect((err as Error).message.split('\n')).to.have.length(1);
      }
      expect(fs.readFileSync(file).equals(before)).to.equal(true);
      expect(fs.existsSync(`${file}.lock`)).to.equal(false);
    });
  }

  it('migrates an unversioned document, keeping a backup of the original', async () => {
    const original = JSON.stringify({ jobs: {}, configs: { 'p~1': { id: 'p~1' } } });
    fs.writeFileSync(file, original);
    const store = new StateStore(file);
    expect((await store.read()).configs['p~1']).to.deep.equal({ id: 'p~1' });
    await store.update((s) => void (s.sync.x = {}));
    const migrated = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(migrated.schemaVersion).to.equal(SCHEMA_VERSION);
    expect(migrated.configs['p~1']).to.deep.equal({ id: 'p~1' });
    expect(fs.readFileSync(`${file}.schema-v0.bak`, 'utf8')).to.equal(original);
  });

  describe('job ids in stores of every older shape: never reused, never overwritten', () => {
    const job = (id: string) => ({ id, configId: 'p~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: 't', status: 'success', attempt: 1, createdAt: '2026-01-01T00:00:00Z', message: `result of ${id}`, logDir: `jobs/${id}` });
    const shapes: Array<[string, Record<string, unknown>, string]> = [
      ['unversioned, before votes and nextJobId', { jobs: { j1: job('j1'), j7: job('j7') }, configs: {} }, 'j8'],
      ['version 1 without nextJobId', { schemaVersion: 1, jobs: { j1: job('j1'), j2: job('j2'), j3: job('j3') }, configs: {}, votes: {}, groups: {}, sync: {} }, 'j4'],
      ['version 1 whose nextJobId lags its jobs', { schemaVersion: 1, nextJobId: 2, jobs: { j1: job('j1'), j5: job('j5') }, configs: {}, votes: {}, groups: {}, sync: {} }, 'j6'],
      ['version 1 whose jobs were pruned', { schemaVersion: 1, nextJobId: 40, jobs: { j12: job('j12') }, configs: {}, votes: {}, groups: {}, sync: {} }, 'j40'],
    ];
    for (const [shape, doc, next] of shapes) {
      it(`${shape}: the next job is ${next} and every stored job is kept`, async () => {
        fs.writeFileSync(file, JSON.stringify(doc));
        const store = new StateStore(file);
        const queued = await store.update((s) => enqueueJob(s, { configId: 'p~2', project: 'p', number: 2, patchSet: 1, revision: 'r2', template: 't' }, new Date()));
        expect(queued.id).to.equal(next);
        const after = await store.read();
        for (const [id, stored] of Object.entries(doc.jobs as Record<string, { message: string }>)) expect(after.jobs[id]!.message).to.equal(stored.message);
        expect(Object.keys(after.jobs)).to.have.length(Object.keys(doc.jobs as object).length + 1);
      });
    }
  });

  it('takes over a lock left by a process that died, without waiting for it to go stale', async () => {
    fs.mkdirSync(`${file}.lock`);
    // A pid that is certainly not running: a child that has already exited.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.on('close', resolve));
    fs.writeFileSync(`${file}.lock/owner`, JSON.stringify({ pid: dead.pid, host: os.hostname(), acquiredAt: Date.now() }));
    const started = Date.now();
    await new StateStore(file, { staleMs: 60_000 }).update((s) => void (s.sync.x = {}));
    expect(Date.now() - started).to.be.below(2000);
  });

  it('keeps every update of 4 processes x 200 updates on one store', async function () {
    this.timeout(120_000);
    const children = ['a', 'b', 'c', 'd'].map((p) => runUpdater(file, p, 200));
    await Promise.all(children.map((c) => c.done));
    const { data } = parseState(fs.readFileSync(file, 'utf8'), file);
    for (const p of ['a', 'b', 'c', 'd']) {
      for (let i = 0; i < 200; i++) expect(data.sync, `${p}-${i}`).to.have.property(`${p}-${i}`);
    }
    expect(data.nextJobId).to.equal(1 + 800);
  });

  it('survives SIGKILL at random moments 200 times: the file always parses and holds every acknowledged update', async function () {
    this.timeout(300_000);
    let totalAcked = 0;
    for (let round = 0; round < 200; round++) {
      const child = runUpdater(file, `r${round}`, 10_000);
      // Odd rounds kill at any moment from start-up on; even rounds once updates are flowing.
      if (round % 2 === 0) await waitFor('the updater', () => child.acked.length > 0, 10_000, 2);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * (round % 2 === 0 ? 40 : 150)));
      child.kill();
      await child.done.catch(() => undefined);
      const acked = [...child.acked];
      totalAcked += acked.length;
      if (!fs.existsSync(file)) {
        expect(acked, `round ${round}: updates acknowledged but no file`).to.have.length(0);
        continue;
      }
      const { data } = parseState(fs.readFileSync(file, 'utf8'), file);
      for (const i of acked) expect(data.sync, `round ${round}: acknowledged update ${i} lost`).to.have.property(`r${round}-${i}`);
    }
    expect(totalAcked, 'the kills should land while updates are being made').to.be.greaterThan(100);
    // The store is still usable afterwards: a lock left by a killed process does not block.
    await new StateStore(file, { timeoutMs: 5000 }).update((s) => void (s.sync.final = {}));
    // and temp files of writers killed mid-write were cleaned up by that update
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
  });
});

describe('StateStore history', () => {
  let dir: string;
  let file: string;
  beforeEach(() => ({ dir, file } = tempStore()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps the document the size of the open changes: older finished jobs move to history and stay findable', async () => {
    const store = new StateStore(file);
    const total = RECENT_FINISHED_KEPT + 50;
    await store.update((s: StateData) => {
      for (let i = 0; i < total; i++) s.jobs[`j${i}`] = finished(`j${i}`, i);
      s.configs['p~2'] = { id: 'p~2', project: 'p', branch: 'master', number: 2, description: 'd', branches: {}, templates: ['t'], patchSet: 1, revision: 'r', ref: 'refs/changes/02/2/1', updatedAt: 'x' };
      s.jobs.current = { ...finished('current', 0), configId: 'p~2', number: 2 };
      s.jobs.running = { ...finished('running', 0), status: 'running' };
    });
    const live = await store.read();
    // The current patch set's result and the running job stay, with the most recent finished ones.
    expect(Object.keys(live.jobs)).to.include.members(['current', 'running', `j${total - 1}`]);
    expect(Object.keys(live.jobs)).to.have.length(RECENT_FINISHED_KEPT + 2);
    expect(live.jobs.j0).to.equal(undefined);
    expect(live.archive.jobs.count).to.equal(50);
    // History is still there for show, list and logs.
    expect((await store.getJob('j0'))?.id).to.equal('j0');
    expect((await store.getJob('j49'))?.finishedAt).to.equal(finished('j49', 49).finishedAt);
    expect(await store.getJob('nope')).to.equal(undefined);
    const ids = await allJobIds(store);
    expect(ids).to.have.length(total + 2);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(ids.slice(-3)).to.deep.equal(['j2', 'j1', 'j0']);
    const firstPage: string[] = [];
    for await (const job of store.listJobs({ status: ['running'] }, { limit: 5 })) firstPage.push(job.id);
    expect(firstPage).to.deep.equal(['running']);
  });

  it('cuts off what a writer killed between archiving and writing the document appended: nothing appears twice', async () => {
    const store = new StateStore(file);
    await store.update((s: StateData) => {
      for (let i = 0; i < RECENT_FINISHED_KEPT + 1; i++) s.jobs[`j${i}`] = finished(`j${i}`, i);
    });
    const { archive } = await store.read();
    // A dead writer's append: records past the committed mark (one of them still live in the document).
    fs.appendFileSync(path.join(dir, archive.jobs.file), `${JSON.stringify(finished('j150', 150))}\n{"id":"half-writ`);
    expect(await allJobIds(store)).to.have.length(RECENT_FINISHED_KEPT + 1);
    await store.update((s: StateData) => void (s.jobs.next = finished('next', 999)));
    const ids = await allJobIds(store);
    expect(ids).to.have.length(RECENT_FINISHED_KEPT + 2);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(fs.readFileSync(path.join(dir, (await store.read()).archive.jobs.file), 'utf8')).to.not.contain('half-writ');
  });

  it('survives SIGKILL while history is archived 60 times: every acknowledged job is found exactly once', async function () {
    this.timeout(300_000);
    const seeded = Array.from({ length: RECENT_FINISHED_KEPT }, (_, i) => `seed${i}`);
    // With the most recent history full, every new finished job pushes an older one into the archive.
    await new StateStore(file).update((s: StateData) => {
      for (const [i, id] of seeded.entries()) s.jobs[id] = finished(id, -1000 + i);
    });
    let totalAcked = 0;
    const acked: string[] = [...seeded];
    for (let round = 0; round < 60; round++) {
      const child = runUpdater(file, `r${round}`, 10_000, 0, 'jobs');
      await waitFor('the updater', () => child.acked.length > 0, 10_000, 2);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
      child.kill();
      await child.done.catch(() => undefined);
      acked.push(...child.acked.map((i) => `r${round}-${i}`));
      totalAcked += child.acked.length;
    }
    const store = new StateStore(file);
    const ids = await allJobIds(store);
    expect(new Set(ids).size, 'no job twice').to.equal(ids.length);
    expect(ids).to.include.members(acked);
    expect(totalAcked, 'the kills should land while jobs are being archived').to.be.greaterThan(60);
    expect((await store.read()).archive.jobs.count).to.be.greaterThan(60);
  });
});

const config = (id: string, number: number, patchSet: number) => ({
  id, project: 'p', branch: 'master', number, description: 'd', branches: {}, templates: ['t'], patchSet, revision: 'r', ref: `refs/changes/0${number}/${number}/${patchSet}`, updatedAt: 'x',
});

describeBackends('the state store', (backend) => {
  it('starts empty, and what an update wrote is seen by another handle on the store', async () => {
    const a = backend.open();
    const b = backend.open();
    expect((await a.read()).jobs).to.deep.equal({});
    await a.update((s) => void (s.sync.a = { lastSweepChanges: 1 }));
    await b.update((s) => {
      s.configs['p~1'] = config('p~1', 1, 1);
      enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: 't' }, new Date());
    });
    await a.update((s) => void (s.sync.c = {}));
    const seen = await b.read();
    expect(Object.keys(seen.sync).sort()).to.deep.equal(['a', 'c']);
    expect(seen.jobs.j1).to.include({ status: 'queued', configId: 'p~1' });
    expect(seen.configs['p~1']!.patchSet).to.equal(1);
    expect(seen.nextJobId).to.equal(2);
  });

  it('keeps the last run of sync, stream and comment for the status page, as another handle sees it', async () => {
    const a = backend.open();
    await a.update((s) => void (s.activity = { sync: { at: '2026-12-01T10:00:00.000Z', ok: true, summary: '2 project branch(es) swept', by: 'ctl:1' } }));
    await a.update((s) => void (s.activity!.comment = { at: '2026-12-01T10:01:00.000Z', ok: false, summary: 'gerrit: HTTP 503' }));
    const seen = await backend.open().read();
    expect(seen.activity).to.deep.equal({
      sync: { at: '2026-12-01T10:00:00.000Z', ok: true, summary: '2 project branch(es) swept', by: 'ctl:1' },
      comment: { at: '2026-12-01T10:01:00.000Z', ok: false, summary: 'gerrit: HTTP 503' },
    });
  });

  it('an update whose function throws changes nothing', async () => {
    const store = backend.open();
    await store.update((s) => void (s.sync.kept = {}));
    const err = await store.update((s) => {
      s.sync.lost = {};
      s.jobs.x = finished('x', 1);
      throw new Error('boom');
    }).catch((e: Error) => e);
    expect((err as Error).message).to.equal('boom');
    const after = await backend.open().read();
    expect(Object.keys(after.sync)).to.deep.equal(['kept']);
    expect(after.jobs).to.deep.equal({});
    await store.update((s) => void (s.sync.after = {}));
  });

  it('keeps every update of 4 processes x 100 updates made at once', async function () {
    this.timeout(180_000);
    const children = ['a', 'b', 'c', 'd'].map((p) => runUpdater(backend.location(), p, 100));
    await Promise.all(children.map((c) => c.done));
    const data = await backend.open().read();
    for (const p of ['a', 'b', 'c', 'd']) for (let i = 0; i < 100; i++) expect(data.sync, `${p}-${i}`).to.have.property(`${p}-${i}`);
    expect(data.nextJobId).to.equal(1 + 400);
  });

  it('keeps the live state the size of the open changes; older finished jobs stay findable in history', async () => {
    const store = backend.open();
    const total = RECENT_FINISHED_KEPT + 50;
    await store.update((s: StateData) => {
      for (let i = 0; i < total; i++) s.jobs[`j${i}`] = finished(`j${i}`, i);
      s.configs['p~2'] = config('p~2', 2, 1);
      s.jobs.current = { ...finished('current', 0), configId: 'p~2', number: 2 };
      s.jobs.running = { ...finished('running', 0), status: 'running', worker: 'w' };
    });
    const live = await backend.open().read();
    expect(Object.keys(live.jobs)).to.include.members(['current', 'running', `j${total - 1}`]);
    expect(Object.keys(live.jobs)).to.have.length(RECENT_FINISHED_KEPT + 2);
    expect(live.jobs.j0).to.equal(undefined);
    expect((await store.getJob('j0'))?.id).to.equal('j0');
    expect((await store.getJob('j49'))?.finishedAt).to.equal(finished('j49', 49).finishedAt);
    expect(await store.getJob('nope')).to.equal(undefined);
    const ids = await allJobIds(store);
    expect(ids).to.have.length(total + 2);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(ids).to.include.members(['j0', 'j1', 'current', 'running']);
    const running: string[] = [];
    for await (const job of store.listJobs({ status: ['running'] }, { limit: 5 })) running.push(job.id);
    expect(running).to.deep.equal(['running']);
    const limited: string[] = [];
    for await (const job of store.listJobs({ status: ['success'], project: ['p'] }, { limit: 7 })) limited.push(job.id);
    expect(limited).to.have.length(7);
    // An update of something else leaves history alone.
    await store.update((s) => void (s.sync.x = {}));
    expect(await allJobIds(store)).to.have.length(total + 2);
  });

  it('lists every job once, newest first, when more than a page of them were created at the same moment', async () => {
    // One sync enqueues a job per template of every new patch set with the same clock reading; 1,200
    // of them cross PostgreSQL's list pages (500) and the job numbers' digit counts.
    const store = backend.open();
    const at = new Date('2026-01-01T00:00:00.000Z');
    await store.update((s: StateData) => {
      s.configs['p~1'] = config('p~1', 1, 1);
      for (let i = 0; i < 1200; i++) enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: `t${i}` }, at);
    });
    const ids = await allJobIds(backend.open());
    expect(ids).to.have.length(1200);
    expect(ids).to.deep.equal(Array.from({ length: 1200 }, (_, i) => `j${1200 - i}`));
  });

  it('lists the jobs of one patch set, or of one revision by its first characters, and no others', async () => {
    const store = backend.open();
    await store.update((s: StateData) => {
      s.configs['p~1'] = config('p~1', 1, 2);
      enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 1, revision: 'a'.repeat(40), template: 't' }, new Date('2026-01-01T00:00:00Z'));
      enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 2, revision: 'b'.repeat(40), template: 't' }, new Date('2026-01-01T00:01:00Z'));
      enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 2, revision: 'b'.repeat(40), template: 'u' }, new Date('2026-01-01T00:02:00Z'));
    });
    const ids = async (filter: JobFilter) => {
      const found: string[] = [];
      for await (const job of backend.open().listJobs(filter)) found.push(job.id);
      return found;
    };
    expect(await ids({ number: 1, patchSet: 2 })).to.deep.equal(['j3', 'j2']);
    expect(await ids({ number: 1, patchSet: 1 })).to.deep.equal(['j1']);
    expect(await ids({ revision: 'aaaa' })).to.deep.equal(['j1']);
    expect(await ids({ revision: 'b'.repeat(40) })).to.deep.equal(['j3', 'j2']);
    expect(await ids({ revision: 'abab' })).to.deep.equal([]);
    expect(await ids({ revision: '' })).to.deep.equal([]);
  });

  it('lists queue jobs, baselines and ad-hoc runs apart or together, also those stored before jobs carried their kind', async () => {
    const store = backend.open();
    await store.update((s: StateData) => {
      s.jobs.q = finished('q', 1);
      s.jobs.a = { ...finished('a', 2), kind: 'adhoc', configId: 'adhoc' };
      s.jobs.old = { ...finished('old', 3), configId: 'adhoc' };
      s.jobs.b = { ...finished('b', 0), kind: 'baseline', configId: 'baseline' };
    });
    const ids = async (kind?: JobKind | JobKind[]) => {
      const found: string[] = [];
      for await (const job of backend.open().listJobs({ kind })) found.push(job.id);
      return found;
    };
    expect(await ids('queue')).to.deep.equal(['q']);
    expect(await ids('adhoc')).to.deep.equal(['old', 'a']);
    expect(await ids(['queue', 'baseline'])).to.deep.equal(['q', 'b']);
    expect(await ids()).to.deep.equal(['old', 'a', 'q', 'b']);
  });

  it('prunes history that ended before the cutoff, and nothing newer', async () => {
    const store = backend.open();
    await store.update((s: StateData) => {
      for (let i = 0; i < RECENT_FINISHED_KEPT + 10; i++) s.jobs[`j${i}`] = finished(`j${i}`, i);
    });
    const cutoff = new Date(Date.UTC(2026, 0, 1, 0, 5));
    expect(await store.pruneHistory(cutoff, { dryRun: true })).to.have.members(['j0', 'j1', 'j2', 'j3', 'j4']);
    expect(await allJobIds(store)).to.have.length(RECENT_FINISHED_KEPT + 10);
    expect(await store.pruneHistory(cutoff, { dryRun: false })).to.have.members(['j0', 'j1', 'j2', 'j3', 'j4']);
    const ids = await allJobIds(store);
    expect(ids).to.have.length(RECENT_FINISHED_KEPT + 5);
    expect(ids).to.not.include('j0');
    // The file store rewrote its archive into one new generation and removed the old one.
    if (backend.name === 'file') expect(fs.readdirSync(backend.dir()).filter((n) => n.startsWith('jobs-archive'))).to.deep.equal([(await store.read()).archive.jobs.file]);
  });

  it('never hands out a job id again once its job left the live state', async () => {
    const store = backend.open();
    await store.update((s) => {
      for (let i = 0; i < RECENT_FINISHED_KEPT + 5; i++) Object.assign(enqueueJob(s, { configId: 'gone~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: 't' }, new Date(Date.UTC(2026, 0, 1, 0, i))), { status: 'success', finishedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() });
    });
    const next = await backend.open().update((s) => enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: 't' }, new Date()).id);
    expect(next).to.equal(`j${RECENT_FINISHED_KEPT + 6}`);
    expect((await store.getJob('j1'))?.status).to.equal('success');
  });

  it('refuses a store written by a newer SmokeStack in one line naming it, and leaves it untouched', async () => {
    await backend.open().update((s) => void (s.sync.kept = {}));
    if (backend.name === 'file') {
      const doc = JSON.parse(fs.readFileSync(backend.location(), 'utf8'));
      fs.writeFileSync(backend.location(), JSON.stringify({ ...doc, schemaVersion: SCHEMA_VERSION + 1 }));
    } else {
      const client = new pg.Client(backend.location());
      await client.connect();
      await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future')", [knownSchemaVersion() + 1]);
      await client.end();
    }
    const store = backend.open();
    for (const attempt of [() => store.read(), () => store.update((s) => void (s.sync.x = {}))]) {
      const err = await attempt().then(() => expect.fail('should have been refused'), (e: unknown) => e);
      expect(isUserError(err), String(err)).to.equal(true);
      expect((err as Error).message).to.contain(backend.name === 'file' ? backend.location() : '127.0.0.1').and.to.match(/newer than this SmokeStack understands/);
      expect((err as Error).message.split('\n')).to.have.length(1);
    }
    if (backend.name === 'postgresql') {
      const client = new pg.Client(backend.location());
      await client.connect();
      const { rows } = await client.query("SELECT doc FROM sync_marks WHERE key = 'kept'");
      await client.end();
      expect(rows).to.have.length(1);
    }
  });
});
