import { expect } from 'chai';
import { cutMarker, deliveryVerdict, planUpload, truncationNote, type OutboxEntry } from '../../src/loghost/plan.js';
import type { Job } from '../../src/model.js';

const MiB = 1024 * 1024;

describe('loghost plan: what of a job directory goes to the log host', () => {
  it('a job within the limit goes whole, with no note', () => {
    const files = [{ path: 'summary.json', size: 300 }, { path: 'logs/test.log', size: 5000 }];
    const plan = planUpload(files, MiB);
    expect(plan.send.map((f) => `${f.path}:${f.kind}`)).to.deep.equal(['summary.json:whole', 'logs/test.log:whole']);
    expect(plan.omitted).to.deep.equal([]);
    expect(truncationNote(plan, MiB, '/w/jobs/j1')).to.equal(undefined);
  });

  it('an oversize job keeps the summary and results whole, cuts the big log to head and tail, leaves artifacts out, and says so', () => {
    const files = [
      { path: 'packages/gw/demoapp_1.0_all.deb', size: 3 * MiB },
      { path: 'logs/test.log', size: 5 * MiB },
      { path: 'hosts/gw/results/suite-0/results.xml', size: 40_000 },
      { path: 'summary.json', size: 2000 },
      { path: 'logs/build.log', size: 100_000 },
      { path: 'scripts/test-gw.sh', size: 1200 },
    ];
    const plan = planUpload(files, MiB);
    expect(plan.sentBytes).to.be.at.most(MiB);
    const byPath = Object.fromEntries(plan.send.map((f) => [f.path, f]));
    expect(byPath['summary.json']!.kind).to.equal('whole');
    expect(byPath['hosts/gw/results/suite-0/results.xml']!.kind).to.equal('whole');
    expect(byPath['logs/build.log']!.kind).to.equal('whole');
    expect(byPath['scripts/test-gw.sh']!.kind, 'a small file after the big log still goes whole').to.equal('whole');
    const cut = byPath['logs/test.log']!;
    expect(cut.kind).to.equal('truncated');
    if (cut.kind !== 'truncated') return;
    expect(cut.tail).to.be.greaterThan(cut.head);
    expect(plan.omitted.map((f) => f.path)).to.deep.equal(['packages/gw/demoapp_1.0_all.deb']);
    const note = truncationNote(plan, MiB, '/w/jobs/j1')!;
    expect(note).to.match(/held 8\.1 MiB; the log host keeps at most 1\.0 MiB per job \(logHost\.maxJobMiB\)/);
    expect(note).to.contain('cut:     logs/test.log (5.0 MiB;').and.to.contain('omitted: packages/gw/demoapp_1.0_all.deb (3.0 MiB)');
    expect(cutMarker(cut, MiB)).to.match(/\[smokestack: \d+ bytes of test\.log left out here: the job's logs exceed the log host's limit of 1\.0 MiB/);
  });

  it('results are never cut, even when they alone exceed the limit: they are left out whole', () => {
    const plan = planUpload([{ path: 'hosts/gw/results/suite-0/big.xml', size: 2 * MiB }, { path: 'summary.json', size: 100 }], MiB);
    expect(plan.send.map((f) => f.path)).to.deep.equal(['summary.json']);
    expect(plan.omitted.map((f) => f.path)).to.deep.equal(['hosts/gw/results/suite-0/big.xml']);
  });
});

describe('loghost plan: whether waiting logs go now', () => {
  const entry: OutboxEntry = { job: 'j1', startedAt: '2026-01-01T10:00:00.000Z', worker: 'w1', queuedAt: '2026-01-01T10:05:00.000Z', attempts: 0, nextAt: '2026-01-01T10:05:00.000Z' };
  const job = (fields: Partial<Job>) => ({ id: 'j1', status: 'success', startedAt: entry.startedAt, ...fields }) as Job;

  it('the finished run that wrote them sends them', () => {
    expect(deliveryVerdict(entry, job({}))).to.deep.equal({ action: 'deliver' });
  });
  it('a run whose result is not recorded yet waits', () => {
    expect(deliveryVerdict(entry, job({ status: 'running' })).action).to.equal('wait');
  });
  it('a job taken back and run again elsewhere keeps that run\'s logs: this run\'s are dropped', () => {
    expect(deliveryVerdict(entry, job({ status: 'success', startedAt: '2026-01-01T11:00:00.000Z' })).action).to.equal('drop');
    expect(deliveryVerdict(entry, job({ status: 'queued', startedAt: undefined })).action).to.equal('drop');
  });
  it('a job pruned from the store meanwhile is dropped', () => {
    expect(deliveryVerdict(entry, undefined).action).to.equal('drop');
  });
});
