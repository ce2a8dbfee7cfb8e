import { expect } from 'chai';
import { claimInState, decideReport, formatReviewMessage, planComment, truncateMessage, MAX_MESSAGE_BYTES, type ClaimRequest, type FaultContext } from '../../src/bellows/comment.js';
import { applySyncPlan, planSync } from '../../src/bellows/sync.js';
import type { StateData } from '../../src/store/schema.js';
import { NOW, POLICIES, TARGETS, WITHOUT_BASELINES, addJob, change, state } from './fixtures.js';
import { DEFAULT_FAULT_SETTINGS, emptyEvidence } from '../../src/bellows/fault.js';

function withConfig(patchSet = 1): StateData {
  const s = state();
  applySyncPlan(s, planSync(s, [change(1, patchSet)], { targets: TARGETS, policies: POLICIES }, NOW), NOW);
  return s;
}

const jobsOf = (s: StateData) => Object.values(s.jobs);

describe('bellows/comment', () => {
  describe('decideReport', () => {
    it('votes +1 when every template succeeded', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'success');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES)).to.include({ kind: 'report', vote: 1 });
    });

    it('votes -1 on a build or test failure', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'test_failed');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES)).to.include({ kind: 'report', vote: -1 });
    });

    it('waits while anything is queued, running or not yet there', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES)).to.deep.equal({ kind: 'wait', reason: 'full: no job yet' });
      const running = addJob(s, 'nova', 1, 1, 'full', 'running');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES)).to.deep.equal({ kind: 'wait', reason: `full: ${running.id} is running` });
    });

    it('judges by the latest attempt of each template', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'test_failed', { attempt: 1 });
      addJob(s, 'nova', 1, 1, 'smoke', 'success', { attempt: 2 });
      addJob(s, 'nova', 1, 1, 'full', 'success');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES)).to.include({ kind: 'report', vote: 1 });
    });

    it('never votes on an infrastructure failure: waits for the retry, then reports without a label', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'infra_failed', { attempt: 1 });
      addJob(s, 'nova', 1, 1, 'full', 'success');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES).kind).to.equal('wait');
      addJob(s, 'nova', 1, 1, 'smoke', 'infra_failed', { attempt: 3 });
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES)).to.include({ kind: 'report', vote: null });
    });

    it('a failure of a template without autoApprove waits for approval, then votes -1', () => {
      const s = withConfig();
      const policies = { ...POLICIES, full: { autoApprove: false, maxInfraRetries: 0 } };
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      const failed = addJob(s, 'nova', 1, 1, 'full', 'build_failed');
      const waiting = decideReport(s.configs['nova~1']!, jobsOf(s), policies, WITHOUT_BASELINES);
      expect(waiting).to.deep.equal({ kind: 'wait', reason: `full: ${failed.id} failed and awaits "bellows jobs approve ${failed.id}"` });
      failed.approvedBy = 'carol';
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), policies, WITHOUT_BASELINES)).to.include({ kind: 'report', vote: -1 });
    });

    it('a patch set that cannot be tested for a Depends-On problem is reported at once in one line, without a vote', () => {
      const s = withConfig();
      s.configs['nova~1']!.dependencyProblem = 'Depends-On glance 20 (Quota API) is abandoned';
      const decision = decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES);
      expect(decision).to.deep.equal({ kind: 'report', vote: null, jobs: [], faults: [], problem: 'Depends-On glance 20 (Quota API) is abandoned' });
      if (decision.kind !== 'report') return;
      expect(formatReviewMessage(s.configs['nova~1']!, decision)).to.equal('SmokeStack: cannot test patch set 1, no vote: Depends-On glance 20 (Quota API) is abandoned.');
    });

    it('waits on a job that tested an older patch set of a change it depends on', () => {
      const s = withConfig();
      const glance = { project: 'glance', number: 20, branch: 'master', status: 'NEW' as const, patchSet: 2, revision: 'r', ref: 'x', url: 'u' };
      s.configs['nova~1']!.dependencies = [glance];
      addJob(s, 'nova', 1, 1, 'smoke', 'success', { dependencies: [glance] });
      const stale = addJob(s, 'nova', 1, 1, 'full', 'success', { dependencies: [{ ...glance, patchSet: 1 }] });
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES)).to.deep.equal({ kind: 'wait', reason: `full: ${stale.id} tested an older patch set of Depends-On glance 20` });
    });

    it('ignores jobs of other patch sets', () => {
      const s = withConfig(2);
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'success');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES).kind).to.equal('wait');
    });
  });

  describe('planComment', () => {
    it('skips patch sets that already have a Vote record', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'success');
      expect(planComment(s, TARGETS, POLICIES, WITHOUT_BASELINES).map((i) => i.key)).to.deep.equal(['nova~1~1']);
      s.votes['nova~1~1'] = { project: 'nova', number: 1, patchSet: 1, revision: 'rev-1-1', vote: 1, message: '', postedAt: NOW.toISOString() };
      expect(planComment(s, TARGETS, POLICIES, WITHOUT_BASELINES)).to.deep.equal([]);
    });

    it('plans again a patch set whose record is an unfinished intent (a run stopped while posting)', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'success');
      s.votes['nova~1~1'] = { project: 'nova', number: 1, patchSet: 1, revision: 'rev-1-1', vote: 1, message: '', postedAt: NOW.toISOString(), intent: { knownReviews: [] } };
      expect(planComment(s, TARGETS, POLICIES, WITHOUT_BASELINES).map((i) => i.key)).to.deep.equal(['nova~1~1']);
    });
  });

  describe('claimInState', () => {
    const request = (s: StateData, fields: Partial<ClaimRequest> = {}): ClaimRequest => ({
      key: 'nova~1~1',
      config: structuredClone(s.configs['nova~1']!),
      policies: POLICIES,
      fault: WITHOUT_BASELINES,
      claimant: { pid: 7, host: 'ci1', at: NOW.toISOString() },
      knownReviews: ['m1'],
      label: 'Verified',
      message: {},
      isAlive: () => true,
      ...fields,
    });

    it('records the intent with the vote and message it is about to post', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'test_failed');
      const claim = claimInState(s, request(s), NOW);
      expect(claim.kind).to.equal('claimed');
      expect(s.votes['nova~1~1']).to.deep.include({ vote: -1, label: 'Verified', intent: { claimant: { pid: 7, host: 'ci1', at: NOW.toISOString() }, knownReviews: ['m1'] } });
      expect(s.votes['nova~1~1']!.message).to.match(/^SmokeStack: build failed for patch set 1\./);
      expect(claimInState(s, request(s, { claimant: { pid: 8, host: 'ci1', at: NOW.toISOString() } }), NOW)).to.deep.include({ kind: 'busy' });
    });

    it('decides again on the stored jobs: a retry queued since the plan was read makes it wait', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      const failed = addJob(s, 'nova', 1, 1, 'full', 'test_failed');
      const stale = request(s);
      const retry = addJob(s, 'nova', 1, 1, 'full', 'queued', { attempt: 2, retryOf: failed.id });
      expect(claimInState(s, stale, NOW)).to.deep.equal({ kind: 'changed', reason: `full: ${retry.id} is queued` });
      expect(s.votes).to.deep.equal({});
    });

    it('never claims for a patch set that is no longer the config’s', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'success');
      const stale = request(s);
      applySyncPlan(s, planSync(s, [change(1, 2)], { targets: TARGETS, policies: POLICIES }, NOW), NOW);
      expect(claimInState(s, stale, NOW).kind).to.equal('changed');
    });
  });

  describe('formatReviewMessage', () => {
    it('writes a header and one Zuul-like line per template, naming skipped tests and why', () => {
      const s = withConfig();
      const smoke = addJob(s, 'nova', 1, 1, 'smoke', 'success', {
        summary: { tests: 120, failures: 0, errors: 0, skipped: 2, durationMs: 723_000 },
        skipped: [{ id: 'tests.test_libvirt' }, { id: 'tests.test_xen', reason: 'no xen' }],
      });
      const full = addJob(s, 'nova', 1, 1, 'full', 'test_failed', {
        summary: { tests: 10, failures: 2, errors: 1, skipped: 0, durationMs: 0 },
        startedAt: '2026-11-21T10:00:00Z',
        finishedAt: '2026-11-21T10:01:05Z',
        message: '3 tests failed\nmore detail',
      });
      const decision = decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES);
      if (decision.kind !== 'report') throw new Error('expected a report');
      const text = formatReviewMessage(s.configs['nova~1']!, decision, { logsUrl: 'https://logs.example.org/smokestack/' });
      expect(text.split('\n')).to.deep.equal([
        'SmokeStack: build failed for patch set 1.',
        '',
        `- smoke https://logs.example.org/smokestack/${smoke.id}/ : SUCCESS in 12m 3s (120 tests, 0 failures, 2 skipped)`,
        '  skipped tests: tests.test_libvirt, tests.test_xen (no xen)',
        `- full https://logs.example.org/smokestack/${full.id}/ : TEST_FAILED in 1m 5s (10 tests, 3 failures, 0 skipped)`,
        '  3 tests failed',
      ]);
      const local = formatReviewMessage(s.configs['nova~1']!, decision, { jobsDir: '/var/lib/smokestack/jobs' });
      expect(local).to.include(`- smoke /var/lib/smokestack/jobs/${smoke.id} : SUCCESS`);
    });

    it('links each job to its page at the pages\' public URL, else says where the page is on the control host', () => {
      const s = withConfig();
      const smoke = addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'success');
      const decision = decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, WITHOUT_BASELINES);
      if (decision.kind !== 'report') throw new Error('expected a report');
      const served = formatReviewMessage(s.configs['nova~1']!, decision, {
        web: { dir: '/var/lib/smokestack/web', url: 'https://ci.example.org/smokestack' },
        logsUrl: 'https://logs.example.org/smokestack/',
        jobsDir: '/var/lib/smokestack/jobs',
      });
      expect(served).to.include(`- smoke https://ci.example.org/smokestack/jobs/${smoke.id}/ : SUCCESS`);
      const unserved = formatReviewMessage(s.configs['nova~1']!, decision, { web: { dir: '/var/lib/smokestack/web' }, jobsDir: '/var/lib/smokestack/jobs' });
      expect(unserved).to.include(`- smoke /var/lib/smokestack/web/jobs/${smoke.id}/index.html : SUCCESS`);
      const published = formatReviewMessage(s.configs['nova~1']!, decision, { web: { dir: '/var/lib/smokestack/web' }, logsUrl: 'https://logs.example.org/smokestack/' });
      expect(published).to.include(`- smoke https://logs.example.org/smokestack/${smoke.id}/ : SUCCESS`);
    });

    it('cuts messages to 16 KB at a line boundary', () => {
      const long = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'é'.repeat(10)}`).join('\n');
      const cut = truncateMessage(long);
      expect(Buffer.byteLength(cut)).to.be.at.most(MAX_MESSAGE_BYTES);
      expect(cut.endsWith('(message truncated)')).to.equal(true);
      expect(truncateMessage('short')).to.equal('short');
      const oneLine = truncateMessage('é'.repeat(20_000), 100);
      expect(Buffer.byteLength(oneLine)).to.be.at.most(100);
      expect(oneLine).to.not.include('\uFFFD');
    });
  });

  describe('whose fault a failure is', () => {
    const fault = (evidence = emptyEvidence(), now = NOW): FaultContext => ({ settings: DEFAULT_FAULT_SETTINGS, evidence, now });
    const source = { kind: 'build' as const, name: 'nova', project: 'nova', url: 'u', ref: 'r', revision: 'c1', mergeTarget: 'master', mergeTargetRevision: 'abc1234def', changed: true };
    function failingWithBaseline(s: StateData, baselineStatus: 'running' | 'test_failed') {
      const baseline = addJob(s, 'nova', 0, 0, 'full', baselineStatus, {
        kind: 'baseline', configId: 'baseline', failedTests: ['nova.test_x'], sources: [{ ...source, revision: 'abc1234def' }],
        baseline: { key: 'k', template: 'full', branch: 'master', projects: {}, requestedBy: 'j2' },
      });
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      const job = addJob(s, 'nova', 1, 1, 'full', 'test_failed', { failedTests: ['nova.test_x'], sources: [source], comparedWith: baseline.id, finishedAt: NOW.toISOString(), message: '1 failing test(s): nova.test_x' });
      const evidence = emptyEvidence();
      evidence.baselines.set(baseline.id, baseline);
      return { job, baseline, evidence };
    }

    it('the review waits for the baseline, and its jobs of baseline kind never count as the change’s', () => {
      const s = withConfig();
      const { job, baseline, evidence } = failingWithBaseline(s, 'running');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, fault(evidence))).to.deep.equal({ kind: 'wait', reason: `full: ${job.id} waits for its baseline (baseline ${baseline.id} on master is running)` });
      expect(planComment(s, TARGETS, POLICIES, fault(evidence)).map((i) => i.key), 'a baseline is never reported').to.deep.equal(['nova~1~1']);
    });

    it('a failure master has too: +1, and the review says it is not this change’s', () => {
      const s = withConfig();
      const { job, baseline, evidence } = failingWithBaseline(s, 'test_failed');
      const decision = decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, fault(evidence));
      if (decision.kind !== 'report') throw new Error(decision.reason);
      expect(decision.vote).to.equal(1);
      const lines = formatReviewMessage(s.configs['nova~1']!, decision, { logsUrl: 'https://logs.example.org' }).split('\n');
      expect(lines).to.deep.equal([
        'SmokeStack: build succeeded for patch set 1: no new test failures (the failures below are not caused by this change).',
        '',
        `- smoke https://logs.example.org/${s.jobs['j2']!.id}/ : SUCCESS in 0s (0 tests, 0 failures, 0 skipped)`,
        `- full https://logs.example.org/${job.id}/ : TEST_FAILED in 0s (0 tests, 0 failures, 0 skipped)`,
        '  nova.test_x also fails on master at abc1234 — not caused by this change',
        `  compared with baseline ${baseline.id} (master at abc1234)`,
      ]);
    });

    it('after baseline.waitMinutes the review goes out without the comparison, says so, and gives no vote', () => {
      const s = withConfig();
      const { evidence } = failingWithBaseline(s, 'running');
      const decision = decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, fault(evidence, new Date(NOW.getTime() + 61 * 60_000)));
      if (decision.kind !== 'report') throw new Error(decision.reason);
      expect(decision.vote).to.equal(null);
      const text = formatReviewMessage(s.configs['nova~1']!, decision);
      expect(text.split('\n')[0]).to.equal('SmokeStack: test failures could not be compared with the target branch for patch set 1: no vote.');
      expect(text).to.include("  nova.test_x — failed; not compared with the target branch, so it may not be this change's\n");
      expect(text).to.match(/reported without a baseline comparison: baseline j\d+ on master did not finish within 60 minutes/);
    });

    it('a required test that did not run: no label, and the review says which, why and which template needs it', () => {
      const s = withConfig();
      addJob(s, 'nova', 1, 1, 'smoke', 'success');
      addJob(s, 'nova', 1, 1, 'full', 'incomplete', {
        skipped: [{ id: 'nova.test_libvirt', reason: 'libvirt not available' }, { id: 'nova.test_xen', reason: 'no xen' }],
        requiredSkipped: [{ id: 'nova.test_libvirt', pattern: '*libvirt*', reason: 'libvirt not available', template: 'full' }],
        message: '1 required test(s) did not run: nova.test_libvirt (libvirt not available)',
      });
      const decision = decideReport(s.configs['nova~1']!, jobsOf(s), POLICIES, fault());
      if (decision.kind !== 'report') throw new Error(decision.reason);
      expect(decision.vote).to.equal(null);
      const text = formatReviewMessage(s.configs['nova~1']!, decision);
      expect(text.split('\n')[0]).to.equal('SmokeStack: tests required by template full did not run for patch set 1: no vote.');
      expect(text).to.include('  nova.test_libvirt — skipped: libvirt not available — required by template full\n  skipped tests: nova.test_xen (no xen)');
    });

    it('a template without autoApprove waits for approval only when it would vote -1', () => {
      const s = withConfig();
      const policies = { ...POLICIES, full: { autoApprove: false, maxInfraRetries: 0 } };
      const { evidence } = failingWithBaseline(s, 'test_failed');
      expect(decideReport(s.configs['nova~1']!, jobsOf(s), policies, fault(evidence))).to.include({ kind: 'report', vote: 1 });
    });
  });
});
