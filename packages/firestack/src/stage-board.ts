import type { Logger } from '@smokestack/core/log/logger';
import type { PipelineOptions } from '@smokestack/core/pipeline/job-run';
import type { StageName } from '@smokestack/core/results/classify';

export type StageDisplay = Pick<PipelineOptions, 'logger' | 'stageView' | 'echo'>;

/**
 * Runs a pipeline with its stages as a live task list on a TTY (each stage's latest log or
 * remote output line beneath it); elsewhere, and with --verbose, the runner's plain timestamped lines stay.
 */
export async function withStageBoard<T>(logger: Logger, stages: readonly StageName[], body: (display: StageDisplay) => Promise<T>): Promise<T> {
  const board = logger.board(stages);
  try {
    const live = board.live ? { logger: board.logger, stageView: board, echo: (_stage: StageName, host: string, line: string) => board.logger.info(`${host}: ${line}`) } : undefined;
    return await body(live ?? { logger });
  } finally {
    await board.close();
  }
}
