import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { forgetFlakyBefore, listFlaky, noteFlakyRuns, type FlakyRegistry, type FlakyTest, type TestRun } from '../results/history.js';
import { acquireLock } from './lock.js';

const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Per-test history beside the JSON store, in its way: append-only and indexed by what is asked.
 * `tests/runs/<aa>/<hash>.ndjson` holds the runs of one revision set (one line per job), so
 * recording a job costs the job's own size and asking about a revision set reads only its runs;
 * `tests/flaky/<hash>.json` holds a project's flaky tests (few, bounded per test), rewritten
 * atomically when one changes. Nothing is rewritten as history grows.
 */
export class FileTestHistory {
  constructor(readonly dir: string) {}

  private runsFile(revisionSet: string): string {
    const hash = digest(revisionSet);
    return path.join(this.dir, 'runs', hash.slice(0, 2), `${hash.slice(2, 40)}.ndjson`);
  }

  private registryFile(project: string): string {
    return path.join(this.dir, 'flaky', `${digest(project).slice(0, 32)}.json`);
  }

  /** Appends the run to its revision set's file and notes tests that are now flaky there. */
  async record(run: TestRun): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const release = await acquireLock(path.join(this.dir, 'history'));
    try {
      const file = this.runsFile(run.revisionSet);
      const earlier = (await this.runsIn(file, run.revisionSet)).filter((r) => r.jobId !== run.jobId);
      await appendLine(file, JSON.stringify(run));
      const registry = this.readRegistry(run.project);
      if (noteFlakyRuns(registry, run, [...earlier, run])) writeJsonAtomically(this.registryFile(run.project), registry);
    } finally {
      release();
    }
  }

  async runsOf(revisionSet: string): Promise<TestRun[]> {
    return this.runsIn(this.runsFile(revisionSet), revisionSet);
  }

  /** The runs of one revision set in its file (see runsInText). */
  private async runsIn(file: string, revisionSet: string): Promise<TestRun[]> {
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return runsInText(text, (run) => run.revisionSet === revisionSet);
  }

  /** Every kept run, oldest first. */
  async all(): Promise<TestRun[]> {
    const runs = path.join(this.dir, 'runs');
    const out: TestRun[] = [];
    for (const shard of fs.existsSync(runs) ? fs.readdirSync(runs).sort() : []) {
      for (const name of fs.readdirSync(path.join(runs, shard)).sort()) {
        if (name.endsWith('.ndjson')) out.push(...runsInText(await fs.promises.readFile(path.join(runs, shard, name), 'utf8')));
      }
    }
    return out.sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt) || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  }

  async flaky(filter: { project?: string; since: Date }): Promise<FlakyTest[]> {
    const registries = filter.project ? [this.readRegistry(filter.project)] : this.allRegistries();
    return registries.flatMap((r) => listFlaky(r, filter.since));
  }

  /** Removes runs of revision sets last recorded before the cutoff, and flaky sightings older than it. */
  async prune(cutoff: Date): Promise<void> {
    if (!fs.existsSync(this.dir)) return;
    const release = await acquireLock(path.join(this.dir, 'history'));
    try {
      const runs = path.join(this.dir, 'runs');
      for (const shard of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
        for (const name of fs.readdirSync(path.join(runs, shard))) {
          const file = path.join(runs, shard, name);
          if (fs.statSync(file).mtimeMs < cutoff.getTime()) fs.rmSync(file, { force: true });
        }
      }
      for (const registry of this.allRegistries()) {
        if (forgetFlakyBefore(registry, cutoff)) writeJsonAtomically(this.registryFile(registry.project), registry);
      }
    } finally {
      release();
    }
  }

  private readRegistry(project: string): FlakyRegistry {
    try {
      const registry = JSON.parse(fs.readFileSync(this.registryFile(project), 'utf8')) as FlakyRegistry;
      if (registry.project === project && registry.tests) return registry;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    }
    return { project, tests: {} };
  }

  private allRegistries(): FlakyRegistry[] {
    const dir = path.join(this.dir, 'flaky');
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .flatMap((n) => {
        try {
          return [JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as FlakyRegistry];
        } catch {
          return [];
        }
      });
  }
}

/** The runs in a file's text that `keep` accepts: a torn last line (a writer killed mid-append) is skipped; a job recorded twice counts once. */
function runsInText(text: string, keep: (run: TestRun) => boolean = () => true): TestRun[] {
  const byJob = new Map<string, TestRun>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const run = JSON.parse(line) as TestRun;
      if (keep(run)) byJob.set(run.jobId, run);
    } catch {
      // a torn line: the writer died before it finished
    }
  }
  return [...byJob.values()];
}

/** Appends one line, first cutting off a torn line a killed writer left, and syncs it. */
async function appendLine(file: string, line: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const handle = await fs.promises.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    const { size } = await handle.stat();
    let end = size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) end = await lastNewlineEnd(handle, size);
      if (end !== size) await handle.truncate(end);
    }
    const text = Buffer.from(`${line}\n`);
    await handle.write(text, 0, text.length, end);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The offset just past the last newline of a file (0 when it has none). */
async function lastNewlineEnd(handle: fs.promises.FileHandle, size: number): Promise<number> {
  const buf = Buffer.alloc(size);
  await handle.read(buf, 0, size, 0);
  return buf.lastIndexOf(0x0a) + 1;
}

function writeJsonAtomically(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(value));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}
