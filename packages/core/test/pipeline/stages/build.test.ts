import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freePort, startAptMirror, type AptMirror } from '@smokestack/testkit';
import { runTemplate } from '../../../src/pipeline/index.js';
import type { PipelineOptions } from '../../../src/pipeline/runner.js';
import { Workspace, purgeDemoPackage } from '../helpers.js';

const HELPER = 'smokestack-demo-build-helper';
const group = { provider: 'local', hosts: [{ name: 'only' }] };

function installed(pkg: string): boolean {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Status}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('install ok installed');
  } catch {
    return false;
  }
}

function purge(pkg: string): void {
  if (installed(pkg)) execFileSync('dpkg', ['--purge', pkg], { stdio: 'ignore' });
}

// Whose fault a failed build is, each case driven by a real failure on this machine (the local provider):
// the machinery's (infra_failed: retried, never a vote) or the change's (build_failed: votes -1).
describe('pipeline/stages/build: whose fault a failed build is', function () {
  this.timeout(600_000);
  let ws: Workspace;
  let mirror: AptMirror;
  before(async () => {
    ws = new Workspace();
    mirror = await startAptMirror({ packages: [{ name: HELPER }] });
  });
  after(async () => {
    await mirror?.close();
    ws?.cleanup();
    purge(HELPER);
    purgeDemoPackage();
  });

  /** The demo package on a branch whose debian/control declares `dependency` too. */
  const declaring = (branch: string, dependency: string): string =>
    ws.branch(branch, (repo) => {
      const control = path.join(repo, 'debian', 'control');
      fs.writeFileSync(control, fs.readFileSync(control, 'utf8').replace('Build-Depends: debhelper-compat (= 13)', `Build-Depends: debhelper-compat (= 13), ${dependency}`));
    });

  const build = async (source: { url?: string; ref?: string }, extra: Record<string, unknown> = {}, options: Partial<PipelineOptions> = {}) => {
    const loaded = ws.config({
      pkg: { group, builds: [{ name: 'demoapp', url: source.url ?? './demoapp', ref: source.ref ?? 'master', method: 'dpkg' }], suites: [{ name: 'noop', command: 'true' }], ...extra },
    });
    const { result } = await runTemplate({ loaded, template: 'pkg', store: ws.store, logger: ws.logger, ...options });
    return result;
  };

  it('a source server that cannot be reached (a closed port) is infra_failed, naming the fetch', async () => {
    const url = `http://127.0.0.1:${await freePort()}/demoapp.git`;
    const result = await build({ url });
    expect(result.status, result.message).to.equal('infra_failed');
    expect(result.message).to.contain(`fetching demoapp (master) from ${url} on only failed: the server cannot be reached`);
  });

  it('a source server whose name does not resolve (DNS) is infra_failed', async () => {
    const result = await build({ url: 'http://smokestack-source.invalid/demoapp.git' });
    expect(result.status, result.message).to.equal('infra_failed');
    expect(result.message).to.match(/fetching demoapp \(master\) from http:\/\/smokestack-source\.invalid\/demoapp\.git on only failed: the server cannot be reached \(.*resolve/);
  });

  it('a ref of the change under test that the server does not have is build_failed, naming the ref', async () => {
    const result = await build({}, {}, { changes: ['demoapp=refs/changes/99/99/9'] });
    expect(result.status, result.message).to.equal('build_failed');
    expect(result.message).to.contain('fetching demoapp (refs/changes/99/99/9) from');
    expect(result.message).to.contain('failed: the repository has no refs/changes/99/99/9');
  });

  it('a branch the template names that the server does not have is infra_failed: no change is at fault', async () => {
    const result = await build({ ref: 'stable/nowhere' });
    expect(result.status, result.message).to.equal('infra_failed');
    expect(result.message).to.contain('fetching demoapp (stable/nowhere) from');
    expect(result.message).to.contain('failed: the repository has no stable/nowhere');
  });

  it('installs the build dependencies the package declares, from the package mirror, then builds', async () => {
    purge(HELPER);
    const result = await build({ ref: declaring('needs-helper', HELPER) }, { env: { APT_CONFIG: mirror.aptConfig } });
    expect(result.status, result.message).to.equal('success');
    expect(installed(HELPER), `${HELPER} installed by the build stage`).to.equal(true);
    purge(HELPER);
  });

  it('a package mirror that cannot be reached is infra_failed, naming the package lists update', async () => {
    purge(HELPER);
    await mirror.stop();
    try {
      const result = await build({ ref: declaring('needs-helper-offline', HELPER) }, { env: { APT_CONFIG: mirror.aptConfig } });
      expect(result.status, result.message).to.equal('infra_failed');
      expect(result.message).to.contain(`updating the package lists for the build dependencies of demoapp (${HELPER}) on only failed: a package mirror cannot be reached`);
    } finally {
      await mirror.start();
    }
  });

  it('a declared build dependency that exists nowhere is build_failed, naming it', async () => {
    const result = await build({ ref: declaring('needs-nothing-real', 'smokestack-no-such-package') }, { env: { APT_CONFIG: mirror.aptConfig } });
    expect(result.status, result.message).to.equal('build_failed');
    expect(result.message).to.contain('resolving the build dependencies of demoapp (smokestack-no-such-package) on only failed: no package repository provides them');
  });

  it('a package that does not build is build_failed, naming the build', async () => {
    const ref = ws.branch('broken-rules', (repo) => fs.writeFileSync(path.join(repo, 'debian', 'rules'), '#!/usr/bin/make -f\n%:\n\tdh $@\noverride_dh_auto_build:\n\tfalse\n'));
    const result = await build({ ref });
    expect(result.status, result.message).to.equal('build_failed');
    expect(result.message).to.match(/building demoapp on only failed \(exit 2\)/);
  });

  it('a build tool missing on the worker is infra_failed, naming the tool', async () => {
    // This machine's commands, but for dpkg-buildpackage.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bin-'));
    try {
      for (const dir of ['/usr/local/bin', '/usr/bin', '/usr/sbin']) {
        for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
          if (name !== 'dpkg-buildpackage' && !fs.existsSync(path.join(bin, name))) fs.symlinkSync(path.join(dir, name), path.join(bin, name));
        }
      }
      const result = await build({}, {}, { env: { ...process.env, PATH: bin } });
      expect(result.status, result.message).to.equal('infra_failed');
      expect(result.message).to.contain('checking the build tools for demoapp on only failed: the host lacks dpkg-buildpackage');
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });

  it('a full disk is infra_failed, saying so', async function () {
    // The hosts' directories on a small tmpfs, filled up right before the build: mounting takes root.
    if (process.getuid?.() !== 0) this.skip();
    const groups = path.join(path.dirname(ws.store.file), 'groups');
    fs.mkdirSync(groups, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', groups]);
    try {
      const fill = (stage: string) => {
        if (stage !== 'build') return;
        const { bavail, bsize } = fs.statfsSync(groups);
        fs.writeFileSync(path.join(groups, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 48 * 1024)));
      };
      const result = await build({}, {}, { beforeStage: fill });
      expect(result.status, result.message).to.equal('infra_failed');
      expect(result.message).to.match(/^build: fetching demoapp \(master\) from .* on only failed: the disk is full \(\d+ KiB left\)/);
    } finally {
      execFileSync('umount', ['-l', groups]);
    }
  });
});
