#!/usr/bin/env node
// bench/sync: `bellows sync --json` as a whole process against the Gerrit simulator (in this process) holding
// 5,000 open changes across 20 projects, every REST answer delayed 20 ms. Measures wall time and Gerrit requests
// of a first sync (fresh store) and of a no-op incremental sync right after it, median of 5, once with Gerrit's
// default page cap (500) and once with a 100-change cap, and compares the first sync with its critical path
// (requests that must follow one another x latency). Needs the built dist:
//   npm run build
// Knobs: BENCH_SYNC_CHANGES (5000), BENCH_SYNC_PROJECTS (20), BENCH_SYNC_LATENCY_MS (20), BENCH_SYNC_RUNS (5),
// BENCH_SYNC_PAGE_CAPS ("500,100").
//
// The no-op sync is measured twice. With the default `gerrit.overlapSeconds: 300` (what users run) it re-reads
// every change updated in the 5 minutes before the previous sweep, so with a live-looking seed it returns a few
// changes and still costs one request per project. With `overlapSeconds: 0` it shows the floor of the
// incremental query alone. Neither changes the store, so both are no-op syncs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GerritRestClient } from '@smokestack/core';
import { GerritSim } from '@smokestack/testkit';
import { median, report, runProcess } from './lib.mjs';

const CHANGES = Number(process.env.BENCH_SYNC_CHANGES ?? 5000);
const PROJECTS = Number(process.env.BENCH_SYNC_PROJECTS ?? 20);
const LATENCY_MS = Number(process.env.BENCH_SYNC_LATENCY_MS ?? 20);
const RUNS = Number(process.env.BENCH_SYNC_RUNS ?? 5);
const PAGE_CAPS = (process.env.BENCH_SYNC_PAGE_CAPS ?? '500,100').split(',').map(Number);
// bellows asks for this many changes per page (gerrit.pageSize default; this bench does not set it).
const PAGE_SIZE = 500;
const DEFAULT_OVERLAP_SECONDS = 300;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bellows = path.join(root, 'packages/bellows/bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-sync-'));
const projectNames = Array.from({ length: PROJECTS }, (_, i) => `bench/project-${String(i).padStart(2, '0')}`);
const ms = (value) => `${value.toFixed(0)} ms`;

let sim;
const cleanup = async () => {
  const running = sim;
  sim = undefined;
  await running?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
};
// Stop the simulator and remove the temp dir on Ctrl-C or kill too, not only on a normal exit or a thrown error.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

/** Deterministic PRNG (mulberry32), so every run seeds the same history. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Open changes the way a busy Gerrit has them: a fifth touched in the last day, 30% in the two weeks before, the
 * rest idle for up to six months, each band evenly spread with jitter (so the last 5 minutes always hold a few
 * updates); 1 to 4 patch sets each, the last one uploaded at the change's update time.
 */
function seed(target) {
  const random = prng(42);
  const now = Date.now();
  const day = 24 * 3600_000;
  // [share of changes, newest age, oldest age]
  const bands = [[0.2, 0, day], [0.3, day, 14 * day], [0.5, 14 * day, 180 * day]];
  const sizes = bands.map(([share]) => Math.round(share * CHANGES));
  const seen = bands.map(() => 0);
  for (const name of projectNames) target.createProject(name, { branch: 'master' });
  for (let i = 0; i < CHANGES; i++) {
    const slot = i % 10; // interleaved, so every project gets its share of each band
    const b = slot < 2 ? 0 : slot < 5 ? 1 : 2;
    const [, newest, oldest] = bands[b];
    const age = newest + ((seen[b]++ + random()) / Math.max(1, sizes[b])) * (oldest - newest);
    const updated = now - age;
    const patchSets = 1 + Math.floor(random() * 4);
    const created = patchSets === 1 ? updated : updated - random() * 30 * day;
    const change = target.createChange({
      project: projectNames[i % PROJECTS],
      branch: 'master',
      subject: `Change ${i}: tidy the ${['scheduler', 'api', 'db', 'compute', 'network'][i % 5]} code`,
      owner: `dev${String(i % 50).padStart(2, '0')}`,
      created: new Date(created),
    });
    for (let ps = 2; ps <= patchSets; ps++) {
      target.uploadPatchSet(change.number, { created: new Date(created + ((updated - created) * (ps - 1)) / (patchSets - 1)) });
    }
  }
}

/** Times the Gerrit phase as the simulator sees it: first request received to last answer sent. */
function trackRequests(server) {
  let first;
  let last;
  server?.on('request', (_req, res) => {
    first ??= process.hrtime.bigint();
    res.once('finish', () => { last = process.hrtime.bigint(); });
  });
  return {
    reset() { first = undefined; last = undefined; },
    spanMs() { return first !== undefined && last !== undefined ? Number(last - first) / 1e6 : NaN; },
  };
}

/** How many project branches syncProjects sweeps at once, read from the built code (so the estimate follows it). */
function syncConcurrency() {
  const source = fs.readFileSync(path.join(root, 'packages/core/dist/bellows/sync.js'), 'utf8');
  const match = /pLimit\(options\.concurrency \?\? (\d+)\)/.exec(source);
  return match ? { slots: Number(match[1]), known: true } : { slots: 1, known: false };
}

/** Requests on the critical path: projects start in config order as p-limit slots free up; pages of one project follow one another. */
function criticalRequests(pagesPerProject, slots) {
  const busy = new Array(slots).fill(0);
  for (const pages of pagesPerProject) {
    busy.sort((a, b) => a - b);
    busy[0] += pages;
  }
  return Math.max(...busy);
}

/** The first sync's Gerrit reads alone: core's client in this process, same queries and concurrency, no CLI and no store. */
async function clientOnly(slots) {
  const client = new GerritRestClient({ url: sim.httpUrl, username: 'smokestack', password: 'secret', pageSize: PAGE_SIZE });
  const started = process.hrtime.bigint();
  const queue = [...projectNames];
  let changes = 0;
  await Promise.all(Array.from({ length: slots }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const open = await client.fetchOpenChanges(name, 'master');
      changes += open.length;
    }
  }));
  if (changes !== CHANGES) throw new Error(`client alone: expected ${CHANGES} changes, got ${changes}`);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, requests: client.requestCount };
}

function writeConfig(file, overlapSeconds) {
  const config = {
    gerrit: { url: sim.httpUrl, username: 'smokestack', ...(overlapSeconds === undefined ? {} : { overlapSeconds }) },
    projects: projectNames.map((name) => ({ name, branch: 'master', templates: ['smoke'] })),
    templates: { smoke: { description: 'one quick suite', suites: [{ name: 'smoke', command: 'true' }] } },
  };
  // JSON is YAML, and needs no YAML writer here.
  fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
}

/** One `bellows sync --json` run: wall time, the simulator's request count delta and the sync's own result. */
async function sync(env, tracker) {
  const before = sim.requestCount;
  tracker.reset();
  const { ms: wall, stdout } = await runProcess(process.execPath, [bellows, 'sync', '--json'], { env, cwd: dir });
  const result = JSON.parse(stdout);
  if (result.errors?.length) throw new Error(`bellows sync reported errors: ${JSON.stringify(result.errors)}`);
  return {
    wall,
    simRequests: sim.requestCount - before,
    requests: result.requests,
    gerritMs: tracker.spanMs(),
    result,
    changesRead: result.sweeps.reduce((sum, s) => sum + s.changes, 0),
  };
}

/** "12" when every run agrees, "12 (10-14)" otherwise. */
function count(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? String(lo) : `${median(values)} (${lo}-${hi})`;
}

async function benchPageCap(pageCap, concurrency, startupMs) {
  const realistic = path.join(dir, `smokestack-${pageCap}.yaml`);
  const noOverlap = path.join(dir, `smokestack-${pageCap}-overlap0.yaml`);
  const first = [];
  const noop = [];
  const noopZero = [];
  const clientRuns = [];
  const seedTimes = [];
  const storeSizes = [];
  for (let run = 0; run < RUNS; run++) {
    // A fresh simulator and store every run: each first sync starts empty, and each no-op sync sees the same
    // seeded history at the same distance from "now".
    const runDir = path.join(dir, `run-${pageCap}-${run}`);
    fs.mkdirSync(runDir, { recursive: true });
    sim = await GerritSim.start({ faults: { latencyMs: LATENCY_MS }, pageCap, git: false, dir: path.join(runDir, 'sim') });
    try {
      const seeding = Date.now();
      seed(sim);
      seedTimes.push(Date.now() - seeding);
      const tracker = trackRequests(sim.httpServer);
      writeConfig(realistic);
      writeConfig(noOverlap, 0);
      const env = {
        SMOKESTACK_STATE: path.join(runDir, 'state.json'),
        GERRIT_HTTP_PASSWORD: 'secret',
        XDG_CONFIG_HOME: path.join(runDir, 'config'),
        XDG_STATE_HOME: path.join(runDir, 'state'),
        XDG_CACHE_HOME: path.join(runDir, 'cache'),
      };
      const a = await sync({ ...env, SMOKESTACK_CONFIG: realistic }, tracker);
      if (a.result.created.length !== CHANGES || a.result.sweeps.some((s) => s.mode !== 'full')) {
        throw new Error(`first sync: expected ${CHANGES} configs created by full sweeps, got ${a.result.created.length}`);
      }
      storeSizes.push(fs.statSync(env.SMOKESTACK_STATE).size);
      const b = await sync({ ...env, SMOKESTACK_CONFIG: realistic }, tracker);
      const c = await sync({ ...env, SMOKESTACK_CONFIG: noOverlap }, tracker);
      for (const [name, r] of [['no-op sync', b], ['no-op sync (overlap 0)', c]]) {
        const changed = r.result.created.length + r.result.updated.length + r.result.purged.length + r.result.queued.length;
        if (changed || r.result.sweeps.some((s) => s.mode !== 'incremental')) throw new Error(`${name}: expected an incremental sweep changing nothing, got ${changed} change(s)`);
      }
      clientRuns.push(await clientOnly(concurrency.slots));
      first.push(a);
      noop.push(b);
      noopZero.push(c);
    } finally {
      const running = sim;
      sim = undefined;
      await running?.stop();
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  }

  const perPage = Math.min(PAGE_SIZE, pageCap);
  const pagesPerProject = projectNames.map((_, i) => Math.ceil(Math.max(1, Math.floor(CHANGES / PROJECTS) + (i < CHANGES % PROJECTS ? 1 : 0)) / perPage));
  const totalPages = pagesPerProject.reduce((a, b) => a + b, 0);
  const critical = criticalRequests(pagesPerProject, concurrency.slots);
  const noopCritical = criticalRequests(projectNames.map(() => 1), concurrency.slots);
  const slots = concurrency.known ? `${concurrency.slots} projects at a time` : 'concurrency not found in dist, assumed sequential';
  const m = (runs, key) => median(runs.map((r) => r[key]));

  const requests = (runs) => `${count(runs.map((r) => r.simRequests))} (simulator) / ${count(runs.map((r) => r.requests))} (--json)`;
  const o = `no-op, overlap ${DEFAULT_OVERLAP_SECONDS} s`;
  report(`sync: ${CHANGES.toLocaleString('en')} open changes, ${PROJECTS} projects, ${LATENCY_MS} ms latency, server page cap ${pageCap} (median of ${RUNS})`, {
    'seeding the simulator (in process)': ms(median(seedTimes)),
    'state.json after the first sync': `${(median(storeSizes) / 1024 / 1024).toFixed(1)} MiB`,
    'pages per project (n=500 asked, server cap)': `${[...new Set(pagesPerProject)].join('/')} of up to ${perPage} changes, ${totalPages} in all`,
    'first sync: requests': requests(first),
    'first sync: critical path estimate': `${ms(critical * LATENCY_MS)} (${critical} requests x ${LATENCY_MS} ms, ${slots})`,
    'first sync: estimate, one project at a time': `${ms(totalPages * LATENCY_MS)} (${totalPages} x ${LATENCY_MS} ms)`,
    'first sync: Gerrit reads alone (in process)': `${ms(m(clientRuns, 'ms'))} (${count(clientRuns.map((r) => r.requests))} requests; core's client, no CLI, no store, sharing this process with the simulator)`,
    'first sync: Gerrit phase (first req. to last)': ms(m(first, 'gerritMs')),
    'first sync: wall time (whole process)': ms(m(first, 'wall')),
    [`${o} (default): requests`]: requests(noop),
    [`${o}: changes re-read`]: count(noop.map((r) => r.changesRead)),
    [`${o}: critical path estimate`]: `${ms(noopCritical * LATENCY_MS)} (${noopCritical} x ${LATENCY_MS} ms)`,
    [`${o}: Gerrit phase`]: ms(m(noop, 'gerritMs')),
    [`${o}: wall time (whole process)`]: ms(m(noop, 'wall')),
    'no-op, overlap 0 s: requests': requests(noopZero),
    'no-op, overlap 0 s: changes re-read': count(noopZero.map((r) => r.changesRead)),
    'no-op, overlap 0 s: Gerrit phase': ms(m(noopZero, 'gerritMs')),
    'no-op, overlap 0 s: wall time (whole process)': ms(m(noopZero, 'wall')),
    'CLI start-up alone (bellows sync --help)': ms(startupMs),
  });
}

try {
  const concurrency = syncConcurrency();
  const startup = [];
  for (let i = 0; i < RUNS; i++) startup.push((await runProcess(process.execPath, [bellows, 'sync', '--help'], { cwd: dir })).ms);
  for (const pageCap of PAGE_CAPS) await benchPageCap(pageCap, concurrency, median(startup));
} finally {
  await cleanup();
}
