import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { sshGroupDefinition, startSshHosts, type SshTestHosts } from '@smokestack/testkit';
import { runTemplate } from '../../src/pipeline/index.js';
import { EXAMPLES, Workspace, demoTemplate, purgeDemoPackage } from './helpers.js';

describe('pipeline end to end on two real sshd hosts', function () {
  this.timeout(120_000);
  let sshd: SshTestHosts;
  let ws: Workspace;
  const group = () => sshGroupDefinition(sshd, (i) => (i === 0 ? ['repo'] : ['web']));

  before(async () => {
    sshd = await startSshHosts({ count: 2 });
    ws = new Workspace();
  });
  after(async () => {
    await sshd?.stop();
    ws?.cleanup();
    purgeDemoPackage();
  });

  it('green run: builds the package from a git ref, publishes a repo, applies Puppet twice, runs the suite', async () => {
    const loaded = ws.config({ demo: demoTemplate(group()) });
    const { job, result } = await runTemplate({ loaded, template: 'demo', store: ws.store, logger: ws.logger });
    if (result.status !== 'success') console.log(ws.logLines.join(''));
    expect(result.status, result.message).to.equal('success');
    expect(result.stages.map((s) => `${s.stage}:${s.status}`)).to.deep.equal([
      'provision:passed', 'prepare:passed', 'build:passed', 'repo:passed', 'configure:passed', 'test:passed', 'harvest:passed', 'teardown:passed',
    ]);
    expect(result.summary).to.include({ tests: 5, failures: 0, errors: 0, skipped: 1 });
    expect(result.sources[0]).to.include({ revision: ws.head(), ref: 'master' });
    const dir = ws.store.jobDir(job.id);
    const configure = fs.readFileSync(path.join(dir, 'logs', 'configure.log'), 'utf8');
    expect(configure).to.match(/puppet-end 1 2/).and.to.match(/puppet-end 2 0/);
    expect(fs.readdirSync(path.join(dir, 'hosts', 'host2', 'results', 'suite-0'))).to.deep.equal(['demoapp-smoke.xml']);
    expect(fs.existsSync(path.join(dir, 'hosts', 'host1', 'files', 'etc', 'demoapp', 'demoapp.conf'))).to.equal(true);
    expect((await ws.store.read()).groups).to.deep.equal({});
  });

  it('a failing test: test_failed, naming the failing test', async () => {
    const rev = ws.branch('greeting-bug', (repo) => {
      const file = path.join(repo, 'bin', 'demoapp');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('echo "$GREETING, ${2:-world}!"', 'echo "$GREETING ${2:-world}."'));
    });
    const loaded = ws.config({ demo: demoTemplate(group(), { puppet: { ...(demoTemplate(null).puppet as object), idempotence: false } }) });
    const { job, result } = await runTemplate({ loaded, template: 'demo', store: ws.store, logger: ws.logger, changes: ['demoapp=refs/heads/greeting-bug'] });
    expect(result.status, result.message).to.equal('test_failed');
    expect(result.failedTests).to.deep.equal(['demoapp.smoke.test_greeting']);
    expect(job.message).to.contain('demoapp.smoke.test_greeting');
    expect(result.summary).to.include({ tests: 5, failures: 1, skipped: 1 });
    expect(job.sources![0]).to.include({ ref: 'refs/heads/greeting-bug', revision: rev, changed: true });
  });

  it('a broken package: build_failed, later stages skipped, logs still harvested', async () => {
    ws.branch('broken-packaging', (repo) => fs.appendFileSync(path.join(repo, 'debian', 'install'), 'bin/demoapp-helper usr/bin\n'));
    const loaded = ws.config({ demo: demoTemplate(group()) });
    const { job, result } = await runTemplate({ loaded, template: 'demo', store: ws.store, logger: ws.logger, changes: ['demoapp=refs/heads/broken-packaging'] });
    expect(result.status, result.message).to.equal('build_failed');
    expect(result.message).to.match(/building demoapp on host1 failed \(exit \d+\)/);
    expect(result.stages.filter((s) => s.status === 'skipped').map((s) => s.stage)).to.deep.equal(['repo', 'configure', 'test']);
    expect(result.stages.find((s) => s.stage === 'harvest')!.status).to.equal('passed');
    const log = fs.readFileSync(path.join(ws.store.jobDir(job.id), 'logs', 'build.log'), 'utf8');
    expect(log).to.contain('demoapp-helper');
    expect(fs.existsSync(path.join(ws.store.jobDir(job.id), 'scripts', 'build-host1.sh'))).to.equal(true);
    expect((await ws.store.read()).groups).to.deep.equal({});
  });

  it('a non-idempotent manifest: build_failed naming the resource the second apply changed', async () => {
    const loaded = ws.config({
      // On one host of the two (the repo role): the second apply there is what is judged.
      demo: { group: group(), puppet: { manifests: { repo: path.join(EXAMPLES, 'puppet', 'manifests', 'not-idempotent.pp') } } },
    });
    const { result } = await runTemplate({ loaded, template: 'demo', store: ws.store, logger: ws.logger });
    expect(result.status, result.message).to.equal('build_failed');
    expect(result.message).to.match(/Puppet is not idempotent on host1: the second apply changed Exec\[regenerate-demoapp-cache\]/);
    expect(result.message).not.to.contain('File[');
  });

  it('hostile refs, project names and template values reach the hosts as data, never as code', async () => {
    const c = ws.canary;
    const evilRef = `refs/heads/evil$(touch\${IFS}${c});'x`;
    execFileSync('git', ['branch', evilRef.slice('refs/heads/'.length), 'master'], { cwd: ws.repo });
    const evilProject = `demo'\n$(touch ${c}); touch ${c} #`;
    const evil = `'; touch ${c}; echo '\n$(touch ${c})\`touch ${c}\``;
    const loaded = ws.config({
      [`t${evil}`]: {
        group: group(),
        builds: [{ name: `pkg${evil}`, project: evilProject, url: './demoapp', ref: 'master', subdir: '.' }],
        suites: [{ name: `suite${evil}`, command: `printf '<testsuite name="h"><testcase name="t"/></testsuite>' > hostile.xml`, results: `hostile.xml $(touch ${c}) ;touch ${c}` }],
        logs: [{ paths: [`/nonexistent/$(touch ${c})`, `;touch ${c}`] }],
      },
    });
    const { job, result } = await runTemplate({ loaded, template: `t${evil}`, store: ws.store, logger: ws.logger, changes: [`${evilProject}=${evilRef}`] });
    expect(fs.existsSync(c), 'canary file was created: a value ran as code').to.equal(false);
    expect(result.status, result.message).to.equal('success');
    expect(job.sources![0]).to.include({ project: evilProject, ref: evilRef, revision: ws.head(), changed: true });
    expect(result.summary.tests).to.equal(1);
    const script = fs.readFileSync(path.join(ws.store.jobDir(job.id), 'scripts', 'build-host1.sh'), 'utf8');
    expect(script).to.contain(`SRC_REF='refs/heads/evil$(touch\${IFS}${c});'"'"'x'`);
  });
});
