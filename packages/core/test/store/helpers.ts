import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Job, Store } from '@smokestack/core';

const updater = fileURLToPath(new URL('./fixtures/updater.mjs', import.meta.url));

interface Child {
  acked: number[];
  done: Promise<number | null>;
  kill(): void;
  /** Throws (with the updater's stderr) once the updater has exited with an error: a waiting test fails at once, saying why. */
  alive(): true;
}

export function runUpdater(file: string, prefix: string, count: number, delayMs = 0, mode = 'sync'): Child {
  const child = spawn(process.execPath, [updater, file, prefix, String(count), String(delayMs), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: number[] = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const match = /^ack (\d+)$/.exec(line);
      if (match) acked.push(Number(match[1]));
    }
  });
  let stderr = '';
  let failure: Error | undefined;
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && code !== null) reject((failure = new Error(`updater exited ${code}: ${stderr}`)));
      else resolve(code);
    });
  });
  done.catch(() => undefined);
  const alive = (): true => {
    if (failure) throw failure;
    return true;
  };
  return { acked, done, kill: () => child.kill('SIGKILL'), alive };
}

/** A finished job of a change that is no longer open (history once it is not among the most recent). */
export function finished(id: string, minute: number): Job {
  const at = new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
  return {
    id, configId: 'gone~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: 't', status: 'success', attempt: 1,
    createdAt: at, finishedAt: at, summary: { tests: 1, failures: 0, errors: 0, skipped: 0, durationMs: 1 }, skipped: [], message: 'passed', logDir: `jobs/${id}`,
  };
}

/** Every job of a store, as listJobs pages through them. */
export async function allJobs(store: Store): Promise<Job[]> {
  const jobs: Job[] = [];
  for await (const job of store.listJobs()) jobs.push(job);
  return jobs;
}

export async function allJobIds(store: Store): Promise<string[]> {
  return (await allJobs(store)).map((j) => j.id);
}

