import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { runCli, sshGroupDefinition, startSshHosts, type SshTestHost, type SshTestHosts } from '@smokestack/testkit';
import type { LoadedConfig } from '../../src/config/load.js';
import { outboxOf, listJobFiles } from '../../src/loghost/outbox.js';
import { reviewOutbox } from '../../src/loghost/shipper.js';
import { runWorker, type WorkerOptions } from '../../src/pipeline/worker.js';
import { enqueueJob } from '../../src/queue/jobs.js';
import type { Store } from '../../src/store/types.js';
import { Workspace, waitFor as waitAMinute } from '../pipeline/helpers.js';

/** The machine is shared and loaded: be patient. */
const waitFor = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>) => waitAMinute(what, probe, 240_000);

/**
 * The shared store as a worker on another machine sees it: the same job records (as PostgreSQL
 * gives every machine), but its own data directory for job logs, groups and its outbox.
 */
function onOtherMachine(store: Store, dataDir: string): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'dataDir') return dataDir;
      if (prop === 'jobsDir') return path.join(dataDir, 'jobs');
      if (prop === 'jobDir') return (id: string) => path.join(dataDir, 'jobs', id);
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Every file under `dir` with its bytes, by relative path. */
function tree(dir: string): Record<string, string> {
  return Object.fromEntries(listJobFiles(dir).map((f) => [f.path, fs.readFileSync(path.join(dir, f.path), 'latin1')]));
}

describe('logs that come home: a worker on another machine sends each job to the log host over SFTP', function () {
  this.timeout(600_000);
  let sshd: SshTestHosts;
  let logHost: SshTestHost;
  let ws: Workspace;
  let workerDir: string;
  /** The job's own host (host2), reached over SSH like any test host; host1 is the log host. */
  const group = () => {
    const definition = sshGroupDefinition(sshd) as { hosts: Array<Record<string, unknown>> };
    return { ...definition, hosts: definition.hosts.filter((h) => h.name === 'host2').map((h) => ({ ...h, gateway: true })) };
  };
  const logHostConfig = (extra: Record<string, unknown> = {}) => ({
    host: logHost.address, port: logHost.port, user: logHost.user, identityFile: sshd.identityFile, knownHosts: sshd.knownHostsFile, dir: ws.store.jobsDir, ...extra,
  });
  const enqueue = (template: string) =>
    ws.store.update((state) => structuredClone(enqueueJob(state, { configId: 'c1', project: 'demoapp', number: 1, patchSet: 1, revision: '', template }, new Date())));
  const worker = (loaded: LoadedConfig, extra: Partial<WorkerOptions> = {}) =>
    runWorker({ store: onOtherMachine(ws.store, workerDir), loaded, logger: ws.logger, pollMs: 200, heartbeatMs: 500, logShipping: { retryInitialMs: 300, tickMs: 200 }, ...extra });
  const firestackLogs = (id: string) =>
    runCli('firestack', ['logs', id], { env: { SMOKESTACK_CONFIG: path.join(ws.dir, 'smokestack.yaml'), SMOKESTACK_STATE: ws.store.file, XDG_CONFIG_HOME: path.join(ws.dir, 'xdg') }, cwd: ws.dir });

  beforeEach(async () => {
    sshd = await startSshHosts({ count: 2 });
    logHost = sshd.host('host1');
    ws = new Workspace();
    workerDir = path.join(ws.dir, 'worker-machine');
  });
  afterEach(async () => {
    await sshd?.stop();
    ws?.cleanup();
  });

  it("a finished job's logs and results are on the control host while the worker still runs, and firestack logs prints them there", async () => {
    const suite = { name: 'hello', command: `echo hello from the worker machine; printf '<testsuite name="s"><testcase classname="c" name="t"/></testsuite>' > "$SMOKESTACK_RESULTS_DIR/r.xml"`, results: '*.xml' };
    const loaded = ws.config({ remote: { group: group(), suites: [suite] } }, { logHost: logHostConfig() });
    const job = await enqueue('remote');
    const stop = new AbortController();
    const running = worker(loaded, { signal: stop.signal });

    const home = path.join(ws.store.jobsDir, job.id);
    await waitFor('the logs on the control host', () => fs.existsSync(path.join(home, 'logs', 'test.log')));
    expect((await ws.store.getJob(job.id))!.status).to.equal('success');
    stop.abort();
    await running;

    expect(fs.readFileSync(path.join(home, 'logs', 'test.log'), 'utf8')).to.contain('hello from the worker machine');
    expect(JSON.parse(fs.readFileSync(path.join(home, 'summary.json'), 'utf8'))).to.deep.include({ jobId: job.id, status: 'success' });
    expect(JSON.parse(fs.readFileSync(path.join(home, 'summary.json'), 'utf8')).summary).to.include({ tests: 1 });
    expect(listJobFiles(home).map((f) => f.path)).to.include('hosts/host2/results/suite-0/r.xml');
    expect(fs.existsSync(path.join(workerDir, 'jobs', job.id)), 'the worker keeps no copy once delivered').to.equal(false);
    expect(fs.existsSync(path.join(workerDir, 'web')), 'nor a page holding its files: the control host writes that').to.equal(false);
    expect(outboxOf(workerDir).list()).to.deep.equal([]);
    expect(fs.readdirSync(path.join(ws.store.jobsDir, '.incoming'))).to.deep.equal([]);
    const printed = await firestackLogs(job.id);
    expect(printed.code, printed.stderr).to.equal(0);
    expect(printed.stdout).to.contain('==> test <==').and.to.contain('hello from the worker machine');
  });

  it('the log host down when jobs end: their logs wait in the outbox, through a worker restart, and arrive whole when it is back', async () => {
    const suite = { name: 'count', command: 'seq -f "result line %g" 1 2000' };
    const loaded = ws.config({ remote: { group: group(), suites: [suite] } }, { logHost: logHostConfig({ keepLocal: true }) });
    // An earlier try cut short left half an upload behind.
    fs.mkdirSync(path.join(ws.store.jobsDir, '.incoming', 'j1.dead0001', 'logs'), { recursive: true });
    fs.writeFileSync(path.join(ws.store.jobsDir, '.incoming', 'j1.dead0001', 'logs', 'test.log'), 'half');
    await logHost.stop();

    const first = await enqueue('remote');
    const stop = new AbortController();
    const running = worker(loaded, { signal: stop.signal });
    await waitFor('a failed try', () => outboxOf(workerDir).list().find((e) => e.job === first.id && e.attempts >= 2));
    expect(fs.existsSync(path.join(ws.store.jobsDir, first.id))).to.equal(false);
    await logHost.start();
    await waitFor('the first job delivered', () => fs.existsSync(path.join(ws.store.jobsDir, first.id)));
    expect(tree(path.join(ws.store.jobsDir, first.id))).to.deep.equal(tree(path.join(workerDir, 'jobs', first.id)));
    expect(fs.readdirSync(path.join(ws.store.jobsDir, '.incoming'))).to.deep.equal([]);

    // Down again; this worker stops before it comes back, the next one sends what is left.
    await logHost.stop();
    const second = await enqueue('remote');
    await waitFor('the second job finished', async () => (await ws.store.getJob(second.id))!.status === 'success');
    stop.abort();
    await running;
    const waiting = await reviewOutbox({ store: onOtherMachine(ws.store, workerDir), logger: ws.logger, now: () => new Date(), env: process.env, logHost: loaded.config.logHost, deliver: false });
    expect(waiting.waiting.map((e) => e.job)).to.deep.equal([second.id]);
    expect(waiting.waiting[0]!.lastError).to.match(/connection refused/);
    await logHost.start();
    await worker(loaded, { once: true });
    expect(outboxOf(workerDir).list()).to.deep.equal([]);
    const home = path.join(ws.store.jobsDir, second.id);
    expect(tree(home)).to.deep.equal(tree(path.join(workerDir, 'jobs', second.id)));
    expect(fs.readFileSync(path.join(home, 'logs', 'test.log'), 'utf8')).to.contain('result line 2000');
    expect(ws.logLines.join('')).to.match(/logs not delivered yet \(try 1\): \S+@127\.0\.0\.1:\d+: connection refused/);
  });

  it('the log host killed in the middle of an upload: no half copy is ever shown, and the whole job arrives once it is back', async () => {
    // 40 MB of results: the upload is still busy with them when the log host dies.
    const suite = { name: 'big', command: 'head -c 40000000 /dev/urandom > "$SMOKESTACK_RESULTS_DIR/blob.bin"; echo wrote the blob' };
    const loaded = ws.config({ remote: { group: group(), suites: [suite] } }, { logHost: logHostConfig({ keepLocal: true }) });
    const job = await enqueue('remote');
    const stop = new AbortController();
    const running = worker(loaded, { signal: stop.signal });
    const incoming = path.join(ws.store.jobsDir, '.incoming');
    const home = path.join(ws.store.jobsDir, job.id);

    await waitFor('the upload of the blob to begin', () => fs.existsSync(incoming) && fs.readdirSync(incoming).some((d) => fs.existsSync(path.join(incoming, d, 'hosts', 'host2', 'results', 'suite-0', 'blob.bin'))));
    await logHost.stop();
    await waitFor('the failed try', () => outboxOf(workerDir).list().find((e) => e.attempts >= 1));
    expect(fs.existsSync(home), 'nothing half-sent is in place').to.equal(false);
    await logHost.start();
    await waitFor('the job delivered', () => outboxOf(workerDir).list().length === 0 && fs.existsSync(home));
    stop.abort();
    await running;

    expect(tree(home)).to.deep.equal(tree(path.join(workerDir, 'jobs', job.id)));
    expect(fs.statSync(path.join(home, 'hosts', 'host2', 'results', 'suite-0', 'blob.bin')).size).to.equal(40_000_000);
    expect(fs.readdirSync(incoming), 'the half upload is cleared away').to.deep.equal([]);
  });

  it('an oversize job is cut to the limit: head and tail of its log around a note, TRUNCATED.txt, and firestack logs says so', async () => {
    const suite = { name: 'chatty', command: 'seq -f "output line %g of a very long test run" 1 30000' };
    const loaded = ws.config({ remote: { group: group(), suites: [suite] } }, { logHost: logHostConfig({ maxJobMiB: 0.1 }) });
    const job = await enqueue('remote');
    await worker(loaded, { once: true });

    const home = path.join(ws.store.jobsDir, job.id);
    const bytes = listJobFiles(home).reduce((sum, f) => sum + f.size, 0);
    expect(bytes).to.be.at.most(0.1 * 1024 * 1024);
    expect(listJobFiles(home).map((f) => f.path)).to.include.members(['summary.json', 'scripts/test-host2.sh', 'logs/prepare.log']);
    const log = fs.readFileSync(path.join(home, 'logs', 'test.log'), 'utf8');
    expect(log).to.contain('output line 30000 of a very long test run');
    expect(log).to.match(/\[smokestack: \d+ bytes of test\.log left out here: the job's logs exceed the log host's limit of 102\.4 KiB/);
    expect(fs.readFileSync(path.join(home, 'TRUNCATED.txt'), 'utf8')).to.match(/^cut: +logs\/test\.log \(/m);
    expect(JSON.parse(fs.readFileSync(path.join(home, 'summary.json'), 'utf8'))).to.be.an('object');
    const printed = await firestackLogs(job.id);
    expect(printed.code, printed.stderr).to.equal(0);
    expect(printed.stdout).to.contain("TRUNCATED.txt: the log host's size limit cut these logs").and.to.contain('output line 30000');
  });

  it('a secret the worker knows is masked in everything that reaches the log host, as in the logs it wrote', async () => {
    const secret = 'hunter2-log-host-secret';
    const leak = path.join(ws.dir, 'leak.txt');
    fs.writeFileSync(leak, `token=${secret}\n`);
    ws.logger.addSecret(secret);
    const loaded = ws.config({ remote: { group: group(), suites: [{ name: 'leaky', command: `cat '${leak}'` }] } }, { logHost: logHostConfig() });
    const job = await enqueue('remote');
    await worker(loaded, { once: true, env: { ...process.env, GERRIT_HTTP_PASSWORD: secret } });

    const home = path.join(ws.store.jobsDir, job.id);
    expect(fs.readFileSync(path.join(home, 'logs', 'test.log'), 'utf8')).to.contain('token=***');
    for (const [file, text] of Object.entries(tree(home))) expect(text, file).not.to.contain(secret);
  });

  it('a worker on the control host itself, with the same config, keeps its logs where they are instead of sending them onto themselves', async () => {
    const loaded = ws.config({ remote: { group: group(), suites: [{ name: 'here', command: 'echo ran on the control host' }] } }, { logHost: logHostConfig() });
    const job = await enqueue('remote');
    await runWorker({ store: ws.store, loaded, logger: ws.logger, pollMs: 200, once: true });

    expect(fs.readFileSync(path.join(ws.store.jobDir(job.id), 'logs', 'test.log'), 'utf8')).to.contain('ran on the control host');
    expect(outboxOf(ws.store.dataDir).list()).to.deep.equal([]);
    expect(ws.logLines.join('')).to.contain("logHost.dir is this machine's own jobs directory; job logs stay where they are");
  });
});
