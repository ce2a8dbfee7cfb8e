import type { Job } from '../model.js';

export type Tone = 'good' | 'bad' | 'warn' | 'info' | 'muted';

/** A job's status as people read it: a short label, and whose fault it is in one sentence. */
export interface StatusWords {
  label: string;
  tone: Tone;
  /** A symbol beside the label, so colour is never the only signal. */
  symbol: string;
  whose: string;
}

type JobFacts = Pick<Job, 'status' | 'message' | 'attempt' | 'summary' | 'supersededBy'> & { failedTests?: string[] };

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Per status: the words, given the job. Statuses added later fall back to their own name. */
const WORDS: Record<string, (job: JobFacts) => StatusWords> = {
  queued: () => ({ label: 'Queued', tone: 'info', symbol: '…', whose: 'Waiting for a worker to take it.' }),
  running: () => ({ label: 'Running', tone: 'info', symbol: '…', whose: 'A worker is running it now.' }),
  success: () => ({ label: 'Passed', tone: 'good', symbol: '✓', whose: 'Every stage passed and no test failed.' }),
  build_failed: (job) => ({
    label: 'Build failed',
    tone: 'bad',
    symbol: '✗',
    whose: `The change's fault: building, publishing or configuring it failed (${firstLine(job.message) || 'see the stages below'}).`,
  }),
  test_failed: (job) => {
    const failed = job.failedTests?.length ?? job.summary.failures + job.summary.errors;
    return {
      label: 'Tests failed',
      tone: 'bad',
      symbol: '✗',
      whose: failed > 0 ? `The change's fault: ${plural(failed, 'test')} failed.` : `The change's fault: a suite failed (${firstLine(job.message)}).`,
    };
  },
  infra_failed: (job) => ({
    label: 'Infrastructure failure',
    tone: 'warn',
    symbol: '!',
    whose: `Not the change's fault: the test machinery failed (${firstLine(job.message) || 'see the stages below'}). It never votes −1; comment "recheck" to run it again.`,
  }),
  incomplete: (job) => ({
    label: 'Incomplete',
    tone: 'warn',
    symbol: '!',
    whose: `Not the change's fault, and not a pass: required tests did not run (${firstLine(job.message) || 'see the skipped tests below'}).`,
  }),
  superseded: (job) => ({
    label: 'Superseded',
    tone: 'muted',
    symbol: '–',
    whose: `Nobody's fault: a newer patch set replaced this one${job.supersededBy ? ` (job ${job.supersededBy})` : ''} before its result mattered.`,
  }),
  cancelled: (job) => ({ label: 'Cancelled', tone: 'muted', symbol: '–', whose: `Nobody's fault: it was stopped (${firstLine(job.message) || 'the change was closed or the job cancelled'}).` }),
};

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]!.trim().slice(0, 300);
}

/** What a job's status means, in words (pure). */
export function statusWords(job: JobFacts): StatusWords {
  const words = WORDS[job.status];
  if (words) return words(job);
  return { label: job.status.replace(/_/g, ' '), tone: 'muted', symbol: '?', whose: firstLine(job.message) };
}

/** "1h 5m", "3m 20s", "12s": durations on pages. */
export function durationText(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** "2026-11-22 09:31 UTC": times on pages (the exact instant is in the datetime attribute). */
export function utcText(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '';
}
