import { expect } from 'chai';
import { skippedSuiteReport, suiteReportFrom } from '../../src/pipeline/suite-results.js';

const run = { name: 'smoke', host: 'web1', format: 'junit' as const, exitCode: 0, onSeveralHosts: false };

describe('pipeline/suite-results', () => {
  it('adds up the cases of every results file of a suite run', () => {
    const report = suiteReportFrom(run, [
      { file: 'hosts/web1/results/suite-0/1-a.xml', cases: [{ id: 'a.t1', outcome: 'passed', durationMs: 5 }], durationMs: 5 },
      { file: 'hosts/web1/results/suite-0/2-b.xml', cases: [{ id: 'b.t1', outcome: 'skipped', durationMs: 0, message: 'no libvirt' }], durationMs: 1 },
    ]);
    expect(report.results).to.deep.include({ tests: 2, failures: 0, skipped: 1, durationMs: 6 });
    expect(report.files).to.deep.equal(['hosts/web1/results/suite-0/1-a.xml', 'hosts/web1/results/suite-0/2-b.xml']);
  });

  it('a suite without results is itself the test: passed when it exited 0', () => {
    expect(suiteReportFrom(run, []).results.cases).to.deep.equal([{ id: 'smoke', outcome: 'passed', durationMs: 0 }]);
  });

  it('a failing command that no result explains fails as the suite itself', () => {
    const report = suiteReportFrom({ ...run, exitCode: 2 }, [{ file: 'r.xml', cases: [{ id: 't', outcome: 'passed', durationMs: 1 }], durationMs: 1 }]);
    expect(report.results.cases.map((c) => [c.id, c.outcome, c.message])).to.deep.equal([
      ['t', 'passed', undefined],
      ['smoke', 'failed', 'exited 2'],
    ]);
  });

  it('a suite that never reported an exit status did not run', () => {
    const { exitCode: _, ...noExit } = run;
    expect(suiteReportFrom(noExit, []).results.cases).to.deep.equal([{ id: 'smoke', outcome: 'failed', durationMs: 0, message: 'did not run' }]);
  });

  it('a results file that cannot be read is one error case naming the file', () => {
    const report = suiteReportFrom(run, [{ file: 'hosts/web1/results/suite-0/1-junit.xml', error: 'not XML' }]);
    expect(report.results.cases).to.deep.equal([{ id: 'smoke (1-junit.xml)', outcome: 'error', durationMs: 0, message: 'not XML' }]);
  });

  it('prefixes test ids with the host when the suite runs on several hosts', () => {
    const report = suiteReportFrom({ ...run, onSeveralHosts: true }, [{ file: 'r.xml', cases: [{ id: 't', outcome: 'passed', durationMs: 1 }], durationMs: 1 }]);
    expect(report.results.cases[0]!.id).to.equal('web1:t');
  });

  it('keeps what a suite printed outside any test (a subunit stream’s stray output) as the suite’s stdout', () => {
    const report = suiteReportFrom(run, [{ file: 'r.subunit', cases: [{ id: 't', outcome: 'passed', durationMs: 1 }], durationMs: 1, stdout: 'Ação concluída: ó\n' }]);
    expect(report.results.stdout).to.equal('Ação concluída: ó\n');
    expect(suiteReportFrom(run, []).results).to.not.have.property('stdout');
  });

  it('a suite the template skips is one skipped case with the reason', () => {
    expect(skippedSuiteReport({ name: 'libvirt', format: 'junit', skip: 'no libvirt on these hosts' }).results).to.deep.include({ tests: 1, skipped: 1 });
  });
});
