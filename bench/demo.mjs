#!/usr/bin/env node
// bench/demo: `npm run demo` end to end (simulators, sync, the worker running every job, comments,
// report), whole process, once per host kind in BENCH_DEMO_HOSTS (default "container"; "local"
// installs the demo package on this machine), with each stage's time summed over the jobs (from
// every job's summary.json) so a change to one stage shows where the time went. Needs root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, runProcess } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kinds = (process.env.BENCH_DEMO_HOSTS ?? 'container').split(',');

/** Seconds per stage, summed over the jobs whose summary.json is under `jobsDir`. */
function stageSums(jobsDir) {
  const sums = {};
  let jobs = 0;
  for (const id of fs.existsSync(jobsDir) ? fs.readdirSync(jobsDir) : []) {
    const file = path.join(jobsDir, id, 'summary.json');
    let summary;
    try {
      summary = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      continue; // absent, or cut short by a killed job: the other jobs still count
    }
    jobs++;
    for (const s of summary.stages ?? []) sums[s.stage] = (sums[s.stage] ?? 0) + (s.durationMs ?? 0) / 1000;
  }
  const order = Object.entries(sums).sort((a, b) => b[1] - a[1]);
  return `${order.map(([stage, s]) => `${stage} ${s.toFixed(0)} s`).join(', ')} (${jobs} jobs)`;
}

/** Busy and total CPU time of the whole machine so far (all cores), in clock ticks, from /proc/stat. */
function cpuTicks() {
  // user nice system idle iowait irq softirq steal (guest time is already counted in user)
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = fields[3] + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

const figures = {};
for (const hosts of kinds) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-demo-'));
  try {
    const load = os.loadavg()[0].toFixed(1);
    const before = cpuTicks();
    const { ms, stderr } = await runProcess(process.execPath, [path.join(root, 'scripts', 'demo.mjs'), '--hosts', hosts, '--dir', dir, '--quiet']);
    figures[`demo, ${hosts} hosts: wall time`] = `${(ms / 1000).toFixed(0)} s (load average ${load} before)`;
    const after = cpuTicks();
    const busy = (after.busy - before.busy) / (after.total - before.total);
    figures[`demo, ${hosts} hosts: machine's CPU busy`] = `${(busy * 100).toFixed(0)}% of ${os.cpus().length} cores`;
    figures[`demo, ${hosts} hosts: outcome`] = stderr.trim().split('\n').find((l) => l.startsWith('Done in')) ?? '';
    figures[`demo, ${hosts} hosts: stages summed over jobs`] = stageSums(path.join(dir, 'state', 'jobs'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
// The figure the speed work started from on this 2-core machine (docs/benchmarks.md), printed beside this run's.
figures['demo before the speed work (docs/benchmarks.md)'] = '185 s; goal: under 3 minutes';
report('demo: npm run demo, whole process, once', figures);
