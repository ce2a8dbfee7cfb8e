#!/usr/bin/env node
// bench/depends-on: what Depends-On costs `bellows sync --fire --json` (a whole process) against the Gerrit
// simulator with every REST answer delayed 20 ms: 1,000 open changes over 10 projects, once without footers and
// once with a fifth of them depending (by Change-Id or URL) on an earlier change in another project, in chains of
// one to three. Measures the first sync, a no-op incremental sync, and the sync after one much-depended-on change
// gets a new patch set (its dependents superseded and queued again): requests and wall time, median of 5.
// Needs the built dist: npm run build
// Knobs: BENCH_DEPS_CHANGES (1000), BENCH_DEPS_PROJECTS (10), BENCH_DEPS_LATENCY_MS (20), BENCH_DEPS_RUNS (5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GerritSim } from '@smokestack/testkit';
import { median, report, runProcess } from './lib.mjs';

const CHANGES = Number(process.env.BENCH_DEPS_CHANGES ?? 1000);
const PROJECTS = Number(process.env.BENCH_DEPS_PROJECTS ?? 10);
const LATENCY_MS = Number(process.env.BENCH_DEPS_LATENCY_MS ?? 20);
const RUNS = Number(process.env.BENCH_DEPS_RUNS ?? 5);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bellows = path.join(root, 'packages/bellows/bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-deps-'));
const projects = Array.from({ length: PROJECTS }, (_, i) => `bench/p${i}`);

/**
 * Seeds the changes; with `footers`, every fifth depends on the change before it (in another project), every
 * 25th on a change that depends on another in turn, and every 100th on change 1: chains of one to three.
 */
function seed(sim, footers) {
  for (const name of projects) sim.createProject(name);
  const made = [];
  for (let i = 0; i < CHANGES; i++) {
    const target = !footers || i % 5 !== 4 ? undefined : i % 100 === 99 ? made[0] : i % 25 === 24 ? made[i - 5] : made[i - 1];
    const message = target ? (i % 2 ? `Depends-On: ${target.changeId}` : `Depends-On: ${sim.httpUrl}/c/${target.project}/+/${target.number}`) : undefined;
    made.push(sim.createChange({ project: projects[i % PROJECTS], subject: `Change ${i}`, ...(message ? { message } : {}) }));
  }
  return made;
}

async function sync(env) {
  const { ms, stdout } = await runProcess(process.execPath, [bellows, 'sync', '--fire', '--json'], { env, cwd: dir });
  const result = JSON.parse(stdout);
  if (result.errors.length) throw new Error(JSON.stringify(result.errors));
  return { ms, requests: result.requests, queued: result.queued.length, superseded: result.superseded.length };
}

async function once(footers, run) {
  const runDir = path.join(dir, `${footers ? 'deps' : 'plain'}-${run}`);
  fs.mkdirSync(runDir, { recursive: true });
  const sim = await GerritSim.start({ faults: { latencyMs: LATENCY_MS }, dir: path.join(runDir, 'sim') });
  try {
    const made = seed(sim, footers);
    const config = path.join(runDir, 'smokestack.yaml');
    const settings = {
      gerrit: { url: sim.httpUrl, username: 'smokestack' },
      projects: projects.map((name) => ({ name, templates: ['smoke'] })),
      templates: { smoke: { suites: [{ name: 'smoke', command: 'true' }] } },
    };
    fs.writeFileSync(config, JSON.stringify(settings));
    const env = { SMOKESTACK_CONFIG: config, SMOKESTACK_STATE: path.join(runDir, 'state.json'), GERRIT_HTTP_PASSWORD: 'secret', XDG_CONFIG_HOME: path.join(runDir, 'xdg') };
    const first = await sync(env);
    const noop = await sync(env);
    sim.uploadPatchSet(made[0].number);
    const moved = await sync(env);
    return { first, noop, moved };
  } finally {
    await sim.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

try {
  for (const footers of [false, true]) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await once(footers, i));
    const m = (step, key) => median(runs.map((r) => r[step][key]));
    report(`depends-on: ${CHANGES} changes, ${PROJECTS} projects, ${LATENCY_MS} ms latency, ${footers ? 'a fifth with Depends-On' : 'no footers'} (median of ${RUNS})`, {
      'first sync: requests': m('first', 'requests'),
      'first sync: wall time': `${m('first', 'ms').toFixed(0)} ms`,
      'no-op sync: requests': m('noop', 'requests'),
      'no-op sync: wall time': `${m('noop', 'ms').toFixed(0)} ms`,
      'change 1 new patch set: requests': m('moved', 'requests'),
      'change 1 new patch set: jobs superseded / queued': `${m('moved', 'superseded')} / ${m('moved', 'queued')}`,
      'change 1 new patch set: wall time': `${m('moved', 'ms').toFixed(0)} ms`,
    });
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
