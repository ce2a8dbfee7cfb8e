#!/usr/bin/env node
// bench/test-history: what keeping every job's per-test outcomes costs in the file store as history
// grows: recording one job's run (TESTS tests, BENCH_TESTS) with an empty history and after RUNS
// runs (BENCH_RUNS, default 5,000, two per revision set, a few tests flaky), asking for one revision
// set's runs, and listing a project's flaky tests. Medians of 25, in process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StateStore } from '@smokestack/core';
import { median, report } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5_000);
const TESTS = Number(process.env.BENCH_TESTS ?? 1_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-tests-'));
const store = new StateStore(path.join(dir, 'state.json'));
const ids = Array.from({ length: TESTS }, (_, i) => `nova.tests.unit.module_${i % 50}.TestCase.test_case_${i}`);

/** Run n: revision set n/2; test 7 fails on every other run (flaky), test 13 on every 10th set. */
function run(n) {
  const set = Math.floor(n / 2);
  const failed = ids.filter((_, i) => (i === 7 && n % 2 === 0) || (i === 13 && set % 10 === 0));
  const passed = ids.filter((id) => !failed.includes(id));
  return { jobId: `j${n}`, project: 'openstack/nova', template: 'nova-full', kind: 'queue', revisionSet: `nova-full build:nova@${set.toString(16).padStart(40, '0')}`, finishedAt: new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString(), passed, failed, skipped: [] };
}

async function timed(fn, times = 25) {
  const ms = [];
  for (let i = 0; i < times; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return `${median(ms).toFixed(1)} ms`;
}

try {
  let n = 0;
  const empty = await timed(() => store.recordTestRun(run(n++)));
  while (n < RUNS) await store.recordTestRun(run(n++));
  const full = await timed(() => store.recordTestRun(run(n++)));
  const sets = await timed((i) => store.testRunsOf(run(2 * i).revisionSet));
  const flaky = await timed(() => store.flakyTests({ project: 'openstack/nova', since: new Date('2026-01-01') }));
  const bytes = fs.readdirSync(path.join(dir, 'tests'), { recursive: true }).reduce((sum, f) => {
    const p = path.join(dir, 'tests', f);
    return sum + (fs.statSync(p).isFile() ? fs.statSync(p).size : 0);
  }, 0);
  report(`test history (${RUNS} runs of ${TESTS} tests)`, {
    'record one run, empty history': empty,
    [`record one run, after ${RUNS} runs`]: full,
    'runs of one revision set': sets,
    'flaky tests of the project': flaky,
    'history on disk': `${(bytes / 2 ** 20).toFixed(1)} MiB`,
  });
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
