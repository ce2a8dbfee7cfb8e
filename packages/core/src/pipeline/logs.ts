import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { TRUNCATION_NOTE } from '../loghost/plan.js';
import { isFinished } from '../queue/jobs.js';
import { findJob } from '../queue/queue.js';
import type { Store } from '../store/types.js';
import { listStageLogs } from './stage-log.js';
import { sleep } from '../net/retry.js';

export interface JobLogs {
  job: string;
  dir: string;
  stages: Array<{ stage: string; file: string; text: string }>;
  /** What a log host's size limit cut from the job's directory (its TRUNCATED.txt), when it did. */
  truncated?: string;
}

/** The stage logs of a job (one stage with `stage`), as stored in jobs/<id>/logs. */
export async function readJobLogs(store: Store, id: string, stage?: string): Promise<JobLogs> {
  await findJob(store, id);
  const dir = store.jobDir(id);
  const all = listStageLogs(dir);
  const chosen = stage ? all.filter((l) => l.stage === stage) : all;
  if (stage && chosen.length === 0) {
    throw new UserError(`job ${id}: no log for stage "${stage}"`, { hint: all.length ? `stages with logs: ${all.map((l) => l.stage).join(', ')}` : 'the job has no logs yet' });
  }
  const stages = chosen.map((l) => ({ ...l, text: fs.readFileSync(l.file, 'utf8') }));
  const note = path.join(dir, TRUNCATION_NOTE);
  return { job: id, dir, stages, ...(fs.existsSync(note) ? { truncated: fs.readFileSync(note, 'utf8') } : {}) };
}

/**
 * Prints new log lines as they are written until the job finishes (or `signal` aborts), like
 * `tail -f` over every stage log of the job.
 */
export async function followJobLogs(
  store: Store,
  id: string,
  options: { stage?: string; onText: (stage: string, text: string) => void; pollMs?: number; signal?: AbortSignal },
): Promise<void> {
  const dir = store.jobDir(id);
  const offsets = new Map<string, number>();
  const drain = () => {
    for (const { stage, file } of listStageLogs(dir)) {
      if (options.stage && stage !== options.stage) continue;
      const size = fs.statSync(file).size;
      const from = offsets.get(file) ?? 0;
      if (size <= from) continue;
      const fd = fs.openSync(file, 'r');
      const buf = Buffer.alloc(size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      fs.closeSync(fd);
      // Only whole lines; the rest waits for the next poll.
      const text = buf.toString('utf8');
      const cut = text.lastIndexOf('\n') + 1;
      if (cut === 0) continue;
      offsets.set(file, from + Buffer.byteLength(text.slice(0, cut)));
      options.onText(stage, text.slice(0, cut));
    }
  };
  for (;;) {
    drain();
    const job = await findJob(store, id);
    if (isFinished(job.status) || options.signal?.aborted) {
      drain();
      return;
    }
    await sleep(options.pollMs ?? 500, options.signal);
  }
}

export function jobSummaryFile(store: Store, id: string): string {
  return path.join(store.jobDir(id), 'summary.json');
}
