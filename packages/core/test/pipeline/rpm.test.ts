import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfigFile } from '../../src/config/load.js';
import { runTemplate } from '../../src/pipeline/index.js';
import { deleteGroup } from '../../src/providers/group-records.js';
import { EXAMPLES, Workspace } from './helpers.js';

/** Every file under dir whose path ends with `suffix`. */
function findUnder(dir: string, suffix: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(suffix)).map((f) => path.join(dir, f));
}

/** PATH directories holding every program of this machine but rpmbuild: a worker without the rpm package. */
function pathWithout(dir: string, program: string): string {
  const bin = path.join(dir, 'bin-without-' + program);
  fs.mkdirSync(bin, { recursive: true });
  for (const from of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (!fs.existsSync(from)) continue;
    for (const name of fs.readdirSync(from)) {
      if (name === program || fs.existsSync(path.join(bin, name))) continue;
      fs.symlinkSync(path.join(from, name), path.join(bin, name));
    }
  }
  return bin;
}

describe('RPM packages: rpmbuild, createrepo_c, dnf (examples/templates/demo-rpm.yaml)', function () {
  // Whole pipelines on a shared 2-core machine.
  this.timeout(900_000);
  let ws: Workspace;
  const examples = () => loadConfigFile(path.join(EXAMPLES, 'smokestack.yaml'));
  before(() => {
    ws = new Workspace();
  });
  after(() => ws.cleanup());

  it('builds the example project from its spec, publishes a dnf repository, and dnf installs demoapp from it', async () => {
    const { job, result } = await runTemplate({ loaded: examples(), template: 'demo-rpm', store: ws.store, logger: ws.logger, keep: true });
    try {
      expect(result.status, result.message).to.equal('success');
      const jobDir = ws.store.jobDir(job.id);
      const built = findUnder(path.join(jobDir, 'rpms'), '.noarch.rpm').map((f) => path.basename(f));
      expect(built).to.have.length(1);
      expect(built[0]).to.match(/^demoapp-1\.0-1\.ss\d{14}\.g[0-9a-f]{10}\.noarch\.rpm$/);
      expect(result.stages.find((s) => s.stage === 'repo')?.message).to.equal('1 RPM(s) published on gateway with createrepo_c');
      const test = fs.readFileSync(path.join(jobDir, 'logs', 'test.log'), 'utf8');
      expect(test).to.contain(built[0]!.replace(/\.rpm$/, '')).and.to.contain('demoapp 1.0');

      // dnf itself, from outside the job: the kept gateway's repository resolves demoapp, from our repository.
      const [repomd] = findUnder(path.join(ws.dir, 'state', 'groups', result.group!), path.join('rpm-repo', 'repodata', 'repomd.xml'));
      expect(repomd, 'the gateway has a createrepo_c repository').to.be.a('string');
      const repo = path.dirname(path.dirname(repomd!));
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-dnf-root-'));
      try {
        const dnf = (...args: string[]) =>
          execFileSync('dnf', ['-q', '-y', `--installroot=${root}`, '--releasever=1', '--setopt=reposdir=/dev/null', '--nogpgcheck', `--repofrompath=job,file://${repo}`, '--repo=job', ...args], { encoding: 'utf8' });
        expect(dnf('repoquery', '--qf', '%{name} %{arch} %{reponame}', 'demoapp').trim()).to.equal('demoapp noarch job');
        dnf('install', 'demoapp');
        expect(execFileSync('rpm', ['--root', root, '-q', 'demoapp'], { encoding: 'utf8' }).trim()).to.equal(built[0]!.replace(/\.rpm$/, ''));
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    } finally {
      if (result.group) await deleteGroup(result.group, { store: ws.store, logger: ws.logger, now: () => new Date(), env: process.env });
    }
  });

  it('a broken spec is build_failed', async () => {
    const project = path.join(ws.dir, 'broken-spec');
    fs.cpSync(path.join(EXAMPLES, 'demo-project'), project, { recursive: true });
    fs.appendFileSync(path.join(project, 'demoapp.spec'), '\n%files extra\n/usr/share/demoapp/no-such-file\n');
    const loaded = ws.config({ rpm: { group: { provider: 'local', hosts: [{ name: 'solo' }] }, builds: [{ name: 'demoapp', url: project, method: 'rpm' }], maxInfraRetries: 0 } });
    const { result } = await runTemplate({ loaded, template: 'rpm', store: ws.store, logger: ws.logger });
    expect(result.status).to.equal('build_failed');
    expect(result.message).to.match(/building demoapp on solo failed \(exit 1\)/);
  });

  it('a build host without rpmbuild is infra_failed: the machinery, not the change', async () => {
    const env = { ...process.env, PATH: pathWithout(ws.dir, 'rpmbuild') };
    expect(spawnSync('sh', ['-c', 'command -v rpmbuild'], { env }).status).to.not.equal(0);
    const loaded = ws.config({ rpm: { group: { provider: 'local', hosts: [{ name: 'solo' }] }, builds: [{ name: 'demoapp', url: path.join(EXAMPLES, 'demo-project'), method: 'rpm' }], maxInfraRetries: 0 } });
    const { result } = await runTemplate({ loaded, template: 'rpm', store: ws.store, logger: ws.logger, env });
    expect(result.status, result.message).to.equal('infra_failed');
    expect(result.message).to.contain('checking the build tools for demoapp on solo failed: the host lacks rpmbuild (Debian: apt-get install rpm)');
  });
});
