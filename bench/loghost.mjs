#!/usr/bin/env node
// bench/loghost: one finished job's directory sent to a log host (a real sshd on loopback) the way a
// worker on another machine sends it: 200 small logs and one large file, whole (SFTP fastPut) and
// cut to a limit (the streamed head and tail), wall time and throughput, median of 3. Needs the built dist:
//   npx tsc -b packages/core packages/testkit
// Knobs: BENCH_LOGHOST_MIB (64), BENCH_LOGHOST_RUNS (3).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@smokestack/core';
import { queueJobLogs, shipWaitingLogs } from '@smokestack/core/loghost/shipper';
import { startSshHosts } from '@smokestack/testkit';
import { median, report } from './lib.mjs';

const MIB = Number(process.env.BENCH_LOGHOST_MIB ?? 64);
const RUNS = Number(process.env.BENCH_LOGHOST_RUNS ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-loghost-'));
const startedAt = new Date().toISOString();

/** A worker's data directory with one finished job: 200 stage and host logs of 4 KiB and one large file. */
function writeJob(dataDir, id) {
  const job = path.join(dataDir, 'jobs', id);
  fs.mkdirSync(path.join(job, 'logs'), { recursive: true });
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(job, 'logs', `part-${i}.log`), randomBytes(2048).toString('hex'));
  fs.writeFileSync(path.join(job, 'logs', 'test.log'), randomBytes(MIB * 1024 * 1024));
}

/** The few store calls shipping makes, answering that every job finished in the run that wrote it. */
const storeAt = (dataDir) => ({
  dataDir,
  jobDir: (id) => path.join(dataDir, 'jobs', id),
  getJob: async (id) => ({ id, status: 'success', startedAt }),
});

const sshd = await startSshHosts({ count: 1 });
try {
  const host = sshd.hosts[0];
  const figures = {};
  for (const [variant, maxJobMiB] of [['whole', MIB * 2], ['cut to half', MIB / 2]]) {
    const times = [];
    for (let run = 0; run < RUNS; run++) {
      const dataDir = path.join(dir, `${variant.replace(/ /g, '-')}-${run}`);
      const id = `b${run}`;
      writeJob(dataDir, id);
      const store = storeAt(dataDir);
      const logHost = { host: host.address, port: host.port, user: host.user, identityFile: sshd.identityFile, knownHosts: sshd.knownHostsFile, dir: path.join(dir, 'home', variant.replace(/ /g, '-')), maxJobMiB, retryMaxSeconds: 60, keepLocal: false };
      queueJobLogs({ store, now: () => new Date(), worker: 'bench' }, { id, startedAt });
      const t0 = process.hrtime.bigint();
      const shipped = await shipWaitingLogs({ store, logHost, logger: silentLogger(), now: () => new Date(), env: process.env, worker: 'bench' });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (shipped.delivered.length !== 1) throw new Error(`${variant}: not delivered: ${JSON.stringify(shipped)}`);
    }
    const sent = variant === 'whole' ? MIB + 0.8 : MIB / 2;
    const ms = median(times);
    figures[`${variant}: ${sent.toFixed(1)} MiB sent, 201 files`] = `${ms.toFixed(0)} ms (${(sent / (ms / 1000)).toFixed(1)} MiB/s)`;
  }
  report(`loghost: one job of ${MIB} MiB + 200 logs to a log host over SFTP, median of ${RUNS}`, figures);
} finally {
  await sshd.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
