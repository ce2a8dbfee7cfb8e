import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { stageFault, type ScriptRun } from '../../../src/pipeline/judge.js';
import { judgeBuild, stepOutput, type BuildItem } from '../../../src/pipeline/stages/build-judge.js';

// What the real build script printed in each case (see ../fixtures/capture-stage-output.ts, which made these
// files by running it against real failures: a closed port, a name that does not resolve, a stopped package
// mirror, a command taken off PATH, a full tmpfs).
const here = path.dirname(fileURLToPath(import.meta.url));
const captured = (name: string): ScriptRun => JSON.parse(fs.readFileSync(path.join(here, '..', 'fixtures', 'stage-output', `${name}.json`), 'utf8')) as ScriptRun;
/** A script's real output cut where a SIGKILL from outside (the OOM killer, a dying host) ended it. */
const killedAfter = (run: ScriptRun, lastMarker: string): ScriptRun => ({ code: 137, stdout: run.stdout.slice(0, run.stdout.indexOf(lastMarker) + lastMarker.length), stderr: 'Killed' });

const item = (extra: Partial<BuildItem> = {}): BuildItem => ({ index: 0, key: 'build:0', name: 'demoapp', ref: 'master', url: 'https://git.example.org/demoapp', underTest: true, ...extra });
const DEMO = [item()];
const judged = (name: string, items: BuildItem[] = DEMO) => judgeBuild('gw', items, captured(name));

describe('pipeline/stages/build-judge: the change’s fault', () => {
  it('records the revision of a source that built, and finds nothing wrong', () => {
    const ok = judged('build-ok');
    expect(ok.failures).to.deep.equal([]);
    expect(ok.infra).to.deep.equal([]);
    expect(ok.revisions).to.have.length(1);
    expect(ok.revisions[0]!.key).to.equal('build:0');
    expect(ok.revisions[0]!.revision).to.match(/^[0-9a-f]{40}$/);
    expect(stageFault([ok], 'build')).to.equal(undefined);
  });

  it('a package that does not build, with its revision still recorded', () => {
    const broken = judged('build-broken-rules');
    expect(broken.failures).to.deep.equal(['building demoapp on gw failed (exit 2): dpkg-buildpackage: error: debian/rules binary subprocess returned exit status 2']);
    expect(broken.revisions[0]!.revision).to.match(/^[0-9a-f]{40}$/);
    expect(stageFault([broken], 'build')?.kind).to.equal('build');
  });

  it('a declared build dependency no package repository provides, named', () => {
    const missing = judged('build-deps-not-found');
    expect(missing.infra).to.deep.equal([]);
    expect(missing.failures).to.deep.equal([
      'resolving the build dependencies of demoapp (smokestack-no-such-package) on gw failed: no package repository provides them (builddeps:./ : Depends: smokestack-no-such-package but it is not installable)',
    ]);
  });

  it('build dependencies that cannot be read (a broken debian/control)', () => {
    expect(judged('build-deps-unreadable').failures).to.deep.equal([
      'checking the build dependencies of demoapp on gw failed: the package\'s build dependencies cannot be read (dpkg-checkbuilddeps: error: cannot parse Build-Depends/Build-Depends-Arch/Build-Depends-Indep field)',
    ]);
  });

  it('a ref the server does not have (the server answered), naming the ref', () => {
    const ref = 'refs/changes/99/99/9';
    const unknown = judged('build-fetch-unknown-ref', [item({ ref })]);
    expect(unknown.failures).to.have.length(1);
    expect(unknown.failures[0]).to.match(/^fetching demoapp \(refs\/changes\/99\/99\/9\) from https:\/\/git\.example\.org\/demoapp on gw failed: the repository has no refs\/changes\/99\/99\/9 \(couldn't find remote ref/);
    expect(unknown.revisions[0]!.revision).to.equal(undefined);
  });

  it('a merge with trunk that conflicts, naming the files in conflict, with the revisions still recorded', () => {
    const conflict = judged('build-merge-conflict', [item({ ref: 'feature', mergeTarget: 'master' })]);
    expect(conflict.infra).to.deep.equal([]);
    expect(conflict.failures).to.deep.equal(['merging master into demoapp on gw failed: conflict in README.md']);
    expect(conflict.revisions[0]).to.include.keys('revision', 'mergeTargetRevision');
    expect(stageFault([conflict], 'build')).to.deep.equal({ kind: 'build', message: 'merging master into demoapp on gw failed: conflict in README.md' });
  });

  it('a Depends-On change that does not merge into the change, naming it and the files', () => {
    const conflict = judged('build-depends-on-conflict', [item({ ref: 'feature', mergeTarget: 'master' })]);
    expect(conflict.infra).to.deep.equal([]);
    expect(conflict.failures).to.deep.equal(['merging demo/demoapp change 12,3 into demoapp on gw failed: conflict in README.md']);
  });

  it('a build script failing outside any build, naming its last line', () => {
    expect(judgeBuild('gw', DEMO, { code: 2, stdout: '', stderr: "sh: 4: cd: can't cd to /w\n" }).failures).to.deep.equal(["build script on gw exited 2: sh: 4: cd: can't cd to /w"]);
  });
});

describe('pipeline/stages/build-judge: the machinery’s fault (retried, never a vote)', () => {
  it('a source server that cannot be reached: the fetch failed and so did asking the server', () => {
    const down = judged('build-fetch-unreachable');
    expect(down.failures).to.deep.equal([]);
    expect(down.infra).to.have.length(1);
    expect(down.infra[0]).to.match(/^fetching demoapp \(master\) from https:\/\/git\.example\.org\/demoapp on gw failed: the server cannot be reached \(unable to access .*Couldn't connect to server\)$/);
    expect(stageFault([down], 'build')?.kind).to.equal('infra');
  });

  it('a source server whose name does not resolve', () => {
    expect(judged('build-fetch-dns').infra[0]).to.match(/failed: the server cannot be reached \(unable to access .*Could not resolve host: smokestack-source\.invalid\)$/);
  });

  it('a package mirror that cannot be reached while the build dependencies are looked up', () => {
    const offline = judged('build-deps-mirror-down');
    expect(offline.failures).to.deep.equal([]);
    expect(offline.infra).to.have.length(1);
    expect(offline.infra[0]).to.match(
      /^updating the package lists for the build dependencies of demoapp \(smokestack-demo-build-helper\) on gw failed: a package mirror cannot be reached \(E: Failed to fetch .*Could not connect/,
    );
  });

  it('a ref the configuration names (a custom branch, a project default) that the server lacks: not the change’s own', () => {
    const ref = 'refs/changes/99/99/9';
    const custom = judged('build-fetch-unknown-ref', [item({ ref, underTest: false })]);
    expect(custom.failures).to.deep.equal([]);
    expect(custom.infra[0]).to.match(/^fetching demoapp \(refs\/changes\/99\/99\/9\) from https:\/\/git\.example\.org\/demoapp on gw failed: the repository has no refs\/changes\/99\/99\/9/);
  });

  it('a target branch its server lacks, for the merge with trunk, with the source’s revision kept', () => {
    const missing = judged('build-merge-target-missing', [item({ mergeTarget: 'stable/nowhere' })]);
    expect(missing.failures).to.deep.equal([]);
    expect(missing.infra).to.have.length(1);
    expect(missing.infra[0]).to.match(/^fetching stable\/nowhere, the branch demoapp is merged onto, from \/tmp\/ws\/origin on gw failed: the repository has no stable\/nowhere \(couldn't find remote ref stable\/nowhere\)$/);
    expect(missing.revisions[0]!.revision).to.match(/^[0-9a-f]{40}$/);
  });

  it('a target branch whose server cannot be reached', () => {
    const down = judged('build-merge-target-unreachable', [item({ mergeTarget: 'master' })]);
    expect(down.failures).to.deep.equal([]);
    expect(down.infra[0]).to.match(/^fetching master, the branch demoapp is merged onto, from http:\/\/127\.0\.0\.1:\d+\/demoapp\.git on gw failed: the server cannot be reached \(unable to access .*Couldn't connect to server\)$/);
  });

  it('a build tool missing on the host', () => {
    expect(judged('build-missing-tool').infra).to.deep.equal(['checking the build tools for demoapp on gw failed: the host lacks dpkg-buildpackage (Debian: apt-get install dpkg-dev)']);
  });

  it('a full disk, whichever step it stopped', () => {
    const full = judged('build-disk-full');
    expect(full.failures).to.deep.equal([]);
    expect(full.infra).to.deep.equal(['fetching demoapp (master) from https://git.example.org/demoapp on gw failed: the disk is full (0 KiB left)']);
  });

  it('a build script killed from outside before any build reported', () => {
    const killed = judgeBuild('gw', DEMO, killedAfter(captured('build-ok'), 'build-start 0'));
    expect(killed.failures).to.deep.equal([]);
    expect(killed.infra).to.deep.equal(['build script on gw was killed (exit 137) before a build finished']);
  });

  it('a build script the launcher could not even write (exit 125)', () => {
    const unwritable = judgeBuild('gw', DEMO, { code: 125, stdout: '', stderr: 'cat: /w/run/build.sh: No space left on device\n' });
    expect(unwritable.infra).to.deep.equal(['build script on gw could not be started (exit 125): cat: /w/run/build.sh: No space left on device']);
  });

  it('across hosts, a change’s failure on one host outweighs the machinery failing on another', () => {
    const broken = judged('build-broken-rules');
    const down = judgeBuild('web1', DEMO, captured('build-fetch-unreachable'));
    expect(stageFault([down, broken], 'build')?.kind).to.equal('build');
    expect(stageFault([down], 'build')?.kind).to.equal('infra');
  });
});

describe('pipeline/stages/build-judge: what was built', () => {
  it('records the revision of a change merged in before the trunk (Depends-On), in order, and of the trunk', () => {
    const ok = judged('build-depends-on', [item({ ref: 'feature', mergeTarget: 'master' })]);
    expect(ok).to.deep.include({ failures: [], infra: [] });
    expect(ok.revisions[0]!.mergedRevisions).to.have.length(1);
    expect(ok.revisions[0]!.mergedRevisions![0]).to.match(/^[0-9a-f]{40}$/);
    expect(ok.revisions[0]!.mergeTargetRevision).to.match(/^[0-9a-f]{40}$/);
  });
});

describe('pipeline/stages/build-judge: steps', () => {
  it('the build dependencies it installed, then the build, each between its markers', () => {
    const { stdout } = captured('build-deps-installed');
    expect(stepOutput(stdout, 0, 'build-deps-install').join('\n')).to.match(/Setting up smokestack-demo-build-helper \(1\.0\)/);
    expect(stepOutput(stdout, 0, 'build').join('\n')).to.match(/dpkg-deb: building package 'demoapp'/).and.not.to.match(/Setting up/);
    expect(judgeBuild('gw', DEMO, captured('build-deps-installed'))).to.deep.include({ failures: [], infra: [] });
  });
});
