import type { SkippedTest, TestSummary } from '../model.js';

export type TestOutcome = 'passed' | 'failed' | 'error' | 'skipped';

/** One test case as a results file reported it. */
export interface TestCaseResult {
  /** `classname.name` for JUnit, the test id for subunit. */
  id: string;
  outcome: TestOutcome;
  durationMs: number;
  /** Failure/error message, or the reason a test was skipped. */
  message?: string;
}

/** What one results file (or one suite) reported. */
export interface SuiteResults {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  durationMs: number;
  cases: TestCaseResult[];
}

/** The job-level roll-up stored on the Job and in summary.json. */
export interface ResultsRollup {
  summary: TestSummary;
  skipped: SkippedTest[];
  failedTests: string[];
}
