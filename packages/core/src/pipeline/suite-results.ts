import { suiteFromCases } from '../results/summary.js';
import type { SuiteResults, TestCaseResult } from '../results/types.js';

export interface SuiteReport {
  name: string;
  host?: string;
  exitCode?: number;
  format: 'junit' | 'subunit';
  files: string[];
  results: SuiteResults;
  skipped?: string;
}

/** One results file of a suite run, as read: its cases, or why it could not be read. */
export type ResultsFile = { file: string; cases: TestCaseResult[]; durationMs: number; stdout?: string } | { file: string; error: string };

export interface SuiteRunFacts {
  name: string;
  host: string;
  format: 'junit' | 'subunit';
  exitCode?: number;
  /** The suite runs on several hosts: its test ids are prefixed with the host. */
  onSeveralHosts: boolean;
}

/**
 * A suite run's report from its results files (pure). A file that cannot be read is one error
 * case; a suite without results, or whose failing command no result explains, is itself the test.
 */
export function suiteReportFrom(run: SuiteRunFacts, files: readonly ResultsFile[]): SuiteReport {
  const cases: TestCaseResult[] = [];
  const stdout: string[] = [];
  let durationMs = 0;
  for (const f of files) {
    if ('error' in f) {
      cases.push({ id: `${run.name} (${baseName(f.file)})`, outcome: 'error', durationMs: 0, message: f.error });
      continue;
    }
    cases.push(...f.cases);
    durationMs += f.durationMs;
    if (f.stdout) stdout.push(f.stdout);
  }
  const failedCases = cases.some((c) => c.outcome === 'failed' || c.outcome === 'error');
  if (cases.length === 0 || (run.exitCode !== 0 && !failedCases)) {
    const outcome = run.exitCode === 0 ? 'passed' : 'failed';
    const message = run.exitCode === undefined ? 'did not run' : run.exitCode === 0 ? undefined : `exited ${run.exitCode}`;
    cases.push({ id: run.name, outcome, durationMs: 0, ...(message ? { message } : {}) });
  }
  const ids = run.onSeveralHosts ? cases.map((c) => ({ ...c, id: `${run.host}:${c.id}` })) : cases;
  return {
    name: run.name,
    host: run.host,
    ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
    format: run.format,
    files: files.map((f) => f.file),
    results: { ...suiteFromCases(ids, durationMs || undefined), ...(stdout.length ? { stdout: stdout.join('') } : {}) },
  };
}

/** The report of a suite the template skips (`skip: reason`): one skipped case naming why. */
export function skippedSuiteReport(suite: { name: string; format: 'junit' | 'subunit'; skip: string }): SuiteReport {
  return {
    name: suite.name,
    format: suite.format,
    files: [],
    skipped: suite.skip,
    results: suiteFromCases([{ id: suite.name, outcome: 'skipped', durationMs: 0, message: suite.skip }]),
  };
}

const baseName = (file: string): string => file.slice(file.lastIndexOf('/') + 1);
