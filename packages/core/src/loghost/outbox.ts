import fs from 'node:fs';
import path from 'node:path';
import type { OutboxEntry } from './plan.js';

/**
 * A worker's outbox: one small JSON file per job whose logs wait for the log host, beside the
 * job's directory in the worker's data directory. Written atomically, so a worker killed at any
 * moment leaves each entry whole or absent, and the next worker started there sends it.
 */
export class Outbox {
  constructor(readonly dir: string) {}

  private file(job: string): string {
    return path.join(this.dir, `${job}.json`);
  }

  put(entry: OutboxEntry): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file(entry.job)}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(entry)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file(entry.job));
  }

  remove(job: string): void {
    fs.rmSync(this.file(job), { force: true });
  }

  /** Every waiting entry, oldest first; a file that does not parse is skipped (and kept for a person to look at). */
  list(): OutboxEntry[] {
    if (!fs.existsSync(this.dir)) return [];
    const entries: OutboxEntry[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        entries.push(JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8')) as OutboxEntry);
      } catch {
        // half a file cannot exist (atomic rename); one edited by hand is left alone
      }
    }
    return entries.sort((a, b) => a.queuedAt.localeCompare(b.queuedAt));
  }
}

/** The outbox of a worker whose data directory is `dataDir`. */
export function outboxOf(dataDir: string): Outbox {
  return new Outbox(path.join(dataDir, 'outbox'));
}

/** Every file under `dir`, by its path relative to it (POSIX separators), with its size; symbolic links are not followed. */
export function listJobFiles(dir: string): Array<{ path: string; size: number }> {
  const out: Array<{ path: string; size: number }> = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out.push({ path: child, size: fs.statSync(path.join(dir, child)).size });
    }
  };
  if (fs.existsSync(dir)) walk('');
  return out;
}
