#!/usr/bin/env node
// bench/store: what one state change, one claim, a filtered list and a full --json list cost as
// whole processes (start-up included, median of 5) against a store whose history holds JOBS
// finished jobs (BENCH_JOBS, default 100,000), beside the figures of the store before history
// left the live document, and what any command costs on an empty store.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateStore, enqueueJob, JOB_STATUSES } from '@smokestack/core';
import { median, report, timeProcess } from './lib.mjs';

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const QUEUED = 200;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-store-'));
const file = path.join(dir, 'state.json');
const bellows = path.join(root, 'packages/bellows/bin/run.js');
const env = { SMOKESTACK_STATE: file, XDG_CONFIG_HOME: path.join(dir, 'xdg') };

/** 1% running and QUEUED queued; the rest finished, spread over the finished statuses, of changes long closed. */
async function seed(store) {
  await store.update((state) => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < JOBS + QUEUED; i++) {
      const project = `openstack/project-${i % 40}`;
      const job = enqueueJob(
        state,
        { configId: `${project}~${i}`, project, number: 1000 + i, patchSet: 1 + (i % 5), revision: i.toString(16).padStart(40, '0'), template: `template-${i % 3}` },
        new Date(base + i * 1000),
      );
      job.status = i >= JOBS ? 'queued' : i % 100 === 0 ? 'running' : JOB_STATUSES[2 + (i % 6)];
      if (job.status !== 'queued' && job.status !== 'running') job.finishedAt = new Date(base + i * 1000 + 600_000).toISOString();
      job.summary = { tests: 120, failures: i % 7 === 0 ? 2 : 0, errors: 0, skipped: 3, durationMs: 600_000 };
      job.skipped = [{ id: 'tempest.api.compute.test_live_migration', reason: 'libvirt not available' }];
      job.message = 'finished';
    }
  });
}

/** Wall time and peak memory of one run (GNU time), stdout discarded. */
function timeWithMemory(command, args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', command, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [seconds, kib] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { ms: seconds * 1000, mib: kib / 1024 };
}

try {
  const store = new StateStore(file);
  const started = Date.now();
  await seed(store);
  const seedMs = Date.now() - started;
  const live = await store.read();
  const archived = fs.statSync(path.join(dir, live.archive.jobs.file)).size;

  const updateTimes = timeProcess(process.execPath, [path.join(root, 'bench/fixtures/one-update.mjs'), file]);
  const claimTimes = timeProcess(process.execPath, [path.join(root, 'bench/fixtures/one-claim.mjs'), file]);
  const listTimes = timeProcess(process.execPath, [bellows, 'jobs', 'list', '--status', 'running', '--json'], { env });
  const historyTimes = timeProcess(process.execPath, [bellows, 'jobs', 'list', '--status', 'test_failed', '--project', 'openstack/project-7', '--json'], { env });
  const full = timeWithMemory(process.execPath, [bellows, 'jobs', 'list', '--json']);
  const emptyFile = path.join(dir, 'empty', 'state.json');
  await new StateStore(emptyFile).update(() => undefined);
  const emptyListTimes = timeProcess(process.execPath, [bellows, 'jobs', 'list', '--json'], { env: { ...env, SMOKESTACK_STATE: emptyFile } });
  const baseline = timeProcess(process.execPath, ['-e', '0']);

  report(`file store with ${JOBS.toLocaleString('en')} finished jobs in history`, {
    'state.json (the live document)': `${(fs.statSync(file).size / 1024).toFixed(0)} KiB, ${Object.keys(live.jobs).length} jobs (was 48.6 MiB, all jobs)`,
    'jobs archive': `${(archived / 1024 / 1024).toFixed(1)} MiB, ${live.archive.jobs.count.toLocaleString('en')} jobs`,
    'seeding (one update, in process)': `${seedMs} ms`,
    'one state change, whole process': `${median(updateTimes).toFixed(0)} ms (was 1,365 ms)`,
    'one claim, whole process': `${median(claimTimes).toFixed(0)} ms (was ~1,400 ms: a full update)`,
    'jobs list --status running --json': `${median(listTimes).toFixed(0)} ms (was 1,317 ms)`,
    'jobs list --status test_failed --project P --json (history)': `${median(historyTimes).toFixed(0)} ms`,
    'jobs list --json, every job, streamed': `${full.ms.toFixed(0)} ms, peak ${full.mib.toFixed(0)} MiB (was 13.7 s, 1.77 GiB)`,
    'jobs list --json, empty store: a command\'s floor': `${median(emptyListTimes).toFixed(0)} ms`,
    'node start-up alone': `${median(baseline).toFixed(0)} ms`,
  });
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
