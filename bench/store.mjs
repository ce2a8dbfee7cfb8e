#!/usr/bin/env node
// bench/store: one update and one filtered listing against a store holding 100,000 jobs, and
// a listing of an empty store (what any command costs), each measured as a whole process
// (start-up included), median of 5.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateStore, enqueueJob, JOB_STATUSES } from '@smokestack/core';
import { median, report, timeProcess } from './lib.mjs';

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-store-'));
const file = path.join(dir, 'state.json');

try {
  const store = new StateStore(file);
  const started = Date.now();
  await store.update((state) => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < JOBS; i++) {
      const project = `openstack/project-${i % 40}`;
      const job = enqueueJob(
        state,
        { configId: `${project}~${i}`, project, number: 1000 + i, patchSet: 1 + (i % 5), revision: i.toString(16).padStart(40, '0'), template: `template-${i % 3}` },
        new Date(base + i * 1000),
      );
      // About 1% running, the rest spread over the finished statuses.
      job.status = i % 100 === 0 ? 'running' : JOB_STATUSES[2 + (i % 6)];
      job.summary = { tests: 120, failures: i % 7 === 0 ? 2 : 0, errors: 0, skipped: 3, durationMs: 600_000 };
      job.skipped = [{ id: 'tempest.api.compute.test_live_migration', reason: 'libvirt not available' }];
      job.message = 'finished';
    }
  });
  const seedMs = Date.now() - started;
  const size = fs.statSync(file).size;

  const updateTimes = timeProcess(process.execPath, [path.join(root, 'bench/fixtures/one-update.mjs'), file]);
  const listTimes = timeProcess(process.execPath, [path.join(root, 'packages/bellows/bin/run.js'), 'jobs', 'list', '--status', 'running', '--json'], {
    env: { SMOKESTACK_STATE: file, XDG_CONFIG_HOME: path.join(dir, 'xdg') },
  });
  const emptyFile = path.join(dir, 'empty', 'state.json');
  await new StateStore(emptyFile).update(() => undefined);
  const emptyListTimes = timeProcess(process.execPath, [path.join(root, 'packages/bellows/bin/run.js'), 'jobs', 'list', '--json'], {
    env: { SMOKESTACK_STATE: emptyFile, XDG_CONFIG_HOME: path.join(dir, 'xdg') },
  });
  const baseline = timeProcess(process.execPath, ['-e', '0']);

  report(`store with ${JOBS.toLocaleString('en')} jobs`, {
    'state.json size': `${(size / 1024 / 1024).toFixed(1)} MiB`,
    'seeding (one update, in process)': `${seedMs} ms`,
    'one update, whole process (median of 5)': `${median(updateTimes).toFixed(0)} ms`,
    'bellows jobs list --status running --json (median of 5)': `${median(listTimes).toFixed(0)} ms`,
    'bellows jobs list --json, empty store: a command\'s floor (median of 5)': `${median(emptyListTimes).toFixed(0)} ms`,
    'node start-up alone (median of 5)': `${median(baseline).toFixed(0)} ms`,
  });
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
