import { expect } from 'chai';
import { emptySummary } from '../../src/model.js';
import { formatRunReport } from '../../src/pipeline/report.js';
import type { PipelineResult } from '../../src/pipeline/runner.js';

describe('pipeline/report: the summary of a firestack run', () => {
  it('names required tests that did not run apart from ordinary skips', () => {
    const result: PipelineResult = {
      jobId: 'j1', template: 'nova-gate', status: 'incomplete', message: '1 required test(s) did not run: nova.test_libvirt (libvirt not available)',
      stages: [], summary: { ...emptySummary(), tests: 3, skipped: 2 }, failedTests: [], suites: [], sources: [], kept: false, logDir: '/tmp/j1',
      skipped: [{ id: 'nova.test_libvirt', reason: 'libvirt not available' }, { id: 'nova.test_xen', reason: 'no xen' }],
      requiredSkipped: [{ id: 'nova.test_libvirt', pattern: '*libvirt*', reason: 'libvirt not available', template: 'nova-gate' }],
      timing: { wallMs: 1000, remoteMs: 800, overheadMs: 200 },
    };
    const lines = formatRunReport(result);
    expect(lines[0]).to.equal('Job j1 (nova-gate): incomplete — 1 required test(s) did not run: nova.test_libvirt (libvirt not available)');
    expect(lines).to.include('  required, did not run: nova.test_libvirt — skipped: libvirt not available — required by template nova-gate');
    expect(lines).to.include('  skipped: nova.test_xen (no xen)');
    expect(lines.filter((l) => l.includes('nova.test_libvirt'))).to.have.length(2);
  });
});
