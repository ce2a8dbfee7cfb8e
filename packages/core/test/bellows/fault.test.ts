import { expect } from 'chai';
import type { Job, JobSource } from '../../src/model.js';
import { DEFAULT_FAULT_SETTINGS, analyzeJob, combineVotes, describeComparison, describeVerdict, emptyEvidence, type FaultEvidence, type FaultSettings } from '../../src/bellows/fault.js';
import { revisionSetOf, type TestRun } from '../../src/results/history.js';
import { NOW, addJob, state } from './fixtures.js';

const SETTINGS: FaultSettings = DEFAULT_FAULT_SETTINGS;
const later = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
const nova = (fields: Partial<JobSource> = {}): JobSource => ({ kind: 'build', name: 'nova', project: 'nova', url: 'u', ref: 'r', revision: 'c1', mergeTarget: 'master', mergeTargetRevision: 'abc1234def', changed: true, ...fields });

function setup(jobFields: Partial<Job> = {}, baselineFields: Partial<Job> | null = {}) {
  const s = state();
  const baseline = baselineFields && addJob(s, 'nova', 0, 0, 'full', 'test_failed', {
    kind: 'baseline', configId: 'baseline', failedTests: ['nova.test_x'], sources: [nova({ revision: 'abc1234def', mergeTarget: undefined, mergeTargetRevision: undefined })],
    baseline: { key: 'k', template: 'full', branch: 'master', projects: {}, requestedBy: 'j2' }, finishedAt: NOW.toISOString(), ...baselineFields,
  });
  const job = addJob(s, 'nova', 1, 1, 'full', 'test_failed', {
    failedTests: ['nova.test_x'], sources: [nova()], finishedAt: NOW.toISOString(), ...(baseline ? { comparedWith: baseline.id } : {}), ...jobFields,
  });
  const evidence: FaultEvidence = emptyEvidence();
  if (baseline) evidence.baselines.set(baseline.id, baseline);
  return { job, baseline, evidence };
}

const ownRun = (job: Job, passed: string[], failed: string[], jobId = job.id): TestRun => ({
  jobId, project: 'nova', template: 'full', kind: 'queue', revisionSet: revisionSetOf(job), finishedAt: NOW.toISOString(), passed, failed, skipped: [],
});

describe('bellows/fault', () => {
  it('a failure the baseline has too is pre-existing: no -1, and the review says where it fails', () => {
    const { job, evidence } = setup();
    const fault = analyzeJob(job, SETTINGS, evidence, later(1));
    expect(fault.vote).to.equal(1);
    expect(fault.tests.map(describeVerdict)).to.deep.equal(['nova.test_x also fails on master at abc1234 — not caused by this change']);
    expect(describeComparison(fault.comparison)).to.match(/^compared with baseline j\d+ \(master at abc1234\)$/);
  });

  it('only a failure the baseline does not have is new and votes -1', () => {
    const { job, evidence } = setup({ failedTests: ['nova.test_x', 'nova.test_libvirt'] });
    const fault = analyzeJob(job, SETTINGS, evidence, later(1));
    expect(fault.vote).to.equal(-1);
    expect(fault.tests.map(describeVerdict)).to.deep.equal([
      'nova.test_x also fails on master at abc1234 — not caused by this change',
      'nova.test_libvirt — new failure: passes on master at abc1234',
    ]);
  });

  it('a baseline failure the change ran and passed is called out as fixed by this change', () => {
    const { job, evidence } = setup({ status: 'success', failedTests: [] });
    evidence.runs.set(revisionSetOf(job), [ownRun(job, ['nova.test_x', 'nova.test_y'], [])]);
    const fault = analyzeJob(job, SETTINGS, evidence, later(1));
    expect(fault.vote).to.equal(1);
    expect(fault.tests.map(describeVerdict)).to.deep.equal(['nova.test_x — fixed by this change: fails on master at abc1234']);
    expect(describeComparison(fault.comparison)).to.match(/^compared with baseline j\d+ \(master at abc1234\)$/);
  });

  it('a passing job that fixes nothing of its baseline says nothing about the comparison', () => {
    const { job, evidence } = setup({ status: 'success', failedTests: [] }, { failedTests: ['nova.test_z'] });
    evidence.runs.set(revisionSetOf(job), [ownRun(job, ['nova.test_x'], [])]);
    const fault = analyzeJob(job, SETTINGS, evidence, later(1));
    expect(fault).to.deep.include({ vote: 1, tests: [], comparison: { state: 'none' } });
  });

  it('waits while the baseline is queued or running, up to baseline.waitMinutes; then reports without it, says so, and does not vote -1', () => {
    const { job, evidence } = setup({}, { status: 'running', failedTests: [] });
    expect(analyzeJob(job, SETTINGS, evidence, later(59)).comparison).to.deep.equal({ state: 'waiting', reason: `baseline ${job.comparedWith} on master is running` });
    const late = analyzeJob(job, SETTINGS, evidence, later(61));
    expect(late.vote, 'the failure may be the branch’s own').to.equal(null);
    expect(describeComparison(late.comparison)).to.equal(`reported without a baseline comparison: baseline ${job.comparedWith} on master did not finish within 60 minutes`);
    expect(late.tests.map(describeVerdict)).to.deep.equal(['nova.test_x — failed; not compared with the target branch, so it may not be this change\'s']);
    const strict = { ...SETTINGS, baseline: { ...SETTINGS.baseline, uncomparedFailuresVote: true } };
    const counted = analyzeJob(job, strict, evidence, later(61));
    expect(counted.vote, 'baseline.uncomparedFailuresVote').to.equal(-1);
    expect(counted.tests.map(describeVerdict)).to.deep.equal(['nova.test_x — new failure']);
  });

  it('a baseline that could not run its tests gives no comparison, and the failures no vote', () => {
    for (const status of ['build_failed', 'infra_failed', 'cancelled'] as const) {
      const { job, evidence } = setup({}, { status });
      const fault = analyzeJob(job, SETTINGS, evidence, later(1));
      expect(fault.vote, status).to.equal(null);
      expect(fault.tests.map((t) => t.kind)).to.deep.equal(['uncompared']);
      expect(fault.comparison).to.deep.equal({ state: 'without', reason: `baseline ${job.comparedWith} on master ended ${status}`, unanswered: true });
    }
    const { job } = setup();
    expect(analyzeJob(job, SETTINGS, emptyEvidence(), later(1))).to.deep.include({ vote: null, comparison: { state: 'without', reason: `baseline ${job.comparedWith} is no longer in the store`, unanswered: true } });
  });

  it('waits for a baseline not yet queued, unless the job changed nothing a baseline could compare', () => {
    const { job, evidence } = setup({}, null);
    expect(analyzeJob(job, SETTINGS, evidence, later(1)).comparison.state).to.equal('waiting');
    const bare = setup({ sources: [] }, null);
    // Nothing a baseline could run: there is no branch of it to blame, so the failure is the change's.
    expect(analyzeJob(bare.job, SETTINGS, bare.evidence, later(1))).to.deep.include({ vote: -1, comparison: { state: 'without', reason: 'the job changed no source to compare with its branch' } });
    const off = { ...SETTINGS, baseline: { ...SETTINGS.baseline, enabled: false } };
    expect(analyzeJob(job, off, evidence, later(1))).to.deep.include({ vote: -1, comparison: { state: 'none' } });
  });

  it('a test that also passed on this revision set is flaky: no -1 (configurable), with its counts', () => {
    const { job, evidence } = setup({ failedTests: ['nova.test_racy'] }, null);
    evidence.runs.set(revisionSetOf(job), [ownRun(job, [], ['nova.test_racy']), ownRun(job, ['nova.test_racy'], [], 'j90'), ownRun(job, [], ['nova.test_racy'], 'j91')]);
    const fault = analyzeJob(job, SETTINGS, evidence, later(1));
    expect(fault.vote).to.equal(1);
    expect(fault.comparison, 'a flaky failure does not wait for a baseline').to.deep.equal({ state: 'none' });
    expect(fault.tests.map(describeVerdict)).to.deep.equal(['nova.test_racy — flaky: failed 2 of 3 runs on this revision set']);
    const strict = { ...SETTINGS, flaky: { ...SETTINGS.flaky, failuresVote: true } };
    expect(analyzeJob(job, strict, evidence, later(1)).comparison.state, 'flaky failures vote: the baseline decides').to.equal('waiting');
  });

  it('a test the project knows flaky is excused even when it only failed on this revision set', () => {
    const { job, evidence } = setup({ failedTests: ['nova.test_racy'] }, null);
    evidence.flaky.set('nova', new Map([['nova.test_racy', { project: 'nova', id: 'nova.test_racy', templates: ['full'], failed: 3, runs: 11, revisionSets: 2, lastSeen: '2026-11-20T08:00:00Z' }]]));
    const fault = analyzeJob(job, SETTINGS, evidence, later(1));
    expect(fault.vote).to.equal(1);
    expect(describeVerdict(fault.tests[0]!)).to.equal('nova.test_racy — flaky: failed 1 of 1 runs on this revision set; known flaky: failed 3 of 11 runs on 2 revision set(s), last seen 2026-11-20');
  });

  it('a quarantined test never votes; the review shows it with reason and owner', () => {
    const { job, evidence } = setup({ failedTests: ['nova.test_slow'] }, null);
    const settings = { ...SETTINGS, quarantine: [{ test: '*test_slow', reason: 'times out under load', owner: 'bob' }] };
    const fault = analyzeJob(job, settings, evidence, later(1));
    expect(fault).to.deep.include({ vote: 1, comparison: { state: 'none' } });
    expect(fault.tests.map(describeVerdict)).to.deep.equal(['nova.test_slow — quarantined: times out under load (owner: bob)']);
  });

  it('a required test that did not run: no +1, no -1, named with why and the template', () => {
    const skip = { id: 'nova.test_libvirt', pattern: '*libvirt*', reason: 'libvirt not available', template: 'nova-libvirt' };
    const { job, evidence } = setup({ status: 'incomplete', failedTests: [], requiredSkipped: [skip] }, null);
    const fault = analyzeJob(job, SETTINGS, evidence, later(1));
    expect(fault.vote).to.equal(null);
    expect(fault.tests.map(describeVerdict)).to.deep.equal(['nova.test_libvirt — skipped: libvirt not available — required by template nova-libvirt']);
    const excused = setup({ requiredSkipped: [skip] });
    expect(analyzeJob(excused.job, SETTINGS, excused.evidence, later(1)).vote, 'pre-existing failures and a required test not run').to.equal(null);
    const failing = setup({ failedTests: ['nova.test_new'], requiredSkipped: [skip] });
    expect(analyzeJob(failing.job, SETTINGS, failing.evidence, later(1)).vote, 'a new failure is red whatever else').to.equal(-1);
  });

  it('a build failure votes -1, an infrastructure failure not at all, a failure naming no test -1', () => {
    const s = state();
    expect(analyzeJob(addJob(s, 'nova', 1, 1, 'full', 'build_failed'), SETTINGS, emptyEvidence(), NOW).vote).to.equal(-1);
    expect(analyzeJob(addJob(s, 'nova', 1, 1, 'full', 'infra_failed'), SETTINGS, emptyEvidence(), NOW).vote).to.equal(null);
    expect(analyzeJob(addJob(s, 'nova', 1, 1, 'full', 'test_failed', { sources: [nova()] }), SETTINGS, emptyEvidence(), NOW).vote).to.equal(-1);
  });

  it('the patch set’s vote: any -1 wins, then any job without a vote, else +1', () => {
    expect(combineVotes([{ vote: 1 }, { vote: -1 }, { vote: null }])).to.equal(-1);
    expect(combineVotes([{ vote: 1 }, { vote: null }])).to.equal(null);
    expect(combineVotes([{ vote: 1 }, { vote: 1 }])).to.equal(1);
  });
});
