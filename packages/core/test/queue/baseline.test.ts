import { expect } from 'chai';
import type { Job, JobSource } from '../../src/model.js';
import { BASELINE_CONFIG_ID, baselineBranches, baselineKey, baselineSpecFor, requestBaseline } from '../../src/queue/baseline.js';
import { claimNextJob, finishJobRecord, retryTransition, type JobResult } from '../../src/queue/transitions.js';
import { applyChanges, templateSources } from '../../src/pipeline/plan.js';
import { TemplateSchema } from '../../src/config/schema.js';
import { emptySummary } from '../../src/model.js';
import { NOW, addJob, state } from '../bellows/fixtures.js';

const SETTINGS = { enabled: true, maxAgeHours: 24 };
const later = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
const nova = (fields: Partial<JobSource> = {}): JobSource => ({
  kind: 'build', name: 'nova', project: 'nova', url: 'https://git.example.org/nova', ref: 'refs/changes/01/1/1', revision: 'c1', mergeTarget: 'master', mergeTargetRevision: 'm1', changed: true, ...fields,
});

function failing(s: ReturnType<typeof state>, fields: Partial<Job> = {}): Job {
  return addJob(s, 'nova', 1, 1, 'full', 'test_failed', { failedTests: ['nova.test_a'], sources: [nova()], startedAt: NOW.toISOString(), finishedAt: NOW.toISOString(), ...fields });
}

const result = (status: JobResult['status']): JobResult => ({ status, message: status, summary: emptySummary(), skipped: [], failedTests: [], sources: [], stages: [], timing: { wallMs: 0, remoteMs: 0, overheadMs: 0 } });

describe('queue/baseline', () => {
  it('a baseline runs each changed project at the branch revision the change was merged onto, never merged again', () => {
    const s = state();
    const spec = baselineSpecFor(failing(s), 'master')!;
    expect(spec).to.deep.equal({ key: 'full nova@master@m1', template: 'full', branch: 'master', projects: { nova: { url: 'https://git.example.org/nova', branch: 'master', revision: 'm1' } } });
    const branches = baselineBranches({ ...spec, requestedBy: 'j1' });
    expect(branches).to.deep.equal({ nova: { url: 'https://git.example.org/nova', ref: 'm1', mergeTarget: '' } });
    // The template's own mergeTarget does not come back either.
    const template = TemplateSchema.parse({ builds: [{ name: 'nova', url: 'x', mergeTarget: 'master' }] });
    const sources = applyChanges(templateSources(template), { branches });
    expect(sources[0]).to.include({ url: 'https://git.example.org/nova', ref: 'm1', changed: true }).and.not.have.property('mergeTarget');
  });

  it('without a merged branch revision (a module change, no mergeTarget) the baseline is the branch tip', () => {
    const s = state();
    const job = failing(s, { sources: [nova({ kind: 'module', mergeTarget: undefined, mergeTargetRevision: undefined }), nova({ name: 'keystone', project: 'keystone', changed: false })] });
    const spec = baselineSpecFor(job, 'stable/2026.1')!;
    expect(spec.projects).to.deep.equal({ nova: { url: 'https://git.example.org/nova', branch: 'stable/2026.1' } });
    expect(spec.key).to.equal('full nova@stable/2026.1@tip');
    expect(baselineBranches({ ...spec, requestedBy: 'j1' }).nova!.ref).to.equal('stable/2026.1');
    expect(baselineSpecFor(failing(s, { sources: [nova({ changed: false })] }), 'master'), 'nothing changed').to.equal(undefined);
    expect(baselineSpecFor(failing(s, { sources: [nova({ mergeTarget: 'refs/heads/master' })] }), 'x')!.branch).to.equal('master');
  });

  it('keys name template, projects, branches and revisions in a stable order', () => {
    const a = baselineKey({ template: 't', projects: { b: { url: '', branch: 'master', revision: '2' }, a: { url: '', branch: 'master' } } });
    const b = baselineKey({ template: 't', projects: { a: { url: '', branch: 'master' }, b: { url: '', branch: 'master', revision: '2' } } });
    expect(a).to.equal(b).and.to.equal('t a@master@tip b@master@2');
  });

  it('a failing change job gets a new baseline job: its own kind, no change, first in line for a worker', () => {
    const s = state();
    const other = addJob(s, 'nova', 2, 1, 'full', 'queued');
    const job = failing(s);
    const request = requestBaseline(s, job.id, SETTINGS, [], later(1));
    if (request.kind !== 'queued') throw new Error(`expected a queued baseline, got ${request.kind}`);
    expect(request.baseline).to.deep.include({ kind: 'baseline', configId: BASELINE_CONFIG_ID, project: 'nova', number: 0, patchSet: 0, revision: 'm1', template: 'full', status: 'queued' });
    expect(request.baseline.baseline!.requestedBy).to.equal(job.id);
    expect(s.jobs[job.id]!.comparedWith).to.equal(request.baseline.id);
    expect(s.baselines['full nova@master@m1']).to.deep.equal({ jobId: request.baseline.id, createdAt: later(1).toISOString() });
    expect(claimNextJob(s, 'w1', later(2))!.id, 'the review waits on the baseline').to.equal(request.baseline.id);
    expect(claimNextJob(s, 'w1', later(2))!.id).to.equal(other.id);
  });

  it('a baseline runs in its template\'s pool and per combination of axes: each combination is compared with its own baseline', () => {
    const s = state();
    const mysql = failing(s, { pool: 'libvirt', configuration: { database: 'mysql' } });
    const postgresql = failing(s, { pool: 'libvirt', configuration: { database: 'postgresql' } });
    const a = requestBaseline(s, mysql.id, SETTINGS, [], later(1));
    const b = requestBaseline(s, postgresql.id, SETTINGS, [], later(1));
    if (a.kind !== 'queued' || b.kind !== 'queued') throw new Error(`expected two queued baselines, got ${a.kind} and ${b.kind}`);
    expect(a.baseline).to.deep.include({ pool: 'libvirt', configuration: { database: 'mysql' } });
    expect(b.baseline).to.deep.include({ pool: 'libvirt', configuration: { database: 'postgresql' } });
    expect(s.jobs[mysql.id]!.comparedWith).to.equal(a.baseline.id);
    expect(s.jobs[postgresql.id]!.comparedWith).to.equal(b.baseline.id);
    expect(Object.keys(s.baselines).sort()).to.deep.equal(['full [database=mysql] nova@master@m1', 'full [database=postgresql] nova@master@m1']);
    // A worker of the default pool never takes them; one of the libvirt pool takes them first.
    expect(claimNextJob(s, 'w1', later(2), ['default'])).to.equal(undefined);
    expect(claimNextJob(s, 'w2', later(2), ['libvirt'])!.id).to.equal(a.baseline.id);
    // A retry after an infrastructure failure stays in the pool and the combination.
    const finished = finishJobRecord(s, a.baseline.id, result('infra_failed'), later(3), { maxInfraRetries: 2 });
    expect(finished.retry).to.deep.include({ kind: 'baseline', pool: 'libvirt', configuration: { database: 'mysql' } });
    expect(s.jobs[mysql.id]!.comparedWith).to.equal(finished.retry!.id);
  });

  it('a recent baseline of the same revision is reused; an old one, or one of another revision, is not', () => {
    const s = state();
    const first = failing(s);
    const queued = requestBaseline(s, first.id, SETTINGS, [], NOW);
    const second = failing(s, { number: 2, configId: 'nova~2' });
    expect(requestBaseline(s, second.id, SETTINGS, [], later(60))).to.deep.equal({ kind: 'reused', baselineId: (queued as { baseline: Job }).baseline.id });
    const moved = failing(s, { number: 3, configId: 'nova~3', sources: [nova({ mergeTargetRevision: 'm2' })] });
    expect(requestBaseline(s, moved.id, SETTINGS, [], later(60)).kind).to.equal('queued');
    const late = failing(s, { number: 4, configId: 'nova~4' });
    expect(requestBaseline(s, late.id, SETTINGS, [], later(25 * 60)).kind, 'older than maxAgeHours').to.equal('queued');
    expect(s.baselines['full nova@master@m1']!.createdAt, 'the old entry gave way to the new baseline').to.equal(later(25 * 60).toISOString());
    const m2 = failing(s, { number: 5, configId: 'nova~5', sources: [nova({ mergeTargetRevision: 'm2' })] });
    requestBaseline(s, m2.id, SETTINGS, [], later(26 * 60));
    expect(Object.keys(s.baselines).sort(), 'entries too old to reuse are forgotten').to.deep.equal(['full nova@master@m1', 'full nova@master@m2']);
    expect(s.baselines['full nova@master@m2']!.createdAt).to.equal(later(26 * 60).toISOString());
  });

  it('a tip baseline stands for a job only if it was queued after the job started; a cancelled one never', () => {
    const s = state();
    const module = { sources: [nova({ mergeTarget: undefined, mergeTargetRevision: undefined })] };
    const a = failing(s, module);
    const queued = requestBaseline(s, a.id, SETTINGS, [], NOW) as { baseline: Job };
    const b = failing(s, { ...module, number: 2, configId: 'nova~2', startedAt: later(5).toISOString() });
    expect(requestBaseline(s, b.id, SETTINGS, [], later(10)).kind, 'the branch may have moved since').to.equal('queued');
    const c = failing(s, { ...module, number: 3, configId: 'nova~3', startedAt: later(6).toISOString() });
    const fresh = requestBaseline(s, c.id, SETTINGS, [], later(11));
    expect(fresh.kind, 'queued after c started').to.equal('reused');
    expect(fresh).to.not.deep.equal({ kind: 'reused', baselineId: queued.baseline.id });
    s.jobs[(fresh as { baselineId: string }).baselineId]!.status = 'cancelled';
    const d = failing(s, { ...module, number: 4, configId: 'nova~4', startedAt: later(6).toISOString() });
    expect(requestBaseline(s, d.id, SETTINGS, [], later(12)).kind, 'a cancelled baseline stands for nothing').to.equal('queued');
  });

  it('no baseline when disabled, when every failure is quarantined, or for anything but a failing change job', () => {
    const s = state();
    expect(requestBaseline(s, failing(s).id, { ...SETTINGS, enabled: false }, [], NOW).kind).to.equal('none');
    expect(requestBaseline(s, failing(s).id, SETTINGS, [{ test: 'nova.*', reason: 'r', owner: 'o' }], NOW)).to.deep.equal({ kind: 'none', reason: 'every failure is quarantined' });
    expect(requestBaseline(s, addJob(s, 'nova', 1, 1, 'full', 'success', { sources: [nova()] }).id, SETTINGS, [], NOW).kind, 'a passing job never queues one').to.equal('none');
    expect(requestBaseline(s, addJob(s, 'nova', 1, 1, 'full', 'build_failed', { sources: [nova()] }).id, SETTINGS, [], NOW).kind).to.equal('none');
    expect(requestBaseline(s, failing(s, { kind: 'baseline' }).id, SETTINGS, [], NOW).kind).to.equal('none');
    expect(requestBaseline(s, 'j999', SETTINGS, [], NOW).kind).to.equal('none');
    expect(Object.values(s.jobs).filter((j) => j.configId === BASELINE_CONFIG_ID)).to.deep.equal([]);
  });

  it('a passing job is linked to a finished baseline of its revision, so a fix is called out, but never to one still running', () => {
    const s = state();
    const baseline = (requestBaseline(s, failing(s).id, SETTINGS, [], NOW) as { baseline: Job }).baseline;
    const passing = () => addJob(s, 'nova', 2, 1, 'full', 'success', { configId: 'nova~2', sources: [nova()], startedAt: NOW.toISOString() });
    const early = passing();
    expect(requestBaseline(s, early.id, SETTINGS, [], later(5)).kind, 'a passing job never waits for a baseline').to.equal('none');
    expect(s.jobs[early.id]!.comparedWith).to.equal(undefined);
    s.jobs[baseline.id]!.status = 'test_failed';
    const late = passing();
    expect(requestBaseline(s, late.id, SETTINGS, [], later(30))).to.deep.equal({ kind: 'reused', baselineId: baseline.id });
    expect(s.jobs[late.id]!.comparedWith).to.equal(baseline.id);
    const incomplete = addJob(s, 'nova', 3, 1, 'full', 'incomplete', { configId: 'nova~3', sources: [nova()] });
    expect(requestBaseline(s, incomplete.id, SETTINGS, [], later(31)).kind).to.equal('reused');
    expect(Object.values(s.jobs).filter((j) => j.kind === 'baseline'), 'no baseline queued for passing jobs').to.have.length(1);
  });

  it('a baseline retried after an infrastructure failure is still the baseline of the jobs waiting on it', () => {
    const s = state();
    const job = failing(s);
    const baseline = (requestBaseline(s, job.id, SETTINGS, [], NOW) as { baseline: Job }).baseline;
    Object.assign(s.jobs[baseline.id]!, { status: 'running', worker: 'w1' });
    const finished = finishJobRecord(s, baseline.id, result('infra_failed'), later(1), { maxInfraRetries: 1 });
    expect(finished.retry).to.deep.include({ kind: 'baseline', attempt: 2, retryOf: baseline.id });
    expect(finished.retry!.baseline).to.deep.equal(baseline.baseline);
    expect(s.jobs[job.id]!.comparedWith).to.equal(finished.retry!.id);
    expect(s.baselines[baseline.baseline!.key]!.jobId).to.equal(finished.retry!.id);
    s.jobs[finished.retry!.id]!.status = 'test_failed';
    const byHand = retryTransition(s, finished.retry!.id, later(2));
    expect(byHand.job).to.deep.include({ kind: 'baseline', attempt: 3, configId: BASELINE_CONFIG_ID });
    expect(s.jobs[job.id]!.comparedWith).to.equal(byHand.job.id);
  });
});
