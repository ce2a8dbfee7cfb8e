import { expect } from 'chai';
import { jobPageData } from '../../src/web/job-page.js';
import { statusWords } from '../../src/web/words.js';
import { DEFAULT_FAULT_SETTINGS, analyzeJob, emptyEvidence, pageVerdicts } from '../../src/bellows/fault.js';
import { revisionSetOf, testRunOf } from '../../src/results/history.js';
import type { Job } from '../../src/model.js';
import { FAILING, NOW, failedJob, job } from './fixtures.js';

const OLD_FAILURE = 'tempest.api.image.test_images.ImagesTest.test_upload';
const FLAKE = 'tempest.api.network.test_ports.PortsTest.test_create';

describe('web/job-page', () => {
  it('puts new failures apart from pre-existing and flaky ones, each with its message', () => {
    const record = { ...failedJob('j7'), failedTests: [FAILING, OLD_FAILURE] };
    const data = jobPageData({
      job: record,
      summary: {
        suites: [
          {
            name: 'tempest',
            results: {
              cases: [
                { id: FAILING, outcome: 'failed', durationMs: 1, message: 'server did not reboot' },
                { id: OLD_FAILURE, outcome: 'error', durationMs: 1, message: 'glance 500' },
                { id: FLAKE, outcome: 'flaky', durationMs: 1, message: 'port busy, passed when run again' },
              ],
            },
          },
        ],
      },
      verdicts: new Map([
        [FAILING, { verdict: 'new' as const }],
        [OLD_FAILURE, { verdict: 'pre-existing' as const, note: 'fails on master since 2026-11-20' }],
      ]),
      logs: [],
      files: [],
      links: {},
      now: NOW,
    });
    expect(data.tests.failedGroups.map((g) => [g.title, g.tests.map((t) => t.id)])).to.deep.equal([
      ['New failures', [FAILING]],
      ['Pre-existing failures', [OLD_FAILURE]],
    ]);
    expect(data.tests.failedGroups[1]!.tests[0]).to.deep.include({ outcome: 'error', message: 'glance 500', note: 'fails on master since 2026-11-20' });
    expect(data.tests.flaky).to.deep.equal([{ id: FLAKE, suite: 'tempest', message: 'port busy, passed when run again' }]);
  });

  it('shows the verdicts the review gives: new, pre-existing on the baseline, flaky on the same code', () => {
    const record: Job = { ...failedJob('j7'), status: 'test_failed', failedTests: [FAILING, OLD_FAILURE, FLAKE], comparedWith: 'b1' };
    const baseline: Job = { ...failedJob('b1'), kind: 'baseline', status: 'test_failed', revision: 'abc1234', failedTests: [OLD_FAILURE] };
    const evidence = emptyEvidence();
    evidence.baselines.set('b1', baseline);
    // A recheck of the same code on which FLAKE passed.
    const recheck = testRunOf({ ...record, id: 'j6' }, [{ id: FLAKE, outcome: 'passed', durationMs: 1 }]);
    evidence.runs.set(revisionSetOf(record), [recheck, testRunOf(record, [FAILING, OLD_FAILURE, FLAKE].map((id) => ({ id, outcome: 'failed' as const, durationMs: 1 })))]);
    const fault = analyzeJob(record, DEFAULT_FAULT_SETTINGS, evidence, NOW);
    const cases = [FAILING, OLD_FAILURE, FLAKE].map((id) => ({ id, outcome: 'failed' as const, durationMs: 1 }));
    const data = jobPageData({ job: record, summary: { suites: [{ name: 'tempest', results: { cases } }] }, verdicts: pageVerdicts(fault), logs: [], files: [], links: {}, now: NOW });
    expect(data.tests.failedGroups.map((g) => [g.title, g.tests.map((t) => t.id)])).to.deep.equal([
      ['New failures', [FAILING]],
      ['Pre-existing failures', [OLD_FAILURE]],
      ['Flaky failures', [FLAKE]],
    ]);
    expect(data.tests.failedGroups[1]!.tests[0]!.note).to.match(/also fails on .* — not caused by this change/);
    // The required test the fixture's template names did not run: the page lists it as required, by the job record's own field.
    expect(data.tests.skipped.required.map((t) => t.id)).to.deep.equal(record.requiredSkipped!.map((r) => r.id));
  });

  it('marks required tests that were skipped or never ran, apart from the others', () => {
    const record = { ...job('j1'), skipped: [{ id: 'a.required', reason: 'no network' }, { id: 'b.other', reason: 'no cinder' }], requiredSkipped: [{ id: 'a.required', reason: 'no network' }, { id: 'c.absent', pattern: 'c.*', reason: 'did not run' }] };
    const data = jobPageData({ job: record, logs: [], files: [], links: {}, now: NOW });
    expect(data.tests.skipped.required.map((t) => [t.id, t.requiredBy])).to.deep.equal([['a.required', 'a.required'], ['c.absent', 'c.*']]);
    expect(data.tests.skipped.others).to.deep.equal([{ id: 'b.other', reason: 'no cinder' }]);
  });

  it('says whose fault each finished status is', () => {
    expect(statusWords(job('j', { status: 'infra_failed', message: 'ssh lost' })).whose).to.match(/^Not the change's fault: the test machinery failed \(ssh lost\)/);
    expect(statusWords(job('j', { status: 'build_failed', message: 'dpkg-buildpackage failed' })).whose).to.equal("The change's fault: building, publishing or configuring it failed (dpkg-buildpackage failed).");
    expect(statusWords(job('j', { status: 'superseded', supersededBy: 'j9' })).whose).to.match(/^Nobody's fault: a newer patch set replaced this one \(job j9\)/);
  });
});
