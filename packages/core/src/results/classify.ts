import type { JobStatus } from '../model.js';

export const STAGES = ['provision', 'prepare', 'build', 'repo', 'configure', 'test', 'harvest', 'teardown'] as const;
export type StageName = (typeof STAGES)[number];

/** Why a stage failed: the code under test (build, test) or the machinery around it (infra). */
export type FailureKind = 'build' | 'test' | 'infra' | 'cancelled';

export interface StageOutcome {
  stage: StageName;
  status: 'passed' | 'failed' | 'skipped';
  kind?: FailureKind;
  message?: string;
  durationMs?: number;
}

export interface Classification {
  status: Exclude<JobStatus, 'queued' | 'running' | 'superseded'> | 'cancelled';
  message: string;
}

const BUILD_STAGES: readonly StageName[] = ['build', 'repo', 'configure'];

/**
 * Decides a job's status from its stage outcomes: the first failing stage decides; a failure in
 * build, repo or configure is `build_failed` unless it was infrastructure (lost SSH, timeout);
 * a failing or failure-reporting suite is `test_failed`. Teardown problems never change the verdict.
 */
export function classifyJob(stages: readonly StageOutcome[], results?: { failures: number; errors: number; failedTests?: string[] }): Classification {
  const decisive = stages.find((s) => s.status === 'failed' && s.stage !== 'teardown');
  if (decisive) {
    const message = `${decisive.stage}: ${decisive.message ?? 'failed'}`;
    if (decisive.kind === 'cancelled') return { status: 'cancelled', message };
    if (decisive.kind === 'infra' || decisive.stage === 'provision' || decisive.stage === 'prepare' || decisive.stage === 'harvest') {
      return { status: 'infra_failed', message };
    }
    if (BUILD_STAGES.includes(decisive.stage)) return { status: 'build_failed', message };
    return { status: 'test_failed', message };
  }
  if (results && results.failures + results.errors > 0) {
    const names = results.failedTests?.length ? `: ${results.failedTests.join(', ')}` : '';
    return { status: 'test_failed', message: `test: ${results.failures + results.errors} failing test(s)${names}` };
  }
  const teardown = stages.find((s) => s.stage === 'teardown' && s.status === 'failed');
  return { status: 'success', message: teardown ? `passed (teardown: ${teardown.message ?? 'failed'})` : 'passed' };
}
