import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { decideTeardown, judgeJob, judgePuppet, judgeSuites, testStageFault, type ScriptRun } from '../../src/pipeline/judge.js';
import { emptySummary } from '../../src/model.js';

// What the real stage scripts printed (see fixtures/capture-stage-output.ts, which made these files).
const here = path.dirname(fileURLToPath(import.meta.url));
const captured = (name: string): ScriptRun => JSON.parse(fs.readFileSync(path.join(here, 'fixtures', 'stage-output', `${name}.json`), 'utf8')) as ScriptRun;
/** A script's real output cut where a SIGKILL from outside (the OOM killer, a dying host) ended it. */
const killedAfter = (run: ScriptRun, lastMarker: string): ScriptRun => ({ code: 137, stdout: run.stdout.slice(0, run.stdout.indexOf(lastMarker) + lastMarker.length), stderr: 'Killed' });

describe('pipeline/judge: Puppet, applied twice', () => {
  it('accepts changes on the first apply and none on the second', () => {
    const judged = judgePuppet('web1', [], captured('configure-idempotent'));
    expect(judged).to.deep.equal({ revisions: [], failures: [], infra: [] });
  });

  it('a second apply that changes something names the resource', () => {
    expect(judgePuppet('web1', [], captured('configure-not-idempotent')).failures).to.deep.equal([
      'Puppet is not idempotent on web1: the second apply changed Exec[always-runs]',
    ]);
  });

  it('a failing resource fails the first apply, with Puppet’s first real error (not Facter’s noise)', () => {
    const [failure] = judgePuppet('web1', [], captured('configure-apply-fails')).failures;
    expect(failure).to.match(/^Puppet apply failed on web1 \(exit 4\): Error: '\/bin\/false' returned 1/);
  });

  it('a manifest that does not parse is the change’s fault', () => {
    const [failure] = judgePuppet('web1', [], captured('configure-syntax-error')).failures;
    expect(failure).to.match(/^Puppet apply failed on web1 \(exit 1\): Error: Could not parse for environment production: Syntax error/);
  });

  it('a configure script killed before Puppet reported is the machinery’s', () => {
    const judged = judgePuppet('web1', [], { code: 143, stdout: '', stderr: 'Terminated' });
    expect(judged.failures).to.deep.equal([]);
    expect(judged.infra).to.deep.equal(['configure script on web1 was killed (exit 143) before Puppet ran']);
  });

  const MODULE = { key: 'module:0', name: 'demoapp', url: 'https://git.example.org/puppet-demoapp', ref: 'refs/heads/no-such-branch', underTest: false };

  it('records the revision of each Puppet module fetched from git', () => {
    const run = { code: 0, stdout: `::smokestack:: revision module:1 ${'a'.repeat(40)}\n${captured('configure-idempotent').stdout}`, stderr: '' };
    expect(judgePuppet('web1', [{ ...MODULE, key: 'module:1', ref: 'master' }], run).revisions).to.deep.equal([{ key: 'module:1', revision: 'a'.repeat(40) }]);
  });

  it('a Puppet module branch the configuration names but its server lacks stops configure as the machinery’s fault, before Puppet runs', () => {
    const judged = judgePuppet('web1', [MODULE], captured('configure-module-unreachable'));
    expect(judged.failures).to.deep.equal([]);
    expect(judged.revisions).to.deep.equal([]);
    expect(judged.infra).to.have.length(1);
    expect(judged.infra[0]).to.match(
      /^fetching demoapp \(refs\/heads\/no-such-branch\) from https:\/\/git\.example\.org\/puppet-demoapp on web1 failed: the repository has no refs\/heads\/no-such-branch \(couldn't find remote ref refs\/heads\/no-such-branch\)$/,
    );
    expect(captured('configure-module-unreachable').stdout).not.to.contain('puppet-begin');
  });

  it('a module under test whose own ref its server lacks is the change’s fault', () => {
    const judged = judgePuppet('web1', [{ ...MODULE, underTest: true }], captured('configure-module-unreachable'));
    expect(judged.infra).to.deep.equal([]);
    expect(judged.failures[0]).to.match(/^fetching demoapp \(refs\/heads\/no-such-branch\) .* the repository has no refs\/heads\/no-such-branch/);
  });
});

describe('pipeline/judge: the suites', () => {
  const suites = [
    { index: 0, name: 'passes', timeoutSeconds: 60 },
    { index: 1, name: 'fails', timeoutSeconds: 60 },
    { index: 2, name: 'times-out', timeoutSeconds: 1 },
    { index: 3, name: 'killed-early', timeoutSeconds: 60 },
  ];

  it('tells a suite that failed, one that ran out of time and one killed early, from what the test script reported', () => {
    const judged = judgeSuites('web1', suites, captured('test-mixed'));
    expect([...judged.exitCodes]).to.deep.equal([
      [0, 0],
      [1, 3],
      [2, 124],
      [3, 137],
    ]);
    expect(judged.failures).to.deep.equal([
      'suite fails on web1 exited 3',
      'suite times-out on web1 timed out after 1s',
      'suite killed-early on web1 was killed (SIGKILL) after 0s',
    ]);
    expect(judged.notRun).to.deep.equal([]);
  });

  it('a 137 at the deadline is our own timeout (the suite outlived TERM)', () => {
    const run = { code: 0, stdout: '::smokestack:: suite-exit 0 137 65\n', stderr: '' };
    expect(judgeSuites('web1', [{ index: 0, name: 'slow', timeoutSeconds: 60 }], run).failures).to.deep.equal(['suite slow on web1 timed out after 60s']);
  });

  it('suites that never reported are the machinery’s; a failing suite still makes it the change’s', () => {
    const cut = killedAfter(captured('test-mixed'), 'suite-exit 1 3 0');
    const judged = judgeSuites('web1', suites, cut);
    expect(judged.failures).to.deep.equal(['suite fails on web1 exited 3']);
    expect(judged.notRun).to.deep.equal([
      'suite times-out on web1 did not run (test script exited 137: Killed)',
      'suite killed-early on web1 did not run (test script exited 137: Killed)',
    ]);
    expect(testStageFault([judged])?.kind).to.equal('test');
    const onlyPassed = judgeSuites('web1', suites, killedAfter(captured('test-mixed'), 'suite-exit 0 0 1'));
    expect(testStageFault([onlyPassed])).to.deep.include({ kind: 'infra' });
  });
});

describe('pipeline/judge: teardown', () => {
  const base = { groupCreated: true, keep: false, keepOnFailure: false, failed: false };

  it('never deletes a group the run did not create', () => {
    expect(decideTeardown({ ...base, existingGroup: 'lab', groupName: 'lab' })).to.deep.equal({ action: 'leave', message: 'existing server group lab left as it is' });
    expect(decideTeardown({ ...base, groupCreated: false })).to.deep.equal({ action: 'leave', message: 'no server group was created' });
  });

  it('keeps the group with --keep, or on failure when asked, and says how to delete it', () => {
    expect(decideTeardown({ ...base, groupName: 'demo-j1', keep: true })).to.deep.equal({
      action: 'keep',
      message: 'kept server group demo-j1 (--keep); delete it with: firestack group delete demo-j1',
    });
    expect(decideTeardown({ ...base, groupName: 'demo-j1', keepOnFailure: true, failed: true }).action).to.equal('keep');
    expect(decideTeardown({ ...base, groupName: 'demo-j1', keepOnFailure: true, failed: false })).to.deep.equal({ action: 'delete', group: 'demo-j1' });
  });

  it('deletes what a failed create left behind, even when keeping was asked (there is nothing usable to keep)', () => {
    expect(decideTeardown({ ...base, groupName: 'demo-j1', groupCreated: false, keep: true })).to.deep.equal({ action: 'delete', group: 'demo-j1' });
  });
});

describe('pipeline/judge: the job', () => {
  it('a test failure names the failing tests and the stage’s reason', () => {
    const outcomes = [
      { stage: 'build' as const, status: 'passed' as const },
      { stage: 'test' as const, status: 'failed' as const, kind: 'test' as const, message: 'suite smoke on web1 exited 1' },
    ];
    const rollup = { summary: { ...emptySummary(), tests: 3, failures: 1 }, skipped: [], failedTests: ['smoke.test_b'] };
    expect(judgeJob(outcomes, rollup)).to.deep.equal({ status: 'test_failed', message: '1 failing test(s): smoke.test_b (suite smoke on web1 exited 1)' });
  });

  it('names at most ten failing tests', () => {
    const failedTests = Array.from({ length: 12 }, (_, i) => `t${i}`);
    const verdict = judgeJob([], { summary: { ...emptySummary(), tests: 12, failures: 12 }, skipped: [], failedTests });
    expect(verdict.message).to.equal('12 failing test(s): t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, …');
  });

  it('a job that would pass while a required test did not run is incomplete, naming the test and why', () => {
    const outcomes = [{ stage: 'test' as const, status: 'passed' as const }];
    const rollup = { summary: { ...emptySummary(), tests: 3, skipped: 1 }, skipped: [{ id: 'nova.test_libvirt', reason: 'libvirt not available' }], failedTests: [] };
    const required = [{ id: 'nova.test_libvirt', pattern: '*libvirt*', reason: 'libvirt not available', template: 'nova-gate' }];
    expect(judgeJob(outcomes, rollup, required)).to.deep.equal({ status: 'incomplete', message: '1 required test(s) did not run: nova.test_libvirt (libvirt not available)' });
    expect(judgeJob(outcomes, rollup, []).status).to.equal('success');
  });

  it('a failure stays a failure whatever required tests did not run: red outranks incomplete', () => {
    const rollup = { summary: { ...emptySummary(), tests: 3, failures: 1 }, skipped: [], failedTests: ['nova.test_a'] };
    const required = [{ id: 'nova.test_libvirt', pattern: 'nova.test_libvirt', reason: 'absent: no test matched', template: 't' }];
    expect(judgeJob([], rollup, required).status).to.equal('test_failed');
    expect(judgeJob([{ stage: 'build', status: 'failed', kind: 'build', message: 'dpkg' }], rollup, required).status).to.equal('build_failed');
  });
});
