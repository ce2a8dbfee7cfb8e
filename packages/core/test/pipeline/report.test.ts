import { expect } from 'chai';
import { emptySummary } from '../../src/model.js';
import { formatRunReport, sourceLine } from '../../src/pipeline/report.js';
import type { PipelineResult } from '../../src/pipeline/runner.js';

describe('pipeline/report', () => {
  it('names a source fetched from git by its ref and revision', () => {
    expect(sourceLine({ kind: 'build', name: 'nova', project: 'nova', url: 'u', ref: 'refs/changes/45/1045/2', revision: 'a1b2c3d4e5f6a7b8', changed: true })).to.equal(
      'Source nova: refs/changes/45/1045/2 at a1b2c3d4e5f6a7b8 (under test)',
    );
  });

  it('names a local checkout by its HEAD and how many uncommitted files went in, not by the throwaway commit', () => {
    const line = sourceLine({
      kind: 'build', name: 'demoapp', project: 'demoapp', url: '/src/demoapp', ref: 'HEAD', revision: '99887766554433221100', localPath: '/src/demoapp',
      localHead: '4f93853e9450aabbccdd', uncommitted: ['NOTES.sh (added)', 'etc/demoapp.conf (modified)'], changed: true,
    });
    expect(line).to.equal('Source demoapp: /src/demoapp at 4f93853e9450 with 2 uncommitted file(s), built as 998877665544 (under test)');
  });

  it('names a directory that is no checkout as shipped as it is', () => {
    expect(sourceLine({ kind: 'build', name: 'demoapp', project: 'demoapp', url: '/ex/demo-project', ref: 'HEAD', revision: 'abcdefabcdefabcdef', localPath: '/ex/demo-project', changed: false })).to.equal(
      'Source demoapp: the directory /ex/demo-project as it is, built as abcdefabcdef',
    );
  });

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
