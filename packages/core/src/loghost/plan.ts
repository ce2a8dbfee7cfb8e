import path from 'node:path';
import { isFinished } from '../queue/jobs.js';
import type { Job } from '../model.js';

/** One file of a job's directory, by its path relative to it (POSIX separators). */
export interface JobFile {
  path: string;
  size: number;
}

/** What is sent of one file: all of it, or its head and tail around a note. */
export type FileShipment =
  | { path: string; size: number; kind: 'whole' }
  | { path: string; size: number; kind: 'truncated'; head: number; tail: number };

export interface UploadPlan {
  send: FileShipment[];
  omitted: JobFile[];
  /** Bytes of the job directory as written, and of what is sent. */
  totalBytes: number;
  sentBytes: number;
}

/** Name of the note a truncated upload carries at the top of the job's directory. */
export const TRUNCATION_NOTE = 'TRUNCATED.txt';
/** A file is cut only when at least this much of it still fits; smaller remainders leave it out. */
const MIN_KEPT_BYTES = 4096;
/** Room kept for the note itself and the line marking each cut. */
const NOTE_RESERVE_BYTES = 16 * 1024;

/** Results and the summary first (what comment and report read), then stage logs, then the rest; artifacts last. */
export function shipRank(file: string): number {
  if (!file.includes('/')) return 0;
  if (/^hosts\/[^/]+\/results\//.test(file)) return 1;
  if (file.startsWith('logs/')) return 2;
  if (file.startsWith('hosts/')) return 3;
  if (file.startsWith('scripts/')) return 4;
  return ARTIFACTS;
}

/** The rank of packages, bundles and whatever else a job directory holds: sent last, only whole. */
const ARTIFACTS = 5;

/** Text a reader looks at whole or by its ends: logs and harvested output, never packages or results. */
export function mayTruncate(file: string): boolean {
  if (shipRank(file) === 1 || /\.(deb|rpm|gz|xz|bz2|zst|tar|zip|xml|json|subunit)$/i.test(file)) return false;
  return shipRank(file) === 2 || shipRank(file) === 3 || /\.(log|txt|out|err)$/i.test(file);
}

/**
 * Which files of a job go to the log host within `maxBytes`: by rank, smallest first, whole while
 * they fit; then the room left goes to the first log that did not fit, cut to a quarter head and
 * the rest tail (failures are at the end); artifacts (packages, bundles) only if room is still left.
 */
export function planUpload(files: readonly JobFile[], maxBytes: number): UploadPlan {
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const ordered = [...files].sort((a, b) => shipRank(a.path) - shipRank(b.path) || a.size - b.size || a.path.localeCompare(b.path));
  if (totalBytes <= maxBytes) return { send: ordered.map((f) => ({ ...f, kind: 'whole' })), omitted: [], totalBytes, sentBytes: totalBytes };
  let room = Math.max(0, maxBytes - NOTE_RESERVE_BYTES);
  const send: FileShipment[] = [];
  const left: JobFile[] = [];
  const takeWhole = (file: JobFile) => (file.size <= room ? (send.push({ ...file, kind: 'whole' }), (room -= file.size), true) : false);
  for (const file of ordered) if (shipRank(file.path) === ARTIFACTS || !takeWhole(file)) left.push(file);
  const omitted: JobFile[] = [];
  for (const file of left) {
    if (shipRank(file.path) === ARTIFACTS && takeWhole(file)) continue;
    if (mayTruncate(file.path) && room >= MIN_KEPT_BYTES) {
      const head = Math.floor(room / 4);
      send.push({ ...file, kind: 'truncated', head, tail: room - head });
      room = 0;
    } else omitted.push(file);
  }
  const sentBytes = send.reduce((sum, f) => sum + (f.kind === 'whole' ? f.size : f.head + f.tail), 0);
  return { send, omitted, totalBytes, sentBytes };
}

/** The line that replaces the middle of a cut file. */
export function cutMarker(file: FileShipment & { kind: 'truncated' }, maxBytes: number): string {
  const left = file.size - file.head - file.tail;
  return `\n[smokestack: ${left} bytes of ${path.posix.basename(file.path)} left out here: the job's logs exceed the log host's limit of ${formatBytes(maxBytes)} (see ${TRUNCATION_NOTE})]\n`;
}

/** TRUNCATED.txt: what was cut or left out, and why; undefined when everything went whole. */
export function truncationNote(plan: UploadPlan, maxBytes: number, workerDir: string): string | undefined {
  const cut = plan.send.filter((f) => f.kind === 'truncated');
  if (cut.length === 0 && plan.omitted.length === 0) return undefined;
  const lines = [
    `This job's directory held ${formatBytes(plan.totalBytes)}; the log host keeps at most ${formatBytes(maxBytes)} per job (logHost.maxJobMiB).`,
    `The full directory stayed on the worker in ${workerDir} (while logHost.keepLocal is true).`,
    '',
    ...cut.map((f) => `cut:     ${f.path} (${formatBytes(f.size)}; kept the first ${formatBytes(f.head)} and the last ${formatBytes(f.tail)})`),
    ...plan.omitted.slice(0, 200).map((f) => `omitted: ${f.path} (${formatBytes(f.size)})`),
    ...(plan.omitted.length > 200 ? [`omitted: ${plan.omitted.length - 200} more file(s)`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** A job whose logs wait in a worker's outbox. */
export interface OutboxEntry {
  job: string;
  /** When the run that wrote these logs claimed the job: a later run of the same job owns its logs. */
  startedAt?: string;
  worker: string;
  queuedAt: string;
  attempts: number;
  /** Not tried again before this time. */
  nextAt: string;
  lastError?: string;
}

export type DeliveryVerdict = { action: 'deliver' } | { action: 'wait'; why: string } | { action: 'drop'; why: string };

/** Whether a waiting upload should go now, given what the store says of its job. */
export function deliveryVerdict(entry: OutboxEntry, stored: Job | undefined): DeliveryVerdict {
  if (!stored) return { action: 'drop', why: 'the job is no longer in the store (pruned or purged)' };
  if (!stored.startedAt && !isFinished(stored.status)) return { action: 'drop', why: 'the job went back to the queue to run again' };
  if (stored.startedAt !== entry.startedAt) return { action: 'drop', why: 'a later run of the job owns its logs' };
  if (!isFinished(stored.status)) return { action: 'wait', why: 'the job has not finished yet' };
  return { action: 'deliver' };
}
