import type { SkippedTest, TestSummary } from '../model.js';

/** `flaky`: failed, then passed when the runner tried it again (Surefire's rerunFailingTestsCount). */
export type TestOutcome = 'passed' | 'failed' | 'error' | 'skipped' | 'flaky';

/** One test case as a results file reported it. */
export interface TestCaseResult {
  /** `classname.name` for JUnit, the test id for subunit. */
  id: string;
  outcome: TestOutcome;
  durationMs: number;
  /** Failure/error message, the reason a test was skipped, or the failure a flaky test overcame. */
  message?: string;
}

/** What one results file (or one suite) reported. */
export interface SuiteResults {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  /** Tests that passed only on a rerun (counted in `tests`, not in `failures`). */
  flaky: number;
  durationMs: number;
  cases: TestCaseResult[];
  /** Output of the run that belongs to no test (subunit: bytes between packets, `stdout` attachments). */
  stdout?: string;
}

/** The job-level roll-up stored on the Job and in summary.json. */
export interface ResultsRollup {
  summary: TestSummary;
  skipped: SkippedTest[];
  failedTests: string[];
  /** Tests that passed only on a rerun. */
  flakyTests: string[];
}
