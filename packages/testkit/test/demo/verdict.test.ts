import { expect } from 'chai';
import { emptyState, enqueueJob, type JobStatus, type StateData } from '@smokestack/core';
import { concludeDemo, demoOutcomes, judgeDemo, type DemoChange, type DemoOutcome, type Expectation } from '../../src/index.js';

const KEYS: Array<[string, Expectation]> = [
  ['version-flag', 'success'], ['empty-lines', 'success'], ['colour', 'success'], ['greeting', 'test_failed'], ['packaging', 'build_failed'],
  ['legacy', 'success'], ['startup', 'success'], ['config-mode', 'success'], ['logrotate', 'success'], ['readme', 'success'], ['merged-soon', 'success'],
];

function outcomes(status: (expect: Expectation) => JobStatus, message: string): DemoOutcome[] {
  return KEYS.map(([key, expect], i) => ({ key, number: i + 1, expect, jobId: `j${i + 1}`, status: status(expect), message }));
}

describe('demo verdict', () => {
  it('fails the demo when a worker without the build dependencies fails every build, and says why', () => {
    const verdict = judgeDemo(outcomes(() => 'build_failed', 'build: dpkg-checkbuilddeps: error: Unmet build dependencies: debhelper-compat (= 13)\nmore'));
    expect(verdict.ok).to.equal(false);
    expect(verdict.reason).to.equal(
      "every job failed, 10 of 11 for a reason that is not the change's (10 build_failed; j1 of version-flag, which should give success: " +
        'build: dpkg-checkbuilddeps: error: Unmet build dependencies: debhelper-compat (= 13)): this machine could not run the demo jobs',
    );
    expect(verdict.unexpected.map((o) => o.key)).to.not.include('packaging');
  });

  it('fails the demo when every job failed for infrastructure reasons', () => {
    const verdict = judgeDemo(outcomes(() => 'infra_failed', 'provision: host web1 is not reachable'));
    expect(verdict.ok).to.equal(false);
    expect(verdict.reason).to.match(/^every job failed, 11 of 11 .*\(11 infra_failed; j1 of version-flag, which should give success: provision: host web1 is not reachable\)/);
  });

  it('passes a demo whose changes got what they deserve, failures included, and names any surprise', () => {
    expect(judgeDemo(outcomes((e) => e, 'ok'))).to.deep.equal({ ok: true, unexpected: [] });
    const flaky = outcomes((e) => e, 'ok');
    flaky[2] = { ...flaky[2]!, status: 'infra_failed', message: 'ssh: connection lost' };
    const verdict = judgeDemo(flaky);
    expect(verdict.ok).to.equal(true);
    expect(verdict.unexpected.map((o) => [o.key, o.status])).to.deep.equal([['colour', 'infra_failed']]);
    // Only the changes meant to fail ran: their failures are their own.
    expect(judgeDemo(outcomes((e) => e, 'x').filter((o) => o.expect !== 'success')).ok).to.equal(true);
  });

  it('ends a good demo with Done, exit status 0 and a warning per surprise; a failed one with exit status 1 and why', () => {
    const flaky = outcomes((e) => e, 'ok');
    flaky[0] = { ...flaky[0]!, status: 'infra_failed', message: 'ssh: connection lost\ndetails' };
    const good = concludeDemo({ configs: 12, jobs: { success: 8, infra_failed: 1 }, reviews: 10, verdict: judgeDemo(flaky) }, 61.4);
    expect(good).to.deep.equal({
      code: 0,
      lines: ['Done in 61 s: 12 test configs, jobs 8 success, 1 infra_failed, 10 reviews posted.', 'warning: version-flag (j1) is infra_failed, expected success: ssh: connection lost'],
    });
    const broken = judgeDemo(outcomes(() => 'infra_failed', 'provision: host web1 is not reachable'));
    const failed = concludeDemo({ configs: 12, jobs: { infra_failed: 22 }, reviews: 11, verdict: broken }, 90);
    expect(failed.code).to.equal(1);
    expect(failed.lines).to.deep.equal(['Finished in 90 s: 12 test configs, jobs 22 infra_failed, 11 reviews posted.', `demo failed: ${broken.reason}`]);
  });

  it('judges the latest attempt of each change’s current patch set, leaving out WIP and purged changes', () => {
    const s: StateData = emptyState();
    const changes: DemoChange[] = [
      { key: 'a', project: 'demo/demoapp', number: 1, expect: 'success' },
      { key: 'wip', project: 'demo/demoapp', number: 2, expect: 'wip' },
      { key: 'gone', project: 'demo/demoapp', number: 3, expect: 'success' },
    ];
    const base = { project: 'demo/demoapp', template: 'demo', revision: 'r' };
    for (const n of [1, 2]) s.configs[`demo/demoapp~${n}`] = { id: `demo/demoapp~${n}`, project: 'demo/demoapp', branch: 'master', number: n, description: '', branches: {}, templates: ['demo'], patchSet: 2, revision: 'r', ref: '', updatedAt: '' };
    const job = (n: number, patchSet: number, attempt: number, status: JobStatus) =>
      Object.assign(enqueueJob(s, { ...base, configId: `demo/demoapp~${n}`, number: n, patchSet, attempt }, new Date()), { status });
    job(1, 1, 1, 'test_failed');
    job(1, 2, 1, 'infra_failed');
    job(1, 2, 2, 'success');
    job(2, 2, 1, 'cancelled');
    job(3, 1, 1, 'build_failed');
    expect(demoOutcomes(changes, s).map((o) => [o.key, o.jobId, o.status])).to.deep.equal([['a', 'j3', 'success']]);
  });
});
