import { expect } from 'chai';
import type { Job, JobSource } from '../../src/model.js';
import { emptySummary } from '../../src/model.js';
import { countsOf, flakyAmong, forgetFlakyBefore, listFlaky, noteFlakyRuns, revisionSetOf, testRunOf, type FlakyRegistry, type TestRun } from '../../src/results/history.js';

const source = (fields: Partial<JobSource> = {}): JobSource => ({ kind: 'build', name: 'nova', project: 'nova', url: 'u', ref: 'r', revision: 'c1', changed: true, ...fields });

function job(fields: Partial<Job> = {}): Job {
  return {
    id: 'j1', configId: 'nova~1', project: 'nova', number: 1, patchSet: 1, revision: 'c1', template: 'full', status: 'test_failed', attempt: 1,
    createdAt: '2026-11-21T10:00:00Z', finishedAt: '2026-11-21T10:05:00Z', summary: emptySummary(), skipped: [], message: '', logDir: 'jobs/j1',
    sources: [source({ mergeTarget: 'master', mergeTargetRevision: 'm1' })], ...fields,
  };
}

const run = (jobId: string, passed: string[], failed: string[], fields: Partial<TestRun> = {}): TestRun => ({
  jobId, project: 'nova', template: 'full', kind: 'queue', revisionSet: 'R1', finishedAt: `2026-11-21T10:0${jobId.slice(1)}:00Z`, passed, failed, skipped: [], ...fields,
});

describe('results/history', () => {
  describe('revisionSetOf', () => {
    it('a recheck or retry of the same code has the same set; another patch set, branch tip or template does not', () => {
      const base = revisionSetOf(job());
      expect(revisionSetOf(job({ id: 'j2', attempt: 2 }))).to.equal(base);
      expect(revisionSetOf(job({ sources: [source({ revision: 'c2', mergeTarget: 'master', mergeTargetRevision: 'm1' })] }))).to.not.equal(base);
      expect(revisionSetOf(job({ sources: [source({ mergeTarget: 'master', mergeTargetRevision: 'm2' })] }))).to.not.equal(base);
      expect(revisionSetOf(job({ template: 'smoke' }))).to.not.equal(base);
    });

    it('every source counts, in any order', () => {
      const module = source({ kind: 'module', name: 'puppet-nova', revision: 'p1', changed: false });
      expect(revisionSetOf(job({ sources: [source(), module] }))).to.equal(revisionSetOf(job({ sources: [module, source()] })));
      expect(revisionSetOf(job({ sources: [source(), { ...module, revision: 'p2' }] }))).to.not.equal(revisionSetOf(job({ sources: [source(), module] })));
    });
  });

  it('a job’s test run sorts its cases by outcome; errors are failures; a rerun (or a runner’s flaky rerun) keeps both outcomes', () => {
    const r = testRunOf(job(), [
      { id: 'a', outcome: 'passed', durationMs: 1 },
      { id: 'b', outcome: 'error', durationMs: 1 },
      { id: 'c', outcome: 'skipped', durationMs: 1 },
      { id: 'd', outcome: 'failed', durationMs: 1 },
      { id: 'd', outcome: 'passed', durationMs: 1 },
      { id: 'e', outcome: 'flaky', durationMs: 1, message: 'passed on rerun' },
    ]);
    expect(r).to.deep.include({ jobId: 'j1', project: 'nova', template: 'full', kind: 'queue', finishedAt: '2026-11-21T10:05:00Z', passed: ['a', 'd', 'e'], failed: ['b', 'd', 'e'], skipped: ['c'] });
    expect([...flakyAmong([r]).keys()], 'a rerun within one job is flaky on its revision set').to.deep.equal(['d', 'e']);
    expect(r.revisionSet).to.equal(revisionSetOf(job()));
  });

  it('a test that both passed and failed among one revision set’s runs is flaky, with every run counted', () => {
    const runs = [run('j1', ['a', 'b'], ['c']), run('j2', ['a', 'c'], ['b']), run('j3', ['a'], ['b', 'c'])];
    expect(Object.fromEntries(flakyAmong(runs))).to.deep.equal({ b: { failed: 2, runs: 3 }, c: { failed: 2, runs: 3 } });
    expect(countsOf(runs, 'a')).to.deep.equal({ failed: 0, runs: 3 });
    expect(flakyAmong([run('j1', ['a'], ['b'])]).size).to.equal(0);
    expect(Object.fromEntries(flakyAmong([run('j1', ['d'], ['d'])]))).to.deep.equal({ d: { failed: 1, runs: 2 } });
  });

  it('the registry keeps each flaky test’s counts per revision set, recomputed from all its runs', () => {
    const registry: FlakyRegistry = { project: 'nova', tests: {} };
    expect(noteFlakyRuns(registry, run('j1', ['a'], ['b']), [run('j1', ['a'], ['b'])])).to.equal(false);
    const runs = [run('j1', ['a'], ['b']), run('j2', ['a', 'b'], [])];
    expect(noteFlakyRuns(registry, runs[1]!, runs)).to.equal(true);
    expect(registry.tests).to.deep.equal({ b: { R1: { template: 'full', failed: 1, runs: 2, lastSeen: '2026-11-21T10:02:00Z' } } });
    expect(noteFlakyRuns(registry, runs[1]!, runs), 'nothing new').to.equal(false);
    const other = [run('j4', [], ['b'], { revisionSet: 'R2', template: 'smoke' }), run('j5', ['b'], [], { revisionSet: 'R2', template: 'smoke' })];
    noteFlakyRuns(registry, other[1]!, other);
    expect(listFlaky(registry, new Date('2026-11-01T00:00:00Z'))).to.deep.equal([
      { project: 'nova', id: 'b', templates: ['full', 'smoke'], failed: 2, runs: 4, revisionSets: 2, lastSeen: '2026-11-21T10:05:00Z' },
    ]);
    expect(listFlaky(registry, new Date('2026-11-21T10:03:00Z'))[0]).to.include({ failed: 1, runs: 2, revisionSets: 1 });
    expect(listFlaky(registry, new Date('2026-11-22T00:00:00Z'))).to.deep.equal([]);
  });

  it('forgetting sightings before a cutoff drops old revision sets and tests left with none', () => {
    const registry: FlakyRegistry = {
      project: 'nova',
      tests: { a: { R1: { template: 't', failed: 1, runs: 2, lastSeen: '2026-01-01T00:00:00Z' } }, b: { R2: { template: 't', failed: 1, runs: 2, lastSeen: '2026-11-01T00:00:00Z' } } },
    };
    expect(forgetFlakyBefore(registry, new Date('2026-06-01T00:00:00Z'))).to.equal(true);
    expect(Object.keys(registry.tests)).to.deep.equal(['b']);
    expect(forgetFlakyBefore(registry, new Date('2026-06-01T00:00:00Z'))).to.equal(false);
  });
});
