import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import pg from 'pg';
import { CommitInDoubt, PostgresStore, isConnectionError, isUserError, openStore, StateStore, type Job, type JobKind, type JobStatus } from '@smokestack/core';
import { instantKey } from '../../src/store/postgres/rows.js';
import { jobPageQuery, type JobPageKey } from '../../src/store/postgres/store.js';
import { commitCuttingProxy, waitFor, type CommitCuttingProxy } from '@smokestack/testkit';
import { queueJobs, result, runClaimer } from '../queue/helpers.js';
import { describeBackends } from './backends.js';
import { allJobs, runUpdater } from './helpers.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

describe('PostgreSQL store: where it is and what it says', () => {
  it('refuses a password in the URL in one line that does not show it', () => {
    const err = (() => {
      try {
        new PostgresStore('postgresql://bot:s3cret@db.example.org/smokestack');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isUserError(err)).to.equal(true);
    expect((err as Error).message).to.match(/carries a password/).and.not.to.contain('s3cret');
  });

  it('is chosen by a postgresql:// URL in --state, SMOKESTACK_STATE or state:, and names itself without secrets', () => {
    const fromEnv = openStore({ env: { SMOKESTACK_STATE: 'postgresql://bot@db.example.org:5433/smokestack?sslmode=require', HOME: '/home/bot' } });
    expect(fromEnv).to.be.instanceOf(PostgresStore);
    expect(fromEnv.location).to.equal('postgresql://bot@db.example.org:5433/smokestack');
    expect(fromEnv.jobDir('j1')).to.equal('/home/bot/.local/state/smokestack/jobs/j1');
    const fromConfig = openStore({ configState: 'postgres://db/ss', configDataDir: 'data', configDir: '/etc/smokestack', env: {} });
    expect(fromConfig.jobsDir).to.equal('/etc/smokestack/data/jobs');
    expect(openStore({ flag: 'state.json', cwd: '/tmp', env: {} })).to.be.instanceOf(StateStore);
  });

  it('a database that does not answer stops the command with one line naming it', async function () {
    this.timeout(60_000);
    const store = new PostgresStore('postgresql://smokestack@127.0.0.1:1/smokestack');
    const err = await store.read().then(() => undefined, (e: unknown) => e);
    await store.close();
    expect(isUserError(err), String(err)).to.equal(true);
    expect((err as Error).message).to.match(/^postgresql:\/\/smokestack@127\.0\.0\.1:1\/smokestack: cannot use the PostgreSQL store: /);
    expect((err as Error).message.split('\n')).to.have.length(1);
  });

  it('commands on the file store never load node-postgres', () => {
    const script = `
      import { createRequire } from 'node:module';
      import { openStore } from '@smokestack/core';
      const store = openStore({ flag: process.argv[1], env: {} });
      await store.update((s) => void (s.sync.x = {}));
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/node_modules/pg/'));
      console.log(JSON.stringify(loaded));`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-noload-'));
    try {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, path.join(dir, 'state.json')], { cwd: REPO, encoding: 'utf8' });
      expect(JSON.parse(out)).to.deep.equal([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeBackends(
  'PostgreSQL store under failure',
  (backend) => {
    it('an update that read a job before a worker recorded its result runs again on the new state: the result is kept', async () => {
      const store = backend.open();
      const [id] = await queueJobs(store, 1);
      await store.queue.claim('w', new Date());
      let runs = 0;
      const seenStatus: string[] = [];
      await store.update(async (s) => {
        runs++;
        seenStatus.push(s.jobs[id!]!.status);
        // The worker's result lands between this update's read and its write.
        if (runs === 1) await backend.open().queue.finish(id!, result('test_failed', '2 failures'), new Date(), { maxInfraRetries: 0, worker: 'w' });
        const job = s.jobs[id!]!;
        if (job.status === 'running') Object.assign(job, { status: 'superseded', message: 'superseded by a new patch set' });
      });
      expect(seenStatus).to.deep.equal(['running', 'test_failed']);
      expect(await store.getJob(id!)).to.include({ status: 'test_failed', message: '2 failures' });
    });

    it('a claiming and finishing process SIGKILLed at random moments 40 times leaves no half-done claim or result', async function () {
      this.timeout(300_000);
      const store = backend.open();
      await queueJobs(store, 400);
      for (let round = 0; round < 40; round++) {
        const child = runClaimer(backend.location(), `w${round}`, 'finish');
        // A round's kill lands after its first result, at a random moment of the next claim or finish, whatever the load.
        await waitFor('the claimer', () => child.lines.some((l) => l.startsWith('finished ')), 60_000, 2);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 80));
        child.kill();
        await child.done.catch(() => undefined);
      }
      const jobs = await allJobs(store);
      const byId = new Map(jobs.map((j) => [j.id, j]));
      const running = jobs.filter((j) => j.status === 'running');
      // A kill lands mid-claim or mid-finish at most once per round: the job is running (its claim committed) or finished, never between.
      expect(running.length).to.be.at.most(40);
      for (const job of running) expect(job.worker).to.match(/^w\d+$/);
      for (const job of jobs.filter((j) => j.status === 'infra_failed')) {
        const retries = jobs.filter((r) => r.retryOf === job.id);
        if (job.attempt === 1) expect(retries, `retries of ${job.id}`).to.have.length(1);
        else expect(retries).to.have.length(0);
        expect(job.worker).to.equal(undefined);
      }
      for (const job of jobs.filter((j) => j.retryOf)) expect(byId.get(job.retryOf!)?.status, `${job.id} retries a finished job`).to.equal('infra_failed');
      expect(jobs.filter((j) => j.status === 'infra_failed').length, 'results were recorded while processes were killed').to.be.greaterThan(20);
      // Nothing is left locked: the rest of the queue can be claimed and finished.
      const recovered = await store.queue.recoverStale(new Date(Date.now() + 3600_000), 60_000, 'rescuer');
      expect(recovered.map((j) => j.id).sort()).to.deep.equal(running.map((j) => j.id).sort());
    });

    /** A store reaching the test's database through a commit-cutting proxy (migrated, the proxy not yet armed); both closed after `fn`. */
    const throughProxy = async (when: 'before' | 'after' | 'held', fn: (store: PostgresStore, proxy: CommitCuttingProxy) => Promise<void>) => {
      const proxy = await commitCuttingProxy(backend.location(), when);
      const store = new PostgresStore(proxy.url);
      try {
        await store.read();
        await fn(store, proxy);
      } finally {
        await store.close();
        proxy.close();
      }
    };

    const cuts = { before: 'before the server received it', after: 'after the server committed', held: 'the server still holding the session' } as const;
    for (const when of ['before', 'after', 'held'] as const) {
      it(`a connection lost at COMMIT (${cuts[when]}): the update is applied exactly once and returns its result`, async () => {
        await throughProxy(when, async (store, proxy) => {
          proxy.arm();
          let runs = 0;
          const answer = await store.update((s) => {
            runs++;
            s.nextJobId += 1;
            s.sync[`mark-${s.nextJobId}`] = { lastSweepChanges: runs };
            return `applied on run ${runs}`;
          });
          expect(proxy.cuts()).to.equal(1);
          // Rolled back by the server: it runs again. Committed unheard: it is not run twice.
          expect(answer).to.equal(when === 'after' ? 'applied on run 1' : 'applied on run 2');
        });
        const state = await backend.open().read();
        expect(Object.keys(state.sync)).to.have.length(1);
        expect(state.nextJobId).to.equal(2);
      });
    }

    it('a claim and a result whose answers were lost at COMMIT are looked up: the job is claimed once and finished once', async () => {
      const ids = await queueJobs(backend.open(), 2);
      await throughProxy('after', async (store, proxy) => {
        proxy.arm();
        const claimed = await store.queue.claim('w', new Date());
        proxy.arm();
        const outcome = await store.queue.finish(claimed!.id, result('infra_failed', 'host lost'), new Date(), { maxInfraRetries: 1, worker: 'w' });
        expect(proxy.cuts()).to.equal(2);
        expect(claimed?.id).to.equal(ids[0]);
        // Not `stale`: the worker hears the transition it made, with its retry.
        expect(outcome.stale).to.not.equal(true);
        expect(outcome.retry?.retryOf).to.equal(ids[0]);
        const jobs = await allJobs(backend.open());
        expect(jobs.map((j) => [j.id === ids[0] ? 'first' : j.id === ids[1] ? 'second' : 'retry', j.status]).sort()).to.deep.equal([
          ['first', 'infra_failed'],
          ['retry', 'queued'],
          ['second', 'queued'],
        ]);
      });
    });

    it('four claims cut at COMMIT at once, the server still holding their sessions: four jobs claimed, each once', async () => {
      const ids = await queueJobs(backend.open(), 6);
      await throughProxy('held', async (store, proxy) => {
        proxy.arm(4);
        // As many as the pool has connections: settling them cannot wait for the pool.
        const claimed = await Promise.all(['a', 'b', 'c', 'd'].map((w) => store.queue.claim(w, new Date())));
        expect(proxy.cuts()).to.equal(4);
        const jobs = await allJobs(backend.open());
        const running = jobs.filter((j) => j.status === 'running');
        expect(running.map((j) => j.id).sort()).to.deep.equal(claimed.map((j) => j!.id).sort());
        expect(new Set(claimed.map((j) => j!.id)).size).to.equal(4);
        expect(ids).to.include.members(claimed.map((j) => j!.id));
      });
    });

    it('a lost COMMIT that could not be settled is never taken for a connection failure to retry', () => {
      const doubt = new CommitInDoubt('could not find out whether a transaction committed after its connection was lost (Connection terminated unexpectedly)');
      expect(isConnectionError(doubt)).to.equal(false);
      expect(isConnectionError(new Error('Connection terminated unexpectedly'))).to.equal(true);
    });

    it('a PostgreSQL restart during updates loses no acknowledged update, and updates carry on after it', async function () {
      this.timeout(300_000);
      const child = runUpdater(backend.location(), 'r', 100_000, 5);
      await waitFor('updates to flow', () => child.alive() && child.acked.length > 20, 60_000);
      await backend.cluster().restart();
      const before = child.acked.length;
      await waitFor('updates after the restart', () => child.alive() && child.acked.length > before + 20, 120_000);
      child.kill();
      await child.done.catch(() => undefined);
      const client = new pg.Client(backend.location());
      await client.connect();
      const { rows } = await client.query<{ key: string }>('SELECT key FROM sync_marks');
      await client.end();
      const stored = new Set(rows.map((r) => r.key));
      const lost = child.acked.filter((i) => !stored.has(`r-${i}`));
      expect(lost, 'acknowledged updates lost').to.deep.equal([]);
    });

    it('a job watched for stop requests across a PostgreSQL restart: the watcher reconnects and a stop sent afterwards reaches it', async function () {
      this.timeout(300_000);
      const store = backend.open();
      const [id] = await queueJobs(store, 1);
      await store.queue.claim('w', new Date());
      const stops: string[] = [];
      const unwatch = await store.queue.watchStop(id!, (status) => stops.push(status), 60_000);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        await backend.cluster().kill();
        // The listener loses its connection and tries again while the server is down.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        await backend.cluster().start();
        await waitFor('the listener to be back', async () => {
          const client = new pg.Client(backend.location());
          await client.connect();
          const { rows } = await client.query("SELECT 1 FROM pg_stat_activity WHERE query = 'LISTEN smokestack_job_stop'");
          await client.end();
          return rows.length > 0;
        }, 120_000, 200);
        await backend.open().update((s) => void Object.assign(s.jobs[id!]!, { status: 'superseded', finishedAt: new Date().toISOString() }));
        await waitFor('the stop request', () => stops.length > 0, 60_000);
        expect(stops).to.deep.equal(['superseded']);
        expect(unhandled.map(String)).to.deep.equal([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        await unwatch();
      }
    });
  },
  'postgresql',
);

describeBackends(
  'PostgreSQL store: a long history',
  (backend) => {
    /** Every node of an EXPLAIN (FORMAT JSON) plan. */
    const planNodes = (node: Record<string, unknown>): Record<string, unknown>[] => [node, ...((node.Plans as Record<string, unknown>[] | undefined) ?? []).flatMap(planNodes)];

    it('lists 20,000 jobs once each, newest first, every page read through an index rather than the whole table', async function () {
      this.timeout(120_000);
      const store = backend.open();
      await store.read(); // the schema, with every migration
      const client = new pg.Client(backend.location());
      await client.connect();
      try {
        // Mostly queue jobs, some stored before jobs carried a kind, a few baselines and ad-hoc runs.
        await client.query(
          `INSERT INTO jobs (id, num, config_id, project, number, patch_set, template, status, created_at, finished_at, ended_at, doc)
           SELECT 'j' || i, i, CASE WHEN i % 97 = 0 THEN 'adhoc' ELSE 'p~' || i END, 'p', i, 1, 't', 'success', c, c, c,
                  jsonb_build_object('id', 'j' || i, 'status', 'success') || CASE WHEN i % 3 = 0 THEN '{}'::jsonb WHEN i % 97 = 0 THEN '{"kind": "adhoc"}' WHEN i % 89 = 0 THEN '{"kind": "baseline"}' ELSE '{"kind": "queue"}' END
           FROM generate_series(1, 20000) AS i, LATERAL (SELECT timestamptz '2026-01-01' + (i / 7) * interval '1 second' AS c) AS t`,
        );
        // What autovacuum does once a table has grown.
        await client.query('ANALYZE jobs');
        const ids = (await allJobs(backend.open())).map((j) => j.id);
        expect(ids).to.deep.equal(Array.from({ length: 20000 }, (_, i) => `j${20000 - i}`));

        const { rows } = await client.query<{ created: string; num: string }>(`SELECT ${instantKey('created_at')} AS created, num::text AS num FROM jobs WHERE num = 8000`);
        const deep: JobPageKey = [rows[0]!.created, rows[0]!.num];
        for (const filter of [{}, { kind: ['queue', 'baseline'] as JobKind[] }, { kind: ['adhoc'] as JobKind[] }, { kind: ['queue'] as JobKind[], status: ['success'] as JobStatus[] }]) {
          for (const after of [undefined, deep]) {
            const query = jobPageQuery(filter, 500, after);
            const plan = (await client.query(`EXPLAIN (FORMAT JSON) ${query.text}`, query.values)).rows[0]['QUERY PLAN'][0].Plan as Record<string, unknown>;
            const scans = planNodes(plan).map((n) => `${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''}`);
            expect(scans.filter((s) => s === 'Seq Scan'), `${JSON.stringify(filter)} after ${after ?? 'nothing'}: ${scans.join(', ')}`).to.deep.equal([]);
            // One kind comes from its index already in order: no sort of every older job of that kind.
            if (filter.kind?.length === 1 && !('status' in filter)) expect(scans, `${JSON.stringify(filter)}: ${scans.join(', ')}`).not.to.include('Sort');
          }
        }
      } finally {
        await client.end();
      }
    });

    it('pages of jobs and of test runs are whole whatever style and time zone the server prints dates in', async function () {
      this.timeout(120_000);
      await backend.open().read(); // the schema, with every migration
      const client = new pg.Client(backend.location());
      await client.connect();
      try {
        // A server that prints dates the SQL way in India's time: "03/12/2026 09:38:23.451 IST", where
        // PostgreSQL reads IST back as Israel's time, 3.5 hours off.
        const database = client.escapeIdentifier(new URL(backend.location()).pathname.slice(1));
        await client.query(`ALTER DATABASE ${database} SET DateStyle = 'SQL, DMY'`);
        await client.query(`ALTER DATABASE ${database} SET TimeZone = 'Asia/Kolkata'`);
        const count = 1200;
        await client.query(
          `INSERT INTO jobs (id, num, config_id, project, number, patch_set, template, status, created_at, finished_at, ended_at, doc)
           SELECT 'j' || i, i, 'p~' || i, 'p', i, 1, 't', 'success', c, c, c, jsonb_build_object('id', 'j' || i, 'status', 'success', 'kind', 'queue')
           FROM generate_series(1, ${count}) AS i, LATERAL (SELECT timestamptz '2026-12-03 04:00:00+00' + i * interval '1.5 second' AS c) AS t`,
        );
        // Times no job of ours has, which a copied or hand-edited table may: pages keep them in order too.
        await client.query(
          `INSERT INTO jobs (id, num, config_id, project, number, patch_set, template, status, created_at, finished_at, ended_at, doc)
           SELECT id, num, 'p~' || num, 'p', num, 1, 't', 'success', c, c, c, jsonb_build_object('id', id, 'status', 'success', 'kind', 'queue')
           FROM (VALUES ('future', 9001, timestamptz 'infinity'), ('ancient', 9002, timestamptz '0044-03-15 12:00:00+00 BC'), ('past', 9003, timestamptz '-infinity')) AS v(id, num, c)`,
        );
        // Runs in bursts 40 days apart, where the printed dates (day first) do not sort as the times do.
        await client.query(
          `INSERT INTO test_runs (job_id, project, revision_set, finished_at, doc)
           SELECT 'j' || i, 'p', 'r' || i, c, jsonb_build_object('jobId', 'j' || i)
           FROM generate_series(1, ${count}) AS i, LATERAL (SELECT timestamptz '2025-11-03 04:00:00+00' + (i / 100) * interval '40 days' + i * interval '1.5 second' AS c) AS t`,
        );
        const store = backend.open();
        // A session started since, as the store's are.
        const session = new pg.Client(backend.location());
        await session.connect();
        try {
          expect((await session.query<{ at: string }>(`SELECT timestamptz '2026-12-03 04:08:23.451+00'::text AS at`)).rows[0]!.at).to.equal('03/12/2026 09:38:23.451 IST');
          // A page that ends on each of the odd times goes on with the next job.
          for (const [last, next] of [['future', 'j1200'], ['j1', 'ancient'], ['ancient', 'past']]) {
            const { rows } = await session.query<{ created: string; num: string }>(`SELECT ${instantKey('created_at')} AS created, num::text AS num FROM jobs WHERE id = $1`, [last]);
            const page = jobPageQuery({}, 1, [rows[0]!.created, rows[0]!.num]);
            expect((await session.query<{ doc: string }>(page.text, page.values)).rows.map((r) => JSON.parse(r.doc).id), `after ${last}`).to.deep.equal([next]);
          }
        } finally {
          await session.end();
        }
        // Read at most twice what there is: a page boundary misread would repeat pages without end.
        const jobs: string[] = [];
        for await (const job of store.listJobs()) if (jobs.push(job.id) > 2 * count) break;
        expect(jobs).to.deep.equal(['future', ...Array.from({ length: count }, (_, i) => `j${count - i}`), 'ancient', 'past']);
        const runs: string[] = [];
        for await (const run of store.listTestRuns()) if (runs.push(run.jobId) > 2 * count) break;
        expect(runs).to.deep.equal(Array.from({ length: count }, (_, i) => `j${i + 1}`));
      } finally {
        await client.end();
      }
    });
  },
  'postgresql',
);
