#!/usr/bin/env node
// bench/demo: `npm run demo` end to end (simulators, sync, the worker running every job, comments,
// report), whole process, once per host kind in BENCH_DEMO_HOSTS (default "container"; "local"
// installs the demo package on this machine). Needs root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, runProcess } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kinds = (process.env.BENCH_DEMO_HOSTS ?? 'container').split(',');
const figures = {};
for (const hosts of kinds) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-demo-'));
  try {
    const { ms, stderr } = await runProcess(process.execPath, [path.join(root, 'scripts', 'demo.mjs'), '--hosts', hosts, '--dir', dir, '--quiet']);
    figures[`demo, ${hosts} hosts: wall time`] = `${(ms / 1000).toFixed(0)} s`;
    figures[`demo, ${hosts} hosts: outcome`] = stderr.trim().split('\n').find((l) => l.startsWith('Done in')) ?? '';
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
report('demo: npm run demo, whole process, once', figures);
