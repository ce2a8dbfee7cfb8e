import { expect } from 'chai';
import { classifyJob, type StageOutcome } from '../../src/results/index.js';

const passed = (...stages: StageOutcome['stage'][]): StageOutcome[] => stages.map((stage) => ({ stage, status: 'passed' }));

describe('results/classify', () => {
  it('is success when every stage passed and no test failed', () => {
    expect(classifyJob(passed('provision', 'prepare', 'build', 'test', 'harvest', 'teardown'), { failures: 0, errors: 0 }).status).to.equal('success');
  });

  it('is build_failed for a failing build, repo or Puppet stage', () => {
    for (const stage of ['build', 'repo', 'configure'] as const) {
      const r = classifyJob([...passed('provision', 'prepare'), { stage, status: 'failed', kind: 'build', message: 'exit 2' }]);
      expect(r).to.deep.equal({ status: 'build_failed', message: `${stage}: exit 2` });
    }
  });

  it('is test_failed when a suite command failed or a suite reported failures, naming the tests', () => {
    expect(classifyJob([{ stage: 'test', status: 'failed', kind: 'test', message: 'suite smoke exited 1' }]).status).to.equal('test_failed');
    const r = classifyJob(passed('build', 'test'), { failures: 1, errors: 0, failedTests: ['demo.test_greeting'] });
    expect(r.status).to.equal('test_failed');
    expect(r.message).to.contain('demo.test_greeting');
  });

  it('is infra_failed for provisioning, lost SSH or timeouts, even inside the build stage', () => {
    expect(classifyJob([{ stage: 'provision', status: 'failed', message: 'quota' }]).status).to.equal('infra_failed');
    expect(classifyJob([{ stage: 'build', status: 'failed', kind: 'infra', message: 'connection lost' }]).status).to.equal('infra_failed');
    expect(classifyJob([...passed('build'), { stage: 'test', status: 'failed', kind: 'infra', message: 'host2: ssh closed' }]).status).to.equal('infra_failed');
  });

  it('lets the first failure decide and never lets teardown change the verdict', () => {
    const r = classifyJob([
      { stage: 'build', status: 'failed', kind: 'build', message: 'dpkg-buildpackage exited 2' },
      { stage: 'harvest', status: 'failed', kind: 'infra', message: 'host gone' },
      { stage: 'teardown', status: 'failed', kind: 'infra', message: 'delete failed' },
    ]);
    expect(r.status).to.equal('build_failed');
    expect(classifyJob([...passed('build', 'test'), { stage: 'teardown', status: 'failed', message: 'x' }]).status).to.equal('success');
  });

  it('reports a stopped job as cancelled', () => {
    expect(classifyJob([{ stage: 'test', status: 'failed', kind: 'cancelled', message: 'superseded' }]).status).to.equal('cancelled');
  });
});
