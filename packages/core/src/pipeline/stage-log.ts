import fs from 'node:fs';
import path from 'node:path';
import { linePrefixer } from '../ssh/output.js';

/**
 * Stage logs of one job: `logs/<stage>.log`, one line per output line, prefixed with the host
 * (lines of hosts running in parallel never interleave mid-line). Secrets are masked on the way in.
 */
export class StageLogs {
  constructor(
    readonly dir: string,
    private readonly redact: (text: string) => string = (t) => t,
    private readonly now: () => Date = () => new Date(),
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  file(stage: string): string {
    return path.join(this.dir, `${stage}.log`);
  }

  line(stage: string, host: string, text: string): void {
    fs.appendFileSync(this.file(stage), `${this.now().toISOString()} ${host} | ${this.redact(text)}\n`);
  }

  /** Streams for one host's command output; call flush() when the command ends. */
  writer(stage: string, host: string, echo?: (line: string) => void): { out: (chunk: string) => void; err: (chunk: string) => void; flush: () => void } {
    const emit = (line: string) => {
      this.line(stage, host, line);
      echo?.(line);
    };
    const out = linePrefixer('', emit);
    const err = linePrefixer('', emit);
    return {
      out: out.push,
      err: err.push,
      flush: () => {
        out.flush();
        err.flush();
      },
    };
  }
}

/** Stage log files of a job directory, in pipeline order where known. */
export function listStageLogs(jobDir: string): Array<{ stage: string; file: string }> {
  const dir = path.join(jobDir, 'logs');
  if (!fs.existsSync(dir)) return [];
  const order = ['provision', 'prepare', 'build', 'repo', 'configure', 'test', 'harvest', 'teardown'];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => ({ stage: f.slice(0, -4), file: path.join(dir, f) }))
    .sort((a, b) => (order.indexOf(a.stage) + 99) % 99 - ((order.indexOf(b.stage) + 99) % 99) || a.stage.localeCompare(b.stage));
}
