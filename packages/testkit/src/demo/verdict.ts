import type { Job, StateData } from '@smokestack/core';
import type { DemoChange, Expectation } from './scenario.js';

/** What the latest job of a demo change's current patch set ended as, against what the change should give. */
export interface DemoOutcome {
  key: string;
  number: number;
  expect: Expectation;
  jobId: string;
  status: Job['status'];
  message: string;
}

export interface DemoVerdict {
  /** false: the demo showed nothing but this machine's failures. */
  ok: boolean;
  /** Why not, in one line. */
  reason?: string;
  /** Outcomes other than the change's own expectation. */
  unexpected: DemoOutcome[];
}

/** The latest attempt of each demo change's current patch set that finished. Pure. */
export function demoOutcomes(changes: DemoChange[], state: Pick<StateData, 'configs' | 'jobs'>): DemoOutcome[] {
  const out: DemoOutcome[] = [];
  for (const change of changes) {
    const config = state.configs[`${change.project}~${change.number}`];
    if (!config || change.expect === 'wip') continue;
    const jobs = Object.values(state.jobs)
      .filter((j) => j.configId === config.id && j.patchSet === config.patchSet && j.status !== 'queued' && j.status !== 'running')
      .sort((a, b) => a.attempt - b.attempt || a.createdAt.localeCompare(b.createdAt));
    const job = jobs[jobs.length - 1];
    if (job) out.push({ key: change.key, number: change.number, expect: change.expect, jobId: job.id, status: job.status, message: job.message });
  }
  return out;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 200);
}

/**
 * Whether the demo showed SmokeStack at work or only this machine failing: when every job failed and
 * some failed for a reason that is not their change's (an infrastructure failure, or a change meant to
 * pass that did not), the demo failed, and the reason says how and with which message. Pure.
 */
export function judgeDemo(outcomes: DemoOutcome[]): DemoVerdict {
  const unexpected = outcomes.filter((o) => o.status !== o.expect);
  const everyJobFailed = outcomes.length > 0 && outcomes.every((o) => o.status !== 'success');
  if (!everyJobFailed || unexpected.length === 0) return { ok: true, unexpected };
  const byStatus = new Map<string, DemoOutcome[]>();
  for (const o of unexpected) byStatus.set(o.status, [...(byStatus.get(o.status) ?? []), o]);
  const counts = [...byStatus.entries()].map(([status, list]) => `${list.length} ${status}`).join(', ');
  const example = unexpected[0]!;
  const reason =
    `every job failed, ${unexpected.length} of ${outcomes.length} for a reason that is not the change's (${counts}; ` +
    `${example.jobId} of ${example.key}, which should give ${example.expect}: ${firstLine(example.message) || 'no message'}): ` +
    'this machine could not run the demo jobs';
  return { ok: false, reason, unexpected };
}

/** The demo's closing lines and exit status: non-zero, saying why, when the jobs showed only this machine failing. Pure. */
export function concludeDemo(summary: { configs: number; jobs: Record<string, number>; reviews: number; verdict: DemoVerdict }, seconds: number): { code: number; lines: string[] } {
  const { verdict } = summary;
  const jobs = Object.entries(summary.jobs).map(([status, n]) => `${n} ${status}`).join(', ');
  const lines = [`${verdict.ok ? 'Done' : 'Finished'} in ${seconds.toFixed(0)} s: ${summary.configs} test configs, jobs ${jobs || 'none'}, ${summary.reviews} reviews posted.`];
  if (!verdict.ok) return { code: 1, lines: [...lines, `demo failed: ${verdict.reason}`] };
  for (const o of verdict.unexpected) lines.push(`warning: ${o.key} (${o.jobId}) is ${o.status}, expected ${o.expect}: ${firstLine(o.message)}`);
  return { code: 0, lines };
}
