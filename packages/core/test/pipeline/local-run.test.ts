import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfigFile } from '../../src/config/load.js';
import { reproduceJob, runTemplate } from '../../src/pipeline/index.js';
import { EXAMPLES, Workspace, purgeDemoPackage } from './helpers.js';

/** Kills the stage script this command runs under, as the OOM killer would: it leads its own session. */
const KILL_STAGE_SCRIPT = `kill -9 "$(cut -d' ' -f6 /proc/$$/stat)"; sleep 1`;

describe('pipeline with the local provider (examples/smokestack.yaml as it is)', function () {
  this.timeout(120_000);
  let ws: Workspace;
  const examples = () => loadConfigFile(path.join(EXAMPLES, 'smokestack.yaml'));
  before(() => {
    ws = new Workspace();
  });
  after(() => {
    ws.cleanup();
    purgeDemoPackage();
  });

  it('runs the demo template with a local checkout as the change under test, and writes the job its page', async () => {
    const { job, result, page } = await runTemplate({ loaded: examples(), template: 'demo', changes: [`demoapp=${ws.repo}`], store: ws.store, logger: ws.logger });
    expect(result.status, result.message).to.equal('success');
    expect(job.status).to.equal('success');
    expect(result.summary).to.include({ tests: 5, failures: 0, skipped: 1 });
    expect(result.skipped).to.deep.equal([{ id: 'demoapp.smoke.test_listens_on_port', reason: 'the port is checked from another host by the network suite' }]);
    expect(result.sources[0]).to.include({ localPath: ws.repo, revision: ws.head(), changed: true });
    const summary = JSON.parse(fs.readFileSync(path.join(ws.store.jobDir(job.id), 'summary.json'), 'utf8'));
    expect(summary).to.include({ status: 'success', jobId: job.id });
    expect(fs.existsSync(path.join(ws.store.jobDir(job.id), 'bundle', 'sources', 'build-0.bundle'))).to.equal(true);
    expect((await ws.store.read()).groups).to.deep.equal({});
    // The page beside the store's web/ directory, as the job finished: every stage, every stage log viewable.
    expect(page).to.equal(path.join(ws.store.dataDir, 'web', 'jobs', job.id, 'index.html'));
    const data = JSON.parse(fs.readFileSync(path.join(path.dirname(page!), 'job.json'), 'utf8'));
    expect(data.job).to.deep.include({ id: job.id, status: 'success' });
    expect(data.stages.map((s: { stage: string }) => s.stage)).to.deep.equal(result.stages.map((s) => s.stage));
    expect(data.tests.skipped.others).to.deep.equal([{ id: 'demoapp.smoke.test_listens_on_port', reason: 'the port is checked from another host by the network suite' }]);
    for (const log of data.logs as Array<{ viewer: string; raw: string }>) {
      expect(fs.existsSync(path.join(path.dirname(page!), log.viewer)), log.viewer).to.equal(true);
      expect(fs.existsSync(path.join(path.dirname(page!), decodeURIComponent(log.raw))), log.raw).to.equal(true);
    }
    expect(data.logs.map((l: { stage?: string }) => l.stage).filter(Boolean)).to.include('test');
    expect(fs.existsSync(path.join(path.dirname(page!), 'raw', 'bundle'))).to.equal(false);
  });

  it('runs one combination of a template’s axes: Puppet configures it from facts, the suites see it, the job keeps it', async function () {
    this.timeout(600_000);
    const { job, result } = await runTemplate({ loaded: examples(), template: 'demo-matrix', axes: ['greeting=Howdy'], changes: [`demoapp=${ws.repo}`], store: ws.store, logger: ws.logger });
    expect(result.status, result.message).to.equal('success');
    // Axes not named take their first allowed value; the job and its bundle record the combination.
    expect(job.configuration).to.deep.equal({ greeting: 'Howdy', port: '8080' });
    expect(fs.readFileSync('/etc/demoapp/demoapp.conf', 'utf8')).to.contain('GREETING=Howdy\nPORT=8080');
    const dir = ws.store.jobDir(job.id);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'bundle', 'configuration.json'), 'utf8'))).to.deep.equal({ greeting: 'Howdy', port: '8080' });
    expect(fs.readFileSync(path.join(dir, 'scripts', 'configure-gateway.sh'), 'utf8')).to.contain('FACTER_smokestack_greeting=Howdy');
    expect(reproduceJob(job).command).to.match(/^firestack run --template demo-matrix --axis greeting=Howdy --axis port=8080 --change /);
  });

  it('refuses a combination the template excludes, in one line, before anything runs', async () => {
    const before = Object.keys((await ws.store.read()).jobs).length;
    let message = '';
    await runTemplate({ loaded: examples(), template: 'demo-matrix', axes: ['greeting=Howdy', 'port=9090'], store: ws.store, logger: ws.logger }).catch((err: Error) => (message = err.message));
    expect(message).to.equal('--axis greeting=Howdy, port=9090: template demo-matrix excludes that combination');
    expect(Object.keys((await ws.store.read()).jobs)).to.have.length(before);
  });

  it('runs the demo template on examples/demo-project as it is: no git init, no --change', async function () {
    this.timeout(900_000); // a whole demo run, Puppet twice on two hosts, on a shared 2-core machine
    const project = path.join(EXAMPLES, 'demo-project');
    const { result } = await runTemplate({ loaded: examples(), template: 'demo', store: ws.store, logger: ws.logger });
    expect(result.status, result.message).to.equal('success');
    expect(result.summary).to.include({ tests: 5, failures: 0, skipped: 1 });
    expect(result.sources[0]).to.include({ localPath: project, ref: 'HEAD', changed: false });
    expect(fs.existsSync(path.join(project, '.git'))).to.equal(false);
  });

  it("keeps a run with the examples' config out of git: examples/state/ is ignored", () => {
    for (const file of ['examples/state/state.json', 'examples/state/jobs/j1/logs/build.log']) {
      const r = spawnSync('git', ['check-ignore', '-q', file], { cwd: path.resolve(EXAMPLES, '..') });
      expect(r.status, `${file} is not ignored`).to.equal(0);
    }
  });

  it("compiles a catalog with Debian's OpenStack Keystone Puppet module (noop)", async () => {
    const { job, result } = await runTemplate({ loaded: examples(), template: 'keystone-catalog', store: ws.store, logger: ws.logger });
    expect(result.status, result.message).to.equal('success');
    const log = fs.readFileSync(path.join(ws.store.jobDir(job.id), 'logs', 'configure.log'), 'utf8');
    expect(log).to.match(/Compiled catalog for/).and.to.match(/puppet-end 1 0/);
  });

  it('configures hosts that are this one machine once per manifest: the same manifest once, another one as well', async function () {
    this.timeout(300_000);
    fs.writeFileSync(path.join(ws.dir, 'a.pp'), `file { '${ws.dir}/a-applied': content => "a\\n" }\n`);
    fs.writeFileSync(path.join(ws.dir, 'b.pp'), `file { '${ws.dir}/b-applied': content => "b\\n" }\n`);
    const group = { provider: 'local', hosts: [{ name: 'one', gateway: true }, { name: 'two' }, { name: 'three', roles: ['other'] }] };
    const loaded = ws.config({
      machine: {
        group,
        puppet: { manifests: { default: 'a.pp', other: 'b.pp' }, idempotence: false },
        suites: [{ name: 'both', command: `test -f ${ws.dir}/a-applied && test -f ${ws.dir}/b-applied` }],
      },
    });
    const { job, result } = await runTemplate({ loaded, template: 'machine', store: ws.store, logger: ws.logger });
    expect(result.status, result.message).to.equal('success');
    const log = fs.readFileSync(path.join(ws.store.jobDir(job.id), 'logs', 'configure.log'), 'utf8');
    const applied = [...log.matchAll(/ (\S+) \| ::smokestack:: puppet-begin (\d)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(applied.sort()).to.deep.equal(['one 1', 'three 1']);
    expect(log).to.match(/ two \| configured with one: the same machine and manifest \(manifests\.default\)$/m);
    expect(result.stages.find((s) => s.stage === 'configure')?.message).to.equal('Puppet applied on 2 host(s); two with one (one machine, one manifest)');
  });

  it('tells a suite that ran out of time from one killed early and one that failed', async () => {
    const group = { provider: 'local', hosts: [{ name: 'only' }] };
    const loaded = ws.config({
      suites: {
        group,
        suites: [
          { name: 'slow', command: 'sleep 30', timeoutSeconds: 1 },
          { name: 'killed', command: 'kill -9 $$' },
          { name: 'failing', command: 'exit 3' },
          { name: 'fine', command: 'true' },
        ],
      },
    });
    const { result } = await runTemplate({ loaded, template: 'suites', store: ws.store, logger: ws.logger });
    expect(result.status).to.equal('test_failed');
    expect(result.message).to.contain('suite slow on only timed out after 1s');
    expect(result.message).to.match(/suite killed on only was killed \(SIGKILL\) after \d+s/);
    expect(result.message).to.contain('suite failing on only exited 3');
    expect(result.message).not.to.match(/fine/);
  });

  it('a test script killed before its suites reported is infra_failed, never a test failure', async () => {
    const group = { provider: 'local', hosts: [{ name: 'only' }] };
    const loaded = ws.config({ wrapper: { group, suites: [{ name: 'assassin', command: KILL_STAGE_SCRIPT }, { name: 'later', command: 'true' }] } });
    const { result } = await runTemplate({ loaded, template: 'wrapper', store: ws.store, logger: ws.logger });
    expect(result.status, result.message).to.equal('infra_failed');
    expect(result.message).to.match(/suite assassin on only did not run \(test script exited 137/).and.to.match(/suite later on only did not run/);
  });

  it('a build script killed before a build finished is infra_failed, not build_failed', async () => {
    const group = { provider: 'local', hosts: [{ name: 'only' }] };
    const loaded = ws.config({
      oom: { group, builds: [{ name: 'demoapp', url: './demoapp', ref: 'master', method: 'command', command: KILL_STAGE_SCRIPT }], suites: [{ name: 'never', command: 'true' }] },
    });
    const { result } = await runTemplate({ loaded, template: 'oom', store: ws.store, logger: ws.logger });
    expect(result.status, result.message).to.equal('infra_failed');
    expect(result.message).to.match(/build: build script on only was killed \(exit 137\) before a build finished/);
  });

  it('runs local-provider jobs one at a time, even when started together (they share this machine)', async () => {
    const trace = path.join(ws.dir, 'trace');
    const suite = { name: 'occupy', command: `echo start >> ${trace}; sleep 1; echo end >> ${trace}` };
    const group = { provider: 'local', hosts: [{ name: 'only' }] };
    const loaded = ws.config({ a: { group, suites: [suite] }, b: { group, suites: [suite] } });
    const results = await Promise.all(['a', 'b'].map((template) => runTemplate({ loaded, template, store: ws.store, logger: ws.logger })));
    expect(results.map((r) => r.result.status)).to.deep.equal(['success', 'success']);
    expect(fs.readFileSync(trace, 'utf8').trim().split('\n')).to.deep.equal(['start', 'end', 'start', 'end']);
    expect(ws.logLines.join('')).to.match(/waiting for another local-provider job on this machine/);
  });

  it("a suite that prints its environment shows the template's env and none of the worker's credentials", async () => {
    const group = { provider: 'local', hosts: [{ name: 'only' }] };
    const loaded = ws.config({
      envdump: {
        group,
        env: { DEMO_GREETING: "it's $HOME; `true`", DEMO_MODE: 'smoke' },
        suites: [{ name: 'env', command: 'env; echo "greeting=$DEMO_GREETING"' }],
      },
    });
    const worker = { ...process.env, GERRIT_HTTP_PASSWORD: 'pw-gerrit-4711', OS_PASSWORD: 'pw-keystone-4711', https_proxy: 'http://ci:pw-proxy-4711@proxy.example.org:3128' };
    const { job, result } = await runTemplate({ loaded, template: 'envdump', store: ws.store, logger: ws.logger, env: worker });
    expect(result.status, result.message).to.equal('success');
    const log = fs.readFileSync(path.join(ws.store.jobDir(job.id), 'logs', 'test.log'), 'utf8');
    expect(log).to.contain("greeting=it's $HOME; `true`").and.to.contain('DEMO_MODE=smoke').and.to.match(/\| PATH=/);
    expect(log).to.not.match(/pw-[a-z]+-4711|GERRIT_HTTP_PASSWORD|OS_PASSWORD|https_proxy/);
  });
});
