import { expect } from 'chai';
import { emptyState } from '../../src/store/schema.js';
import { enqueueJob } from '../../src/queue/jobs.js';
import { claimNextJob, finishJobRecord, heartbeatJob, requeueTakenJob, takeStaleJobs } from '../../src/queue/transitions.js';
import type { PipelineResult } from '../../src/pipeline/runner.js';
import { emptySummary } from '../../src/model.js';

const T0 = new Date('2024-05-01T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function state() {
  const s = emptyState();
  for (let i = 0; i < 3; i++) enqueueJob(s, { configId: 'c1', project: 'demoapp', number: 7, patchSet: i + 1, revision: `r${i}`, template: 'demo' }, at(i));
  return s;
}

const result = (status: PipelineResult['status'], message = status): PipelineResult => ({
  jobId: 'j1', template: 'demo', status, message, stages: [], summary: emptySummary(), skipped: [], failedTests: [], suites: [],
  sources: [{ kind: 'build', name: 'demoapp', project: 'demoapp', url: 'u', ref: 'r', revision: 'abc', changed: true }],
  kept: false, logDir: '/x', timing: { wallMs: 10, remoteMs: 8, overheadMs: 2 },
});

describe('queue/transitions (the job state machine)', () => {
  it('claims the oldest queued job, once', () => {
    const s = state();
    expect(claimNextJob(s, 'w1', at(10))).to.include({ id: 'j1', status: 'running', worker: 'w1', heartbeatAt: at(10).toISOString() });
    expect(claimNextJob(s, 'w2', at(11))!.id).to.equal('j2');
    expect(s.jobs.j1!.worker).to.equal('w1');
  });

  it('takes back running jobs whose heartbeat is stale, and only those; they are queued again once the recoverer has cleaned up', () => {
    const s = state();
    claimNextJob(s, 'dead', at(10));
    claimNextJob(s, 'alive', at(10));
    heartbeatJob(s, 'j2', 'alive', at(55));
    const recovered = takeStaleJobs(s, at(71), 60_000, 'rescuer');
    expect(recovered.map((j) => [j.id, j.worker])).to.deep.equal([['j1', 'dead']]);
    // Held by the recoverer while it cleans up: no other worker claims or takes it meanwhile.
    expect(s.jobs.j1).to.include({ status: 'running', worker: 'rescuer' });
    expect(takeStaleJobs(s, at(72), 60_000, 'other')).to.deep.equal([]);
    expect(claimNextJob(s, 'w3', at(72))!.id).to.equal('j3');
    expect(requeueTakenJob(s, 'j1', 'other')).to.equal(false);
    expect(requeueTakenJob(s, 'j1', 'rescuer')).to.equal(true);
    expect(s.jobs.j1).to.include({ status: 'queued' });
    expect(s.jobs.j1!.worker).to.equal(undefined);
    expect(s.jobs.j1!.message).to.match(/worker dead stopped sending heartbeats/);
    expect(s.jobs.j2!.status).to.equal('running');
  });

  it('never requeues an ad-hoc run: it belongs to the firestack run that started it, which sends no heartbeats', () => {
    const s = state();
    const run = enqueueJob(s, { configId: 'adhoc', project: 'demoapp', number: 0, patchSet: 0, revision: '', template: 'demo', reason: 'manual' }, at(0));
    Object.assign(run, { kind: 'adhoc', status: 'running', startedAt: at(0).toISOString(), worker: 'cli:4242' });
    expect(takeStaleJobs(s, at(3600), 60_000, 'rescuer')).to.deep.equal([]);
    expect(s.jobs[run.id]).to.include({ status: 'running', worker: 'cli:4242' });
    expect(claimNextJob(s, 'w', at(3600))!.id).to.equal('j1');
  });

  it('reports a stop request through the heartbeat', () => {
    const s = state();
    claimNextJob(s, 'w', at(1));
    s.jobs.j1!.status = 'superseded';
    expect(heartbeatJob(s, 'j1', 'w', at(2))).to.equal('superseded');
  });

  it('retries infra_failed as a new attempt up to the limit, keeping the first record', () => {
    const s = state();
    claimNextJob(s, 'w', at(10));
    const first = finishJobRecord(s, 'j1', result('infra_failed', 'test: host2: SSH connection lost'), at(20), { maxInfraRetries: 1 });
    expect(first.retry).to.include({ id: 'j4', attempt: 2, retryOf: 'j1', reason: 'retry', status: 'queued', patchSet: 1 });
    expect(s.jobs.j1).to.include({ status: 'infra_failed' });
    expect(s.jobs.j1!.message).to.match(/retrying as j4, attempt 2/);
    s.jobs.j4!.status = 'running';
    const second = finishJobRecord(s, 'j4', result('infra_failed'), at(30), { maxInfraRetries: 1 });
    expect(second.retry).to.equal(undefined);
    expect(finishJobRecord(s, 'j2', result('infra_failed'), at(30), { maxInfraRetries: 3, noRetry: true }).retry).to.equal(undefined);
  });

  it('keeps superseded/cancelled set by bellows, and requeues a run stopped by a worker shutdown', () => {
    const s = state();
    claimNextJob(s, 'w', at(1));
    s.jobs.j1!.status = 'superseded';
    expect(finishJobRecord(s, 'j1', result('cancelled', 'stopped: superseded'), at(2), { maxInfraRetries: 2 }).job).to.include({ status: 'superseded' });
    claimNextJob(s, 'w', at(3));
    const out = finishJobRecord(s, 'j2', result('cancelled', 'stopped: worker shutting down'), at(4), { maxInfraRetries: 2 });
    expect(out.requeued).to.equal(true);
    expect(s.jobs.j2).to.include({ status: 'queued', attempt: 1 });
  });

  it('records the result: summary, sources with revisions, timing', () => {
    const s = state();
    claimNextJob(s, 'w', at(1));
    const { job } = finishJobRecord(s, 'j1', result('success', 'passed'), at(2), { maxInfraRetries: 2 });
    expect(job).to.include({ status: 'success', message: 'passed', logDir: 'jobs/j1', finishedAt: at(2).toISOString() });
    expect(job.sources![0]!.revision).to.equal('abc');
    expect(job.timing).to.deep.equal({ wallMs: 10, remoteMs: 8, overheadMs: 2 });
  });
});
