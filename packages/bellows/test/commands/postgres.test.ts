import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { StateStore, enqueueJob } from '@smokestack/core';
import { GerritSim, cliBin, runCli, startPostgres, waitFor, type CliResult, type TestPostgres } from '@smokestack/testkit';

const PASSWORD = 'pw-postgres-cli';

interface ListedJob {
  id: string;
  template: string;
  pool: string;
  status: string;
  unserved?: true;
}

describe('the CLIs on a PostgreSQL store (built bins, Gerrit simulator)', function () {
  // The local provider runs one job at a time across the machine: other test runs can hold it for minutes.
  this.timeout(900_000);
  let cluster: TestPostgres;
  let sim: GerritSim;
  let dir: string;
  let env: Record<string, string>;
  const run = (cli: 'bellows' | 'firestack', args: string[]): Promise<CliResult> => runCli(cli, args, { env, cwd: dir, timeoutMs: 600_000 });

  before(async () => (cluster = await startPostgres({ settings: { fsync: 'off' } })));
  after(async () => cluster?.stop());
  afterEach(async () => {
    await sim?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sync --fire, a worker per pool, comment: every job runs on its pool and each patch set gets one review', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-pg-cli-'));
    sim = await GerritSim.start({ users: [{ username: 'smokestack', password: PASSWORD, name: 'SmokeStack CI', email: 'ci@example.org' }] });
    sim.createProject('nova');
    sim.createChange({ project: 'nova', subject: 'first' });
    sim.createChange({ project: 'nova', subject: 'second' });
    const local = { provider: 'local', hosts: [{ name: 'solo' }] };
    const config = {
      gerrit: { url: sim.httpUrl, username: 'smokestack', settleSeconds: 0 },
      projects: [{ name: 'nova', templates: ['smoke', 'unit'] }],
      templates: { smoke: { group: local, suites: [{ name: 's', command: 'true' }] }, unit: { group: local, pool: 'unit', suites: [{ name: 'u', command: 'true' }] } },
      worker: { heartbeatSeconds: 1, staleSeconds: 30 },
    };
    fs.writeFileSync(path.join(dir, 'smokestack.yaml'), YAML.stringify(config));
    env = {
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
      XDG_STATE_HOME: path.join(dir, 'xdg-state'),
      SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'),
      SMOKESTACK_STATE: await cluster.createDatabase(),
      SMOKESTACK_DATA_DIR: path.join(dir, 'data'),
      GERRIT_HTTP_PASSWORD: PASSWORD,
    };

    const sync = await run('bellows', ['sync', '--fire', '--json']);
    expect(sync.code, sync.stderr).to.equal(0);
    const listed = async () => (await run('bellows', ['jobs', 'list', '--json'])).json<{ jobs: ListedJob[] }>().jobs;
    const queued = await listed();
    expect(queued.map((j) => `${j.template}:${j.pool}:${j.status}:${Boolean(j.unserved)}`).sort()).to.deep.equal(['smoke:default:queued:true', 'smoke:default:queued:true', 'unit:unit:queued:true', 'unit:unit:queued:true']);
    const table = await run('bellows', ['jobs', 'list']);
    expect(table.stdout).to.contain('queued (no live worker serves pool unit)');

    // A long-running worker of the unit pool registers; its pool's jobs are no longer unserved.
    const unitWorker = spawn(process.execPath, [cliBin('firestack'), 'worker', '--pool', 'unit'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let workerLog = '';
    unitWorker.stderr.setEncoding('utf8').on('data', (c: string) => (workerLog += c));
    try {
      const workers = await waitFor('the unit worker to register', async () => {
        const r = await run('firestack', ['workers', '--json']);
        const list = r.json<{ workers: Array<{ name: string; pools: string[]; host: string; live: boolean }> }>().workers;
        return list.length > 0 ? list : undefined;
      }, 60_000);
      expect(workers.map((w) => [w.pools, w.host, w.live])).to.deep.equal([[['unit'], os.hostname(), true]]);
      await waitFor('the unit jobs to finish', async () => (await listed()).filter((j) => j.template === 'unit' && j.status === 'success').length === 2, 600_000).catch((err: Error) => {
        throw new Error(`${err.message}; the worker said: ${workerLog}`);
      });
      const smoke = (await listed()).filter((j) => j.template === 'smoke');
      expect(smoke.map((j) => `${j.status}:${Boolean(j.unserved)}`)).to.deep.equal(['queued:true', 'queued:true']);

      const worker = await run('firestack', ['worker', '--once', '--json']);
      expect(worker.code, worker.stderr).to.equal(0);
      expect(worker.json<{ pools: string[]; jobs: Array<{ status: string }> }>()).to.deep.include({ pools: ['default'] });
      expect(worker.json<{ jobs: Array<{ status: string }> }>().jobs.map((j) => j.status)).to.deep.equal(['success', 'success']);
    } finally {
      unitWorker.kill('SIGTERM');
      await new Promise((resolve) => unitWorker.once('exit', resolve));
    }
    expect((await run('firestack', ['workers', '--json'])).json<{ workers: unknown[] }>().workers, workerLog).to.deep.equal([]);

    const comment = await run('bellows', ['comment', '--json']);
    expect(comment.code, comment.stderr).to.equal(0);
    expect(comment.json<{ posted: Array<{ vote: number }> }>().posted.map((p) => p.vote)).to.deep.equal([1, 1]);
    const again = await run('bellows', ['comment', '--json']);
    expect(again.json<{ posted: unknown[] }>().posted).to.deep.equal([]);
    expect(sim.reviews().map((r) => r.labels)).to.deep.equal([{ Verified: 1 }, { Verified: 1 }]);
    // Logs live in the configured data directory, where firestack logs finds them.
    const logs = await run('firestack', ['logs', 'j1']);
    expect(logs.code, logs.stderr).to.equal(0);
    expect(fs.existsSync(path.join(dir, 'data', 'jobs', 'j1'))).to.equal(true);
  });

  it('store migrate copies a file store into PostgreSQL, flaky tests included, and refuses a store that is not empty', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-pg-migrate-'));
    const file = path.join(dir, 'state', 'state.json');
    const source = new StateStore(file);
    await source.update((s) => {
      const job = enqueueJob(s, { configId: 'nova~1', project: 'nova', number: 1, patchSet: 1, revision: 'r', template: 'smoke' }, new Date());
      Object.assign(job, { status: 'success', finishedAt: new Date().toISOString() });
    });
    const recent = new Date().toISOString();
    for (const [jobId, failed] of [['j1', []], ['j2', ['nova.test_races']]] as const) {
      await source.recordTestRun({ jobId, project: 'nova', template: 'smoke', kind: 'queue', revisionSet: 'smoke:nova@abc', finishedAt: recent, passed: failed.length ? [] : ['nova.test_races'], failed: [...failed], skipped: [] });
    }
    await source.close();
    fs.writeFileSync(path.join(dir, 'smokestack.yaml'), YAML.stringify({ projects: [{ name: 'nova', templates: ['smoke'] }], templates: { smoke: { group: { provider: 'local', hosts: [{ name: 'solo' }] }, suites: [{ name: 's', command: 'true' }] } } }));
    const url = await cluster.createDatabase();
    env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg-config'), XDG_STATE_HOME: path.join(dir, 'xdg-state'), SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'), SMOKESTACK_STATE: file };

    const migrated = await run('bellows', ['store', 'migrate', '--to', url]);
    expect(migrated.code, migrated.stderr).to.equal(0);
    expect(migrated.stdout).to.match(/1 job\(s\).*2 test run\(s\); counts verified/);
    const flakyThere = await runCli('bellows', ['tests', 'flaky', '--json'], { env: { ...env, SMOKESTACK_STATE: url }, cwd: dir });
    expect(flakyThere.code, flakyThere.stderr).to.equal(0);
    expect(flakyThere.json<{ tests: Array<{ id: string }> }>().tests.map((t) => t.id), 'the flaky test is known on PostgreSQL').to.deep.equal(['nova.test_races']);

    const again = await run('bellows', ['store', 'migrate', '--to', url]);
    expect(again.code).to.equal(1);
    expect(again.stderr.trim().split('\n')[0]).to.match(/target store is not empty/);
  });
});
