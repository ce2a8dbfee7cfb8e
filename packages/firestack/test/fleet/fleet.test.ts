import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import YAML from 'yaml';
import {
  GerritSim,
  canCreateTestNetwork,
  cleanUpOnExit,
  cliBin,
  createTestNetwork,
  runCli,
  startPostgres,
  startSshHosts,
  waitFor,
  type CliResult,
  type SshTestHosts,
  type TestMachine,
  type TestNetwork,
  type TestPostgres,
} from '@smokestack/testkit';

// The Proof of a worker fleet: jobs of Gerrit patch sets run by six worker "machines" (network and UTS
// namespaces, working directories of their own) against one PostgreSQL, with two workers SIGKILLed
// mid-job and the database restarted once; each job's logs come home to the control host over SFTP.
// SMOKESTACK_FLEET_JOBS=300 runs the full size.
const JOBS = Number(process.env.SMOKESTACK_FLEET_JOBS ?? 40);
const PASSWORD = 'pw-fleet';
const FINAL = ['success', 'test_failed', 'build_failed', 'infra_failed', 'cancelled', 'superseded'];
const POOLS = { libvirt: 'libvirt-smoke', unit: 'unit' } as const;

interface Worker {
  machine: TestMachine;
  pool: keyof typeof POOLS;
  env: Record<string, string>;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
}

/** A worker SIGKILLed while it ran `job`, with the jobs whose logs still waited in its outbox then. */
interface Killed {
  worker: Worker;
  job: string;
  waiting: string[];
}

interface JobRow {
  id: string;
  template: string;
  status: string;
  key: string;
  patchSet: string;
  message: string;
  worker: string | null;
}

/** Every transition of a job into a final status (or a second write of its end), with the worker that held it, as the database saw it. */
const AUDIT_SQL = `
  CREATE TABLE fleet_results (id text NOT NULL, status text NOT NULL, worker text, at timestamptz NOT NULL DEFAULT clock_timestamp());
  CREATE FUNCTION fleet_audit() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO fleet_results (id, status, worker) VALUES (NEW.id, NEW.status, OLD.worker);
    RETURN NEW;
  END $$;
  CREATE TRIGGER fleet_audit AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.status IN ('success', 'test_failed', 'build_failed', 'infra_failed')
          AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.finished_at IS DISTINCT FROM NEW.finished_at))
    EXECUTE FUNCTION fleet_audit();`;

describe('a worker fleet on PostgreSQL (six machines in network namespaces, two pools)', function () {
  this.timeout(1_500_000);
  let network: TestNetwork | undefined;
  let cluster: TestPostgres | undefined;
  let sim: GerritSim | undefined;
  let logHost: SshTestHosts | undefined;
  let dir = '';
  const workers: Worker[] = [];
  // A test stopped by a signal takes its workers and the log host's sshd with it (the network and the cluster clean up after themselves).
  const cancelCleanup = cleanUpOnExit(() => {
    for (const w of workers) w.child.kill('SIGKILL');
    for (const host of logHost?.hosts ?? []) if (host.pid !== undefined) process.kill(host.pid, 'SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  before(function () {
    if (!canCreateTestNetwork()) this.skip();
  });

  after(async () => {
    cancelCleanup();
    await Promise.all(workers.map((w) => stopWorker(w)));
    await sim?.stop();
    await logHost?.stop();
    await cluster?.stop();
    await network?.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`runs ${JOBS} jobs to a final state through worker kills and a database restart: each result recorded once, one review per patch set, every job's logs readable on the control host`, async () => {
    network = await createTestNetwork({ machines: 6 });
    // The control host's sshd, which takes the workers' logs, is down until both workers are killed.
    logHost = await startSshHosts({ hosts: [{ name: 'control', noStart: true }], listenAddress: network.hostAddress });
    cluster = await startPostgres({ listen: [network.hostAddress], trustNetworks: [network.cidr], settings: { fsync: 'off' } });
    const database = await cluster.createDatabase('fleet');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-fleet-'));
    sim = await GerritSim.start({ users: [{ username: 'smokestack', password: PASSWORD, name: 'SmokeStack CI', email: 'ci@example.org' }] });
    sim.createProject('nova');
    const changes = JOBS / 2;
    for (let i = 0; i < changes; i++) sim.createChange({ project: 'nova', subject: `change ${i + 1}` });

    const control = machineEnv(path.join(dir, 'control'), database, sim.httpUrl);
    const bellows = (args: string[]): Promise<CliResult> => runCli('bellows', args, { env: control, cwd: control.HOME, timeoutMs: 300_000 });
    const sync = await bellows(['sync', '--fire', '--json']);
    expect(sync.code, sync.stderr).to.equal(0);
    try {
      await query(database, AUDIT_SQL);
      expect(await jobRows(database)).to.have.length(JOBS);

      const workerUrl = database.replace('127.0.0.1', network.hostAddress);
      const sshd = logHost.host('control');
      const toControl = {
        host: sshd.address,
        port: sshd.port,
        user: sshd.user,
        identityFile: logHost.identityFile,
        knownHosts: logHost.knownHostsFile,
        dir: path.join(control.SMOKESTACK_DATA_DIR!, 'jobs'),
        // The log host is down for a while: the workers' retries stay seconds apart, not minutes.
        retryMaxSeconds: 5,
      };
      network.machines.forEach((machine, i) =>
        workers.push(startWorker(machine, i < 3 ? 'libvirt' : 'unit', machineEnv(path.join(dir, machine.name), workerUrl, sim!.httpUrl, toControl))),
      );
      const firestack = (args: string[]) => runCli('firestack', args, { env: control, cwd: control.HOME, timeoutMs: 300_000 });
      const registered = await waitFor('six workers to register', async () => {
        const list = (await firestack(['workers', '--json'])).json<{ workers: Array<{ host: string; pools: string[]; live: boolean }> }>().workers;
        return list.length === 6 ? list : undefined;
      }, 300_000, 500);
      expect(registered.map((w) => `${w.host}:${w.pools.join(',')}:${w.live}`).sort()).to.deep.equal(network.machines.map((m, i) => `${m.name}:${i < 3 ? 'libvirt' : 'unit'}:true`));

      const run = await driveFleet(database, cluster, bellows, () => sshd.start());
      // The second restart of the loop above would be cheating: exactly one, with jobs still open.
      expect(run.restartedWithFinal).to.be.lessThan(JOBS);
      expect(run.killed.map((k) => k.worker.machine.name).sort()).to.deep.equal(['machine1', 'machine4']);

      const jobs = await jobRows(database);
      // One job per patch set and template; a second attempt only after an infrastructure failure (a database
      // restart may cause one), and every patch set and template ends in exactly one success.
      const byKey = new Map<string, JobRow[]>();
      for (const j of jobs) byKey.set(`${j.key} ${j.patchSet} ${j.template}`, [...(byKey.get(`${j.key} ${j.patchSet} ${j.template}`) ?? []), j]);
      expect(byKey.size, 'one job per patch set and template').to.equal(JOBS);
      for (const [key, attempts] of byKey) {
        expect(attempts.filter((j) => j.status === 'success'), `${key}: one success`).to.have.length(1);
        expect(attempts.filter((j) => j.status !== 'success' && j.status !== 'infra_failed').map((j) => `${j.id}:${j.status}: ${j.message}`), `${key}: only infrastructure failures retried`).to.deep.equal([]);
      }
      const results = await query<{ id: string; worker: string | null }>(database, 'SELECT id, worker FROM fleet_results ORDER BY at');
      const recorded = new Map<string, number>();
      for (const r of results) recorded.set(r.id, (recorded.get(r.id) ?? 0) + 1);
      expect([...recorded].filter(([, n]) => n !== 1), 'a result recorded twice').to.deep.equal([]);
      expect(recorded.size).to.equal(jobs.length);
      for (const { job, worker } of run.killed) {
        const finisher = results.find((r) => r.id === job)!.worker ?? '';
        expect(finisher, `${job} was finished by a live worker`).to.not.match(new RegExp(`^${worker.machine.name}:`));
      }
      // Each job ran on a machine of its template's pool.
      for (const j of jobs) {
        const host = (results.find((r) => r.id === j.id)!.worker ?? '').split(':')[0]!;
        const pool = workers.find((w) => w.machine.name === host)?.pool;
        expect(POOLS[pool!], `${j.id} ran on ${host}`).to.equal(j.template);
      }

      await waitFor('every patch set to be reviewed', async () => {
        await bellows(['comment', '--json']);
        return sim!.reviews().length >= changes;
      }, 300_000, 1000);
      const again = await bellows(['comment', '--json']);
      expect(again.code, again.stderr).to.equal(0);
      expect(again.json<{ posted: unknown[] }>().posted).to.deep.equal([]);
      const reviews = sim.reviews();
      const perPatchSet = new Map<string, number>();
      for (const r of reviews) perPatchSet.set(`${r.number},${r.patchSet}`, (perPatchSet.get(`${r.number},${r.patchSet}`) ?? 0) + 1);
      expect(perPatchSet.size).to.equal(changes);
      expect([...perPatchSet].filter(([, n]) => n !== 1), 'a patch set reviewed twice').to.deep.equal([]);
      expect(reviews.every((r) => r.labels.Verified === 1)).to.equal(true);

      await expectLogsHome(jobs, results, run.killed, firestack);
    } catch (err) {
      for (const w of workers) process.stderr.write(`--- ${w.machine.name} (${w.pool}) said:\n${w.log.slice(-3000)}\n`);
      const unfinished = await query<{ id: string; status: string; message: string | null }>(database, "SELECT id, status, doc->>'message' AS message FROM jobs WHERE status <> 'success' ORDER BY num").catch(() => []);
      for (const j of unfinished) process.stderr.write(`--- ${j.id} ended ${j.status}: ${j.message}\n`);
      throw err;
    }
  });

  /**
   * The control host's loop (sync --fire and comment, as cron would run them) while a monitor reads the
   * jobs table: it SIGKILLs machine1 and machine4 each in the middle of a job, and restarts PostgreSQL
   * once a third of the jobs are final. Returns when every job is final.
   */
  async function driveFleet(database: string, cluster: TestPostgres, bellows: (args: string[]) => Promise<CliResult>, logHostUp: () => Promise<void>) {
    const killed: Killed[] = [];
    let restartedWithFinal = Number.POSITIVE_INFINITY;
    let done = false;
    const controlLoop = (async () => {
      while (!done) {
        // A run that meets the restart fails like a cron run would; the next one carries on.
        await bellows(['sync', '--fire', '--json']);
        await bellows(['comment', '--json']);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    try {
      await waitFor('every job to reach a final state', async () => {
        const jobs = await jobRows(database).catch(() => undefined);
        if (!jobs) return false; // the database is restarting
        for (const name of ['machine1', 'machine4']) {
          if (killed.some((k) => k.worker.machine.name === name)) continue;
          const job = jobs.find((j) => j.status === 'running' && j.worker?.startsWith(`${name}:`));
          const worker = workers.find((w) => w.machine.name === name)!;
          // Killed in the middle of a job, with the logs of a job it finished still waiting for the log host.
          const waiting = waitingLogs(worker).filter((id) => id !== job?.id);
          if (job && waiting.length > 0) {
            // Stopped first, then checked again: the job may have ended since the read above, and a worker
            // killed after it finished its job was not killed mid-job.
            worker.child.kill('SIGSTOP');
            const still = (await jobRows(database).catch(() => [])).find((j) => j.id === job.id);
            if (still?.status !== 'running' || still.worker !== job.worker) {
              worker.child.kill('SIGCONT');
              continue;
            }
            worker.child.kill('SIGKILL');
            await worker.exited;
            killed.push({ worker, job: job.id, waiting: waitingLogs(worker).filter((id) => id !== job.id) });
            if (killed.length === 2) await logHostUp();
          }
        }
        // A job that failed for the infrastructure (the restart may cause one) is retried as a new job: all of them must end.
        const final = jobs.filter((j) => FINAL.includes(j.status)).length;
        const allFinal = jobs.length >= JOBS && final === jobs.length;
        if (allFinal && killed.length < 2) throw new Error(`every job ended before machine1 and machine4 were each caught mid-job with a finished job's logs in their outbox (killed: ${killed.map((k) => k.worker.machine.name).join(', ') || 'none'})`);
        if (restartedWithFinal === Number.POSITIVE_INFINITY && killed.length === 2 && final >= JOBS / 3) {
          restartedWithFinal = final;
          await cluster.restart();
        }
        return allFinal && killed.length === 2 && restartedWithFinal < JOBS;
      }, 1_200_000, 250);
    } finally {
      done = true;
      await controlLoop;
    }
    return { killed, restartedWithFinal };
  }

  /**
   * Every job's logs on the control host, as `firestack logs` there prints them: the live workers send
   * theirs once the log host is back; what a killed worker left in its outbox arrives when the operator
   * runs `firestack outbox --deliver` on that machine. Each job's test log comes from the run that
   * finished it (the suites print their machine's name), never from a killed run.
   */
  async function expectLogsHome(jobs: JobRow[], results: Array<{ id: string; worker: string | null }>, killed: Killed[], firestack: (args: string[]) => Promise<CliResult>) {
    const live = workers.filter((w) => !killed.some((k) => k.worker === w));
    await waitFor('the live workers to send every job\'s logs home', () => live.every((w) => waitingLogs(w).length === 0), 300_000, 500);
    const stranded = killed.flatMap((k) => k.waiting);
    const early = await firestack(['logs', stranded[0]!]);
    expect(early.code, early.stderr).to.equal(0);
    expect(early.stdout, 'logs left on a killed machine are not home before they are delivered').to.contain(`No logs for ${stranded[0]} in `);

    for (const { worker, job, waiting } of killed) {
      const [command, ...args] = worker.machine.command([process.execPath, cliBin('firestack'), 'outbox', '--deliver', '--json']);
      const outbox = await runOnMachine(command!, args, worker.env);
      expect(outbox.code, `${worker.machine.name}: ${outbox.stderr}`).to.equal(0);
      const report = JSON.parse(outbox.stdout) as { delivered: string[]; dropped: string[]; waiting: unknown[] };
      expect(report.delivered, `${worker.machine.name} delivered`).to.include.members(waiting);
      // Only the job it was running can be in its outbox besides (its entry written, its result not yet stored): a later run owns that job's logs.
      expect(report.dropped.filter((id) => id !== job), `${worker.machine.name} dropped`).to.deep.equal([]);
      expect(report.waiting).to.deep.equal([]);
    }

    // Three at a time: each is a whole process, and 300 of them one by one would take minutes.
    const lanes = 3;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < jobs.length; i += lanes) {
          const j = jobs[i]!;
          const machine = (results.find((r) => r.id === j.id)!.worker ?? '').split(':')[0];
          const suite = j.template === POOLS.libvirt ? 'smoke' : 'unit';
          const logs = await firestack(['logs', j.id]);
          expect(logs.code, `firestack logs ${j.id}: ${logs.stderr}`).to.equal(0);
          // An attempt that failed for the infrastructure may not have reached its suite; its logs still came home.
          if (j.status === 'success') expect(logs.stdout, `the logs of ${j.id} on the control host`).to.contain(`${suite} suite passed on ${machine}\n`);
        }
      }),
    );
  }
});

/** A machine's own working directory, config, state home and temporary directory. */
function machineEnv(home: string, state: string, gerritUrl: string, logHost?: Record<string, unknown>): Record<string, string> {
  fs.mkdirSync(path.join(home, 'tmp'), { recursive: true });
  const local = { provider: 'local', hosts: [{ name: 'solo' }] };
  const config = {
    gerrit: { url: gerritUrl, username: 'smokestack', settleSeconds: 0 },
    projects: [{ name: 'nova', templates: [POOLS.libvirt, POOLS.unit] }],
    templates: {
      [POOLS.libvirt]: { group: local, pool: 'libvirt', suites: [{ name: 'smoke', command: 'sleep 0.2 && echo "smoke suite passed on $(hostname)"' }] },
      [POOLS.unit]: { group: local, pool: 'unit', suites: [{ name: 'unit', command: 'echo "unit suite passed on $(hostname)"' }] },
    },
    // Far above a heartbeat's delay on a loaded machine: only the killed workers' jobs are taken back.
    worker: { heartbeatSeconds: 1, staleSeconds: 30 },
    ...(logHost ? { logHost } : {}),
  };
  fs.writeFileSync(path.join(home, 'smokestack.yaml'), YAML.stringify(config));
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: path.join(home, 'tmp'),
    XDG_CONFIG_HOME: path.join(home, 'xdg-config'),
    XDG_STATE_HOME: path.join(home, 'xdg-state'),
    SMOKESTACK_CONFIG: path.join(home, 'smokestack.yaml'),
    SMOKESTACK_STATE: state,
    SMOKESTACK_DATA_DIR: path.join(home, 'data'),
    GERRIT_HTTP_PASSWORD: PASSWORD,
  };
}

function startWorker(machine: TestMachine, pool: keyof typeof POOLS, env: Record<string, string>): Worker {
  const [command, ...args] = machine.command([process.execPath, cliBin('firestack'), 'worker', '--pool', pool]);
  const child = spawn(command!, args, { cwd: env.HOME, env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const worker: Worker = { machine, pool, env, child, log: '', exited: new Promise((resolve) => child.once('exit', () => resolve())) };
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (worker.log += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (worker.log += c));
  return worker;
}

async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 60_000);
  await worker.exited;
  clearTimeout(timer);
}

/** The jobs whose logs wait in a worker machine's outbox (`outbox/<job>.json` in its data directory). */
function waitingLogs(worker: Worker): string[] {
  const outbox = path.join(worker.env.SMOKESTACK_DATA_DIR!, 'outbox');
  if (!fs.existsSync(outbox)) return [];
  return fs.readdirSync(outbox).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length));
}

/** A command run on a worker's machine (in its namespaces) with that machine's environment, as its operator would. */
function runOnMachine(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: env.HOME, env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One statement on a connection of its own (the database restarts during the test). */
async function query<R extends pg.QueryResultRow>(database: string, sql: string): Promise<R[]> {
  const client = new pg.Client(database);
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const jobRows = (database: string) => query<JobRow>(database, "SELECT id, template, status, worker, config_id AS key, patch_set::text AS \"patchSet\", doc->>'message' AS message FROM jobs ORDER BY num");
