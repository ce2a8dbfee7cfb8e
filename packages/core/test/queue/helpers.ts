import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { emptySummary, enqueueJob, type JobResult, type StateData, type Store } from '@smokestack/core';

const claimer = fileURLToPath(new URL('./fixtures/claimer.mjs', import.meta.url));

/** Runs a claiming process; answers the ids it reported claimed once it exits. */
export function runClaimer(location: string, worker: string, mode = ''): { lines: string[]; done: Promise<number | null>; kill(): void } {
  const child = spawn(process.execPath, [claimer, location, worker, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<number | null>((resolve, reject) =>
    child.on('close', (code) => (code !== 0 && code !== null ? reject(new Error(`claimer exited ${code}: ${stderr}`)) : resolve(code))),
  );
  return { lines, done, kill: () => child.kill('SIGKILL') };
}

export function queueJobs(store: Store, count: number, fields: { pool?: string; template?: string } = {}): Promise<string[]> {
  return store.update((s: StateData) => {
    s.configs['p~1'] ??= { id: 'p~1', project: 'p', branch: 'master', number: 1, description: 'd', branches: {}, templates: ['t'], patchSet: 1, revision: 'r', ref: 'refs/changes/01/1/1', updatedAt: 'x' };
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: fields.template ?? 't', ...(fields.pool ? { pool: fields.pool } : {}) }, new Date(Date.UTC(2026, 0, 1, 0, 0, i))).id);
    return ids;
  });
}

export function result(status: JobResult['status'], message = 'done'): JobResult {
  return { status, message, summary: { ...emptySummary(), tests: 1 }, skipped: [], failedTests: [], sources: [], stages: [], timing: { wallMs: 1, remoteMs: 1, overheadMs: 0 } };
}

