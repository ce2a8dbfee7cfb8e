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
  waitFor,
  type CliResult,
  type TestMachine,
  type TestNetwork,
  type TestPostgres,
} from '@smokestack/testkit';

// The Proof of a worker fleet: jobs of Gerrit patch sets run by six worker "machines" (network and UTS
// namespaces, working directories of their own) against one PostgreSQL, with two workers SIGKILLed
// mid-job and the database restarted once. SMOKESTACK_FLEET_JOBS=300 runs the full size.
const JOBS = Number(process.env.SMOKESTACK_FLEET_JOBS ?? 40);
const PASSWORD = 'pw-fleet';
const FINAL = ['success', 'test_failed', 'build_failed', 'infra_failed', 'cancelled', 'superseded'];
const POOLS = { libvirt: 'libvirt-smoke', unit: 'unit' } as const;

interface Worker {
  machine: TestMachine;
  pool: keyof typeof POOLS;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
}

interface JobRow {
  id: string;
  template: string;
  status: string;
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
  let dir = '';
  const workers: Worker[] = [];
  // A test stopped by a signal takes its workers with it (the network and the cluster clean up after themselves).
  const cancelCleanup = cleanUpOnExit(() => {
    for (const w of workers) w.child.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  before(function () {
    if (!canCreateTestNetwork()) this.skip();
  });

  after(async () => {
    cancelCleanup();
    await Promise.all(workers.map((w) => stopWorker(w)));
    await sim?.stop();
    await cluster?.stop();
    await network?.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`runs ${JOBS} jobs to a final state through worker kills and a database restart: each result recorded once, one review per patch set`, async () => {
    network = await createTestNetwork({ machines: 6 });
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
      network.machines.forEach((machine, i) => workers.push(startWorker(machine, i < 3 ? 'libvirt' : 'unit', path.join(dir, machine.name), workerUrl, sim!.httpUrl)));
      const firestack = (args: string[]) => runCli('firestack', args, { env: control, cwd: control.HOME, timeoutMs: 300_000 });
      const registered = await waitFor('six workers to register', async () => {
        const list = (await firestack(['workers', '--json'])).json<{ workers: Array<{ host: string; pools: string[]; live: boolean }> }>().workers;
        return list.length === 6 ? list : undefined;
      }, 300_000, 500);
      expect(registered.map((w) => `${w.host}:${w.pools.join(',')}:${w.live}`).sort()).to.deep.equal(network.machines.map((m, i) => `${m.name}:${i < 3 ? 'libvirt' : 'unit'}:true`));

      const run = await driveFleet(database, cluster, bellows);
      // The second restart of the loop above would be cheating: exactly one, with jobs still open.
      expect(run.restartedWithFinal).to.be.lessThan(JOBS);
      expect(run.killed.map((k) => k.worker.machine.name).sort()).to.deep.equal(['machine1', 'machine4']);

      const jobs = await jobRows(database);
      expect(jobs, 'no job was queued twice').to.have.length(JOBS);
      expect(jobs.filter((j) => j.status !== 'success').map((j) => `${j.id}:${j.status}`), 'every job ended in success').to.deep.equal([]);
      const results = await query<{ id: string; worker: string | null }>(database, 'SELECT id, worker FROM fleet_results ORDER BY at');
      const recorded = new Map<string, number>();
      for (const r of results) recorded.set(r.id, (recorded.get(r.id) ?? 0) + 1);
      expect([...recorded].filter(([, n]) => n !== 1), 'a result recorded twice').to.deep.equal([]);
      expect(recorded.size).to.equal(JOBS);
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
    } catch (err) {
      for (const w of workers) process.stderr.write(`--- ${w.machine.name} (${w.pool}) said:\n${w.log.slice(-3000)}\n`);
      throw err;
    }
  });

  /**
   * The control host's loop (sync --fire and comment, as cron would run them) while a monitor reads the
   * jobs table: it SIGKILLs machine1 and machine4 each in the middle of a job, and restarts PostgreSQL
   * once a third of the jobs are final. Returns when every job is final.
   */
  async function driveFleet(database: string, cluster: TestPostgres, bellows: (args: string[]) => Promise<CliResult>) {
    const killed: Array<{ worker: Worker; job: string }> = [];
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
          if (job) {
            worker.child.kill('SIGKILL');
            await worker.exited;
            killed.push({ worker, job: job.id });
          }
        }
        const final = jobs.filter((j) => FINAL.includes(j.status)).length;
        if (restartedWithFinal === Number.POSITIVE_INFINITY && killed.length === 2 && final >= JOBS / 3) {
          restartedWithFinal = final;
          await cluster.restart();
        }
        return final === JOBS && killed.length === 2 && restartedWithFinal < JOBS;
      }, 1_200_000, 250);
    } finally {
      done = true;
      await controlLoop;
    }
    return { killed, restartedWithFinal };
  }
});

/** A machine's own working directory, config, state home and temporary directory. */
function machineEnv(home: string, state: string, gerritUrl: string): Record<string, string> {
  fs.mkdirSync(path.join(home, 'tmp'), { recursive: true });
  const local = { provider: 'local', hosts: [{ name: 'solo' }] };
  const config = {
    gerrit: { url: gerritUrl, username: 'smokestack', settleSeconds: 0 },
    projects: [{ name: 'nova', templates: [POOLS.libvirt, POOLS.unit] }],
    templates: {
      [POOLS.libvirt]: { group: local, pool: 'libvirt', suites: [{ name: 'smoke', command: 'sleep 0.2' }] },
      [POOLS.unit]: { group: local, pool: 'unit', suites: [{ name: 'unit', command: 'true' }] },
    },
    // Far above a heartbeat's delay on a loaded machine: only the killed workers' jobs are taken back.
    worker: { heartbeatSeconds: 1, staleSeconds: 30 },
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

function startWorker(machine: TestMachine, pool: keyof typeof POOLS, home: string, state: string, gerritUrl: string): Worker {
  const env = machineEnv(home, state, gerritUrl);
  const [command, ...args] = machine.command([process.execPath, cliBin('firestack'), 'worker', '--pool', pool]);
  const child = spawn(command!, args, { cwd: home, env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const worker: Worker = { machine, pool, child, log: '', exited: new Promise((resolve) => child.once('exit', () => resolve())) };
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

const jobRows = (database: string) => query<JobRow>(database, 'SELECT id, template, status, worker FROM jobs ORDER BY num');
