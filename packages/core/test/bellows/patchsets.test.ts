import { expect } from 'chai';
import { combinations } from '../../src/config/axes.js';
import { decideReport, formatReviewMessage } from '../../src/bellows/comment.js';
import { expectedJobs, jobsToQueue, latestByKey } from '../../src/bellows/patchsets.js';
import type { TemplatePolicy } from '../../src/bellows/settings.js';
import { planRecheck } from '../../src/bellows/stream.js';
import { applySyncPlan, planSync } from '../../src/bellows/sync.js';
import { keyOfJob } from '../../src/queue/jobs.js';
import { retryTransition } from '../../src/queue/transitions.js';
import type { StateData } from '../../src/store/schema.js';
import { NOW, TARGETS, WITHOUT_BASELINES, addJob, change, state } from './fixtures.js';

// nova runs smoke (two axes, one combination excluded) and full (no axes).
const MATRIX = combinations({ database: ['mysql', 'postgresql'], hypervisor: ['libvirt', 'qemu'] }, [{ database: 'mysql', hypervisor: 'qemu' }]);
const POLICIES: Record<string, TemplatePolicy> = {
  smoke: { autoApprove: true, maxInfraRetries: 1, configurations: MATRIX },
  full: { autoApprove: true, maxInfraRetries: 0 },
};
const opts = { targets: TARGETS, policies: POLICIES };
const PG_QEMU = { database: 'postgresql', hypervisor: 'qemu' };

function synced(patchSet = 1, fire = true): StateData {
  const s = state();
  applySyncPlan(s, planSync(s, [change(1, patchSet)], { ...opts, fire }, NOW), NOW);
  return s;
}

const config = (s: StateData) => s.configs['nova~1']!;
const jobs = (s: StateData) => Object.values(s.jobs);
const finishAll = (s: StateData, status: 'success' | 'test_failed' = 'success', only?: (key: string) => boolean) => {
  for (const job of jobs(s)) if (job.status === 'queued' && (!only || only(keyOfJob(job)))) job.status = status;
};

describe('bellows/patchsets: one job per template and combination of its axes', () => {
  it('a patch set needs each template once per combination not excluded, a template without axes once', () => {
    expect(expectedJobs({ templates: ['smoke', 'full'] }, POLICIES).map((e) => e.key)).to.deep.equal([
      'smoke [database=mysql, hypervisor=libvirt]',
      'smoke [database=postgresql, hypervisor=libvirt]',
      'smoke [database=postgresql, hypervisor=qemu]',
      'full',
    ]);
  });

  it('sync --fire queues one job per combination, each recording its axis values, and nothing more on a second run', () => {
    const s = synced();
    expect(jobs(s).map(keyOfJob)).to.deep.equal(expectedJobs(config(s), POLICIES).map((e) => e.key));
    expect(jobs(s).find((j) => j.template === 'full')!.configuration).to.equal(undefined);
    expect(jobs(s)[2]!.configuration).to.deep.equal(PG_QEMU);
    expect(jobsToQueue(s, config(s), POLICIES)).to.deep.equal([]);
  });

  it('the latest attempt is decided per combination, not per template', () => {
    const s = synced();
    const mysql = jobs(s)[0]!;
    const retry = addJob(s, 'nova', 1, 1, 'smoke', 'running', { configuration: { ...mysql.configuration! }, attempt: 2 });
    const latest = latestByKey(jobs(s));
    expect(latest.get(keyOfJob(mysql))!.id).to.equal(retry.id);
    expect(latest.get('smoke [database=postgresql, hypervisor=qemu]')!.id).to.equal(jobs(s)[2]!.id);
  });

  it('an infrastructure failure of one combination is retried for that combination only', () => {
    const s = synced();
    finishAll(s);
    jobs(s)[1]!.status = 'infra_failed';
    const retries = jobsToQueue(s, config(s), POLICIES);
    expect(retries.map((j) => [j.template, j.configuration, j.reason, j.attempt])).to.deep.equal([['smoke', { database: 'postgresql', hypervisor: 'libvirt' }, 'retry', 2]]);
  });

  it('a new patch set supersedes each combination’s job by the new job of the same combination', () => {
    const s = synced();
    const out = applySyncPlan(s, planSync(s, [change(1, 2)], { ...opts, fire: true }, NOW), NOW);
    expect(out.superseded).to.have.length(4);
    for (const id of out.superseded) {
      const old = s.jobs[id]!;
      expect(keyOfJob(s.jobs[old.supersededBy!]!), id).to.equal(keyOfJob(old));
      expect(s.jobs[old.supersededBy!]!.patchSet).to.equal(2);
    }
  });

  it('the vote waits for every combination and covers them all; the review line names each combination', () => {
    const s = synced();
    finishAll(s, 'success', (key) => !key.includes('qemu'));
    expect(decideReport(config(s), jobs(s), POLICIES, WITHOUT_BASELINES)).to.deep.include({ kind: 'wait', reason: `smoke [database=postgresql, hypervisor=qemu]: ${jobs(s)[2]!.id} is queued` });
    finishAll(s, 'test_failed');
    const decision = decideReport(config(s), jobs(s), POLICIES, WITHOUT_BASELINES);
    expect(decision).to.include({ kind: 'report', vote: -1 });
    if (decision.kind !== 'report') return;
    expect(decision.jobs.map(keyOfJob)).to.have.length(4);
    const message = formatReviewMessage(config(s), decision);
    expect(message).to.match(/^- smoke \[database=postgresql, hypervisor=qemu\] \S+ : TEST_FAILED in /m);
    expect(message).to.match(/^- smoke \[database=mysql, hypervisor=libvirt\] \S+ : SUCCESS in /m);
    expect(message).to.match(/^- full \S+ : SUCCESS in /m);
  });

  it('a recheck re-queues every combination that is not pending', () => {
    const s = synced();
    finishAll(s, 'success', (key) => key !== 'full');
    expect(planRecheck(s, 'nova~1', POLICIES).map(keyOfJob)).to.deep.equal([
      'smoke [database=mysql, hypervisor=libvirt]',
      'smoke [database=postgresql, hypervisor=libvirt]',
      'smoke [database=postgresql, hypervisor=qemu]',
    ]);
  });

  it('retrying a job re-runs its combination, and refuses while that combination has a job pending', () => {
    const s = synced();
    finishAll(s, 'success', (key) => key.includes('qemu'));
    const done = jobs(s)[2]!;
    const { job } = retryTransition(s, done.id, NOW);
    expect(job).to.deep.include({ template: 'smoke', configuration: PG_QEMU, attempt: 2, reason: 'retry' });
    // Another combination of the same template is still queued: that does not block this one.
    expect(() => retryTransition(s, done.id, NOW)).to.throw(/already queued for smoke \[database=postgresql, hypervisor=qemu\]/);
  });
});
