import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DEMO_APP, DEMO_PUPPET, projectFiles, type SimFiles } from '@smokestack/testkit';
import { commentResults } from '../../src/bellows/comment.js';
import { setConfigSources } from '../../src/bellows/configs.js';
import { syncProjects } from '../../src/bellows/sync.js';
import { runWorker } from '../../src/pipeline/worker.js';
import { formatSources } from '../../src/pipeline/report.js';
import type { Job } from '../../src/model.js';
import { startHarness, type Harness } from '../bellows/harness.js';
import { EXAMPLES, purgeDemoPackage } from './helpers.js';

const text = (file: SimFiles[string]): string => (typeof file === 'string' ? file : file.content);
const exe = (content: string) => ({ content, executable: true });

/**
 * Real builds of what bellows queued from the Gerrit simulator (real git): demoapp built as a Debian
 * package, installed and configured by the demoapp Puppet module, checked by a suite, on this machine.
 */
describe('jobs of custom branches and Depends-On chains, built for real (local provider)', function () {
  this.timeout(20 * 60_000);
  let h: Harness;
  const app = projectFiles(path.join(EXAMPLES, 'demo-project'));
  const module = projectFiles(path.join(EXAMPLES, 'puppet', 'modules', 'demoapp'));

  const template = (suite: string, maxInfraRetries = 0) => ({
    group: { name: 'e2e', provider: 'local', hosts: [{ name: 'web1', roles: ['web'], gateway: true }] },
    builds: [{ name: 'demoapp', project: DEMO_APP, url: 'PLACEHOLDER', ref: 'master', method: 'dpkg' }],
    puppet: { modules: [{ name: 'demoapp', project: DEMO_PUPPET, url: 'PLACEHOLDER', ref: 'master' }], manifests: { default: "class { 'demoapp': }" } },
    suites: [{ name: 'as-built', role: 'web', command: suite, timeoutSeconds: 300 }],
    maxInfraRetries,
  });

  async function start(suite: string): Promise<void> {
    h = await startHarness({
      sim: { git: true },
      projects: [
        { name: DEMO_APP, templates: ['demo'], files: app },
        { name: DEMO_PUPPET, templates: ['demo'], files: module },
      ],
      templates: { demo: template(suite) },
    });
    const demo = h.loaded.config.templates.demo as ReturnType<typeof template>;
    demo.builds[0]!.url = h.sim.gitUrl(DEMO_APP);
    demo.puppet.modules[0]!.url = h.sim.gitUrl(DEMO_PUPPET);
  }

  /** Runs the queued jobs of these changes only (the others are cancelled) through the worker; answers the first change's. */
  async function runJobsOf(...numbers: number[]): Promise<Job[]> {
    await h.store.update((s) => {
      for (const j of Object.values(s.jobs)) if (j.status === 'queued' && !numbers.includes(j.number)) j.status = 'cancelled';
    });
    await runWorker({ store: h.store, loaded: h.loaded, logger: h.ctx.logger, once: true, pollMs: 200 });
    return Object.values((await h.store.read()).jobs).filter((j) => j.number === numbers[0] && j.status !== 'cancelled');
  }

  afterEach(async () => {
    await h?.stop();
    purgeDemoPackage();
  });

  it('a chain of three changes across two projects: the last one’s job builds and configures all three, in dependency order', async () => {
    await start(
      "demoapp version | grep -qx 'demoapp 1.1' && grep -q 'from change one' /usr/share/demoapp/demoapp.conf && grep -q 'from change two' /etc/demoapp/demoapp.conf",
    );
    const one = h.sim.createChange({ project: DEMO_APP, subject: 'Document the defaults', files: { 'etc/demoapp.conf': `${text(app['etc/demoapp.conf']!)}# from change one\n` } });
    const epp = text(module['templates/demoapp.conf.epp']!);
    const two = h.sim.createChange({ project: DEMO_PUPPET, subject: 'Say where the config comes from', files: { 'templates/demoapp.conf.epp': `${epp}# from change two\n` }, message: `Depends-On: ${one.changeId}` });
    const three = h.sim.createChange({
      project: DEMO_APP,
      subject: 'Version 1.1',
      files: { 'bin/demoapp': exe(text(app['bin/demoapp']!).replace('VERSION=1.0', 'VERSION=1.1')) },
      message: `Depends-On: ${h.sim.httpUrl}/c/${DEMO_PUPPET}/+/${two.number}`,
    });
    await syncProjects(h.ctx, { fire: true });

    const [job] = await runJobsOf(three.number);
    expect(job!.status, job!.message).to.equal('success');
    const build = job!.sources!.find((s) => s.kind === 'build')!;
    expect(build).to.deep.include({ ref: three.patchSets[0]!.ref, revision: three.patchSets[0]!.revision, mergeTarget: 'master' });
    expect(build.merges).to.deep.equal([{ name: `${DEMO_APP} change ${one.number},1`, url: h.sim.gitUrl(DEMO_APP), ref: one.patchSets[0]!.ref, revision: one.patchSets[0]!.revision }]);
    const puppet = job!.sources!.find((s) => s.kind === 'module')!;
    expect(puppet).to.deep.include({ ref: two.patchSets[0]!.ref, revision: two.patchSets[0]!.revision, changed: true });
    expect(job!.dependencies!.map((d) => d.number)).to.deep.equal([one.number, two.number]);
    expect(formatSources(job!.sources!).join('\n')).to.contain(`+ ${DEMO_APP} change ${one.number},1: ${one.patchSets[0]!.ref} at ${one.patchSets[0]!.revision.slice(0, 12)}`);
  });

  it('a custom branch of another project is merged with that project’s own trunk before the job uses it', async () => {
    await start("grep -q 'from the fork' /etc/demoapp/demoapp.conf && grep -q 'merged on master' /etc/demoapp/demoapp.conf");
    const epp = text(module['templates/demoapp.conf.epp']!);
    // A fork of the module with a branch of its own; the project's master moves on after the fork was made.
    const fork = path.join(h.dir, 'fork.git');
    const work = path.join(h.dir, 'fork-work');
    execFileSync('git', ['clone', '-q', '--bare', h.sim.gitUrl(DEMO_PUPPET), fork]);
    execFileSync('git', ['clone', '-q', fork, work]);
    fs.writeFileSync(path.join(work, 'templates', 'demoapp.conf.epp'), `${epp}# from the fork\n`);
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Fork', '-c', 'user.email=fork@example.org', ...args], { cwd: work, encoding: 'utf8' }).trim();
    git('commit', '-qam', 'Say it comes from the fork');
    git('push', '-q', 'origin', 'HEAD:refs/heads/feature');
    const trunk = h.sim.createChange({ project: DEMO_PUPPET, subject: 'Mark the config', files: { 'templates/demoapp.conf.epp': epp.replace('# Managed by Puppet', '# merged on master\n# Managed by Puppet') } });
    h.sim.merge(trunk.number);
    const change = h.sim.createChange({ project: DEMO_APP, subject: 'Tidy the README', files: { 'README.md': 'demoapp, tidied\n' } });
    await syncProjects(h.ctx, { fire: true });
    await setConfigSources({ store: h.store, loaded: h.loaded, now: () => new Date() }, `${DEMO_APP}~${change.number}`, { sources: [`${DEMO_PUPPET}=file://${fork}#feature`], mergeTrunk: true });

    const [job] = await runJobsOf(change.number);
    expect(job!.status, job!.message).to.equal('success');
    const mod = job!.sources!.find((s) => s.kind === 'module')!;
    expect(mod).to.deep.include({ url: `file://${fork}`, ref: 'feature', revision: git('rev-parse', 'HEAD'), mergeTarget: 'master', mergeUrl: h.sim.gitUrl(DEMO_PUPPET), changed: true });
    expect(mod.mergeTargetRevision).to.equal(execFileSync('git', ['ls-remote', h.sim.gitUrl(DEMO_PUPPET), 'refs/heads/master'], { encoding: 'utf8' }).split('\t')[0]);
  });

  it('a change in conflict with trunk fails as the change’s, naming the file; a custom branch that does not exist is infrastructure, without a vote', async () => {
    await start('true');
    const conflicting = h.sim.createChange({ project: DEMO_APP, subject: 'Reword the README', files: { 'README.md': 'demoapp, as the change words it\n' } });
    const landed = h.sim.createChange({ project: DEMO_APP, subject: 'Reword the README too', files: { 'README.md': 'demoapp, as master words it now\n' } });
    h.sim.merge(landed.number);
    const other = h.sim.createChange({ project: DEMO_APP, subject: 'Harmless', files: { NOTES: 'notes\n' } });
    await syncProjects(h.ctx, { fire: true });
    await setConfigSources({ store: h.store, loaded: h.loaded, now: () => new Date() }, `${DEMO_APP}~${other.number}`, { sources: [`${DEMO_PUPPET}=refs/heads/no-such-branch`] });

    const [conflict] = await runJobsOf(conflicting.number, other.number);
    expect(conflict!.status).to.equal('build_failed');
    expect(conflict!.message).to.contain('merging master into demoapp on web1 failed: conflict in README.md');
    const [missing] = Object.values((await h.store.read()).jobs).filter((j) => j.number === other.number);
    expect(missing!.status).to.equal('infra_failed');
    expect(missing!.message).to.match(/fetching demoapp \(refs\/heads\/no-such-branch\) from \S+ on web1 failed: the repository has no refs\/heads\/no-such-branch/);

    await commentResults(h.ctx);
    const [onConflict] = h.sim.reviews(conflicting.number);
    expect(onConflict!.labels).to.deep.equal({ Verified: -1 });
    expect(onConflict!.message).to.contain('conflict in README.md');
    const [onMissing] = h.sim.reviews(other.number);
    expect(onMissing!.labels).to.deep.equal({});
  });
});
