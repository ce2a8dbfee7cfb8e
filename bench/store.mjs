#!/usr/bin/env node
// bench/store: both state stores side by side at 10,000, 100,000 and 1,000,000 jobs (BENCH_SIZES):
// one state change, one claim and `bellows jobs list --status running --json` as whole processes
// (start-up included, median of 5), `bellows jobs list --json` of every job, history included (into a
// pipe: wall time and the process's peak memory, median of 3), one state change in process (median of 20), and 8 worker
// processes claiming and finishing trivial jobs (claims per second). History holds the jobs, of
// changes long closed; 100 run and 200 wait in the queue. PostgreSQL is a throwaway cluster
// started by the testkit (Debian's postgresql-15, default settings).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { JOB_STATUSES, PostgresStore, StateStore, enqueueJob } from '@smokestack/core';
import { startPostgres } from '@smokestack/testkit';
import { median, timeProcess } from './lib.mjs';

const SIZES = (process.env.BENCH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const RUNNING = 100;
const QUEUED = 200;
const CLAIM_JOBS = 2000;
const WORKERS = 8;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bellows = path.join(root, 'packages/bellows/bin/run.js');
const fixture = (name) => path.join(root, 'bench/fixtures', name);
const base = Date.parse('2025-01-01T00:00:00Z');
const FINISHED = JOB_STATUSES.slice(2);

const newJob = (i) => {
  const project = `openstack/project-${i % 40}`;
  return { configId: `${project}~${i}`, project, number: 1000 + i, patchSet: 1 + (i % 5), revision: i.toString(16).padStart(40, '0'), template: `template-${i % 3}` };
};

/** Finished jobs in chunks (each update archives them), then the running and queued ones. */
async function seedFile(store, jobs) {
  for (let from = 0; from < jobs; from += 50_000) {
    await store.update((state) => {
      for (let i = from; i < Math.min(jobs, from + 50_000); i++) {
        const job = enqueueJob(state, newJob(i), new Date(base + i * 1000));
        Object.assign(job, { status: FINISHED[i % FINISHED.length], finishedAt: new Date(base + i * 1000 + 600_000).toISOString(), message: 'finished' });
        job.summary = { tests: 120, failures: i % 7 === 0 ? 2 : 0, errors: 0, skipped: 3, durationMs: 600_000 };
        job.skipped = [{ id: 'tempest.api.compute.test_live_migration', reason: 'libvirt not available' }];
      }
    });
  }
  await store.update((state) => addActive(state, jobs));
}

function addActive(state, from) {
  for (let i = from; i < from + RUNNING + QUEUED; i++) {
    const job = enqueueJob(state, newJob(i), new Date(base + i * 1000));
    if (i < from + RUNNING) Object.assign(job, { status: 'running', worker: 'bench', startedAt: job.createdAt, heartbeatAt: new Date().toISOString() });
  }
}

/** The same jobs straight into the table (what `store migrate` would write, faster). */
async function seedPostgres(url, jobs) {
  const client = new pg.Client(url);
  client.on('error', () => undefined);
  await client.connect();
  try {
  await client.query(
    `INSERT INTO jobs (id, num, config_id, project, number, patch_set, template, pool, status, created_at, finished_at, ended_at, doc)
     SELECT 'j' || i, i, 'openstack/project-' || (i - 1) % 40 || '~' || (i - 1), 'openstack/project-' || (i - 1) % 40, 999 + i, 1 + (i - 1) % 5,
            'template-' || (i - 1) % 3, 'default', ($2::text[])[1 + (i - 1) % 6], c, f, f,
            jsonb_build_object('id', 'j' || i, 'configId', 'openstack/project-' || (i - 1) % 40 || '~' || (i - 1), 'project', 'openstack/project-' || (i - 1) % 40,
              'number', 999 + i, 'patchSet', 1 + (i - 1) % 5, 'revision', lpad(to_hex(i - 1), 40, '0'), 'template', 'template-' || (i - 1) % 3,
              'status', ($2::text[])[1 + (i - 1) % 6], 'attempt', 1, 'createdAt', to_char(c AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'finishedAt', to_char(f AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'summary', jsonb_build_object('tests', 120, 'failures', CASE WHEN (i - 1) % 7 = 0 THEN 2 ELSE 0 END, 'errors', 0, 'skipped', 3, 'durationMs', 600000),
              'skipped', '[{"id": "tempest.api.compute.test_live_migration", "reason": "libvirt not available"}]'::jsonb,
              'message', 'finished', 'logDir', 'jobs/j' || i, 'reason', 'new')
     FROM generate_series(1, $1::integer) AS i, LATERAL (SELECT $3::timestamptz + (i - 1) * interval '1 second' AS c) AS t, LATERAL (SELECT c + interval '10 minutes' AS f) AS u`,
    [jobs, FINISHED, new Date(base).toISOString()],
  );
  await client.query(`UPDATE meta SET value = to_jsonb($1::bigint) WHERE key = 'next_job_id'`, [jobs + 1]);
  await client.query('VACUUM ANALYZE jobs');
  } finally {
    await client.end();
  }
  const store = new PostgresStore(url);
  await store.update((state) => addActive(state, jobs));
  await store.close();
}

async function inProcessUpdates(store, runs = 20) {
  const times = [];
  for (let i = 0; i < runs + 3; i++) {
    const started = process.hrtime.bigint();
    await store.update((state) => void (state.sync.bench = { lastSweepAt: new Date().toISOString() }));
    if (i >= 3) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(times);
}

/** 8 processes claim and finish trivial jobs from a common start: total claims over the time to the last one. */
async function claimsPerSecond(location, store) {
  await store.update((state) => {
    for (let i = 0; i < CLAIM_JOBS; i++) enqueueJob(state, { ...newJob(i), configId: 'claims', template: 'trivial' }, new Date());
  });
  const start = Date.now() + 4000;
  const runs = Array.from({ length: WORKERS }, () => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture('claim-loop.mjs'), location, String(start), String(start + 20_000)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`claim-loop exited ${code}`))));
  }));
  const results = await Promise.all(runs);
  const claims = results.reduce((n, r) => n + r.claims, 0);
  const last = Math.max(...results.map((r) => r.lastAt ?? start));
  return { claims, perSecond: claims / ((last - start) / 1000) };
}

/** `bellows jobs list --json` of every job into a pipe, through /usr/bin/time: median wall time and peak RSS of 3. */
function listEveryJob(env) {
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const started = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bellows, 'jobs', 'list', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 2 ** 31 });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (r.status !== 0) throw new Error(`jobs list --json exited ${r.status ?? r.signal}: ${r.error?.message ?? r.stderr}`);
    const jobs = JSON.parse(r.stdout.toString()).jobs.length;
    runs.push({ ms, peakMiB: Number(r.stderr.toString().trim().split('\n').pop()) / 1024, bytes: r.stdout.length, jobs });
  }
  return runs.sort((a, b) => a.ms - b.ms)[1];
}

async function measure(kind, jobs, location, store) {
  const env = { SMOKESTACK_STATE: location, XDG_CONFIG_HOME: path.join(os.tmpdir(), 'smokestack-bench-xdg'), SMOKESTACK_DATA_DIR: path.join(os.tmpdir(), 'smokestack-bench-data') };
  const update = median(timeProcess(process.execPath, [fixture('one-update.mjs'), location]));
  const updateInProcess = await inProcessUpdates(store);
  const claim = median(timeProcess(process.execPath, [fixture('one-claim.mjs'), location]));
  const list = median(timeProcess(process.execPath, [bellows, 'jobs', 'list', '--status', 'running', '--json'], { env }));
  const listAll = listEveryJob(env);
  const claims = await claimsPerSecond(location, store);
  return { kind, jobs, update, updateInProcess, claim, list, listAll, claims, load: os.loadavg()[0] };
}

const rows = [];
const node = median(timeProcess(process.execPath, ['-e', '0'], { runs: 10 }));
const cluster = await startPostgres();
try {
  for (const jobs of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-store-'));
    try {
      const file = path.join(dir, 'state.json');
      let store = new StateStore(file);
      let t0 = Date.now();
      await seedFile(store, jobs);
      console.error(`file store: ${jobs} jobs seeded in ${Date.now() - t0} ms`);
      rows.push(await measure('file', jobs, file, store));
      const url = await cluster.createDatabase(`bench_${jobs}`);
      store = new PostgresStore(url);
      await store.read(); // creates the schema
      t0 = Date.now();
      await seedPostgres(url, jobs);
      console.error(`postgresql: ${jobs} jobs seeded in ${Date.now() - t0} ms`);
      rows.push(await measure('postgresql', jobs, url, store));
      await store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.error(JSON.stringify(rows.slice(-2)));
  }
} finally {
  await cluster.stop();
}

const ms = (v) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
console.log(`\n== state stores side by side (whole processes include node start-up; median of 5; node -e 0: ${ms(node)})`);
// The file store before finished jobs left its live document (docs/benchmarks.md, an idle machine, node -e 0 about 103 ms).
console.log('before, file store, 100,000 jobs: one state change 1,365 ms (2.2-2.6 s in the issue); jobs list --status running --json 1,317 ms; jobs list --json of every job 13.7 s at a peak of 1.77 GiB (1.95 s at 10,000)');
console.log('| jobs | store | one state change | in process | one claim | jobs list --status running --json | jobs list --json, every job | 8 workers: claims/s | load average |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const all = `${ms(r.listAll.ms)}, ${r.listAll.jobs.toLocaleString('en')} jobs, ${(r.listAll.bytes / 1e6).toFixed(0)} MB, peak ${r.listAll.peakMiB.toFixed(0)} MiB`;
  console.log(`| ${r.jobs.toLocaleString('en')} | ${r.kind} | ${ms(r.update)} | ${ms(r.updateInProcess)} | ${ms(r.claim)} | ${ms(r.list)} | ${all} | ${r.claims.perSecond.toFixed(0)} (${r.claims.claims} claims) | ${r.load.toFixed(1)} |`);
}
