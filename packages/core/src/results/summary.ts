import { emptySummary } from '../model.js';
import type { ResultsRollup, SuiteResults, TestCaseResult } from './types.js';

/** Totals computed from the cases themselves (never trusting a file's own counters). */
export function suiteFromCases(cases: TestCaseResult[], durationMs?: number): SuiteResults {
  const count = (outcome: TestCaseResult['outcome']) => cases.filter((c) => c.outcome === outcome).length;
  return {
    tests: cases.length,
    failures: count('failed'),
    errors: count('error'),
    skipped: count('skipped'),
    flaky: count('flaky'),
    durationMs: durationMs ?? cases.reduce((sum, c) => sum + c.durationMs, 0),
    cases,
  };
}

/** Adds up several suites (named by `prefix` so ids stay unique across suites). */
export function rollUpResults(suites: Array<{ name?: string; results: SuiteResults }>): ResultsRollup {
  const summary = emptySummary();
  const skipped: ResultsRollup['skipped'] = [];
  const failedTests: string[] = [];
  const flakyTests: string[] = [];
  for (const { results } of suites) {
    summary.tests += results.tests;
    summary.failures += results.failures;
    summary.errors += results.errors;
    summary.skipped += results.skipped;
    summary.durationMs += results.durationMs;
    for (const c of results.cases) {
      if (c.outcome === 'skipped') skipped.push(c.message ? { id: c.id, reason: c.message } : { id: c.id });
      if (c.outcome === 'failed' || c.outcome === 'error') failedTests.push(c.id);
      if (c.outcome === 'flaky') flakyTests.push(c.id);
    }
  }
  return { summary, skipped, failedTests, flakyTests };
}
