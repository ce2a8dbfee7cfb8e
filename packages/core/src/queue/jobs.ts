import { configurationLabel, type Configuration } from '../config/axes.js';
import { UserError } from '../errors.js';
import { DEFAULT_POOL, FINISHED_STATUSES, JOB_KINDS, JOB_STATUSES, emptySummary, type Job, type JobKind, type JobStatus } from '../model.js';
import type { StateData } from '../store/schema.js';

export interface JobFilter {
  /** Only jobs of these kinds (default: every kind). */
  kind?: JobKind | readonly JobKind[];
  status?: JobStatus[];
  project?: string[];
  configId?: string;
  number?: number;
  patchSet?: number;
  /** The patch set's revision, or the first characters of it. */
  revision?: string;
}

export function parseJobStatus(value: string, where = '--status'): JobStatus {
  if ((JOB_STATUSES as readonly string[]).includes(value)) return value as JobStatus;
  throw new UserError(`${where}: unknown job status "${value}"`, { hint: `expected one of ${JOB_STATUSES.join(', ')}` });
}

/** Ad-hoc runs carry their kind; those of stores written before it had the `adhoc` config id. */
export function jobKind(job: Pick<Job, 'kind' | 'configId'>): JobKind {
  return job.kind ?? (job.configId === 'adhoc' ? 'adhoc' : 'queue');
}

export function parseJobKind(value: string, where = '--kind'): JobKind {
  if ((JOB_KINDS as readonly string[]).includes(value)) return value as JobKind;
  throw new UserError(`${where}: unknown job kind "${value}"`, { hint: `expected one of ${JOB_KINDS.join(', ')}` });
}

export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

export const ACTIVE_STATUSES = ['queued', 'running'] as const;

/** Queued or running: the job still has to produce a result. */
export function isActive(job: Pick<Job, 'status'>): boolean {
  return job.status === 'queued' || job.status === 'running';
}

/** The number in a job id (`j42` → 42): creation order among jobs created in the same millisecond. */
export function jobNumber(job: Pick<Job, 'id'>): number {
  return Number(job.id.replace(/^\D+/, '')) || 0;
}

/** Oldest first: by creation time, then by id. */
export function olderFirst(a: Job, b: Job): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : jobNumber(a) - jobNumber(b);
}

export function matchesJobFilter(job: Job, filter: JobFilter): boolean {
  if (filter.kind && ![filter.kind].flat().includes(jobKind(job))) return false;
  if (filter.status && !filter.status.includes(job.status)) return false;
  if (filter.project && !filter.project.includes(job.project)) return false;
  if (filter.configId && job.configId !== filter.configId) return false;
  if (filter.number !== undefined && job.number !== filter.number) return false;
  if (filter.patchSet !== undefined && job.patchSet !== filter.patchSet) return false;
  if (filter.revision !== undefined && !(filter.revision && job.revision.startsWith(filter.revision))) return false;
  return true;
}

/** Jobs of the live state matching the filter, newest first. */
export function filterJobs(state: StateData, filter: JobFilter = {}): Job[] {
  return Object.values(state.jobs)
    .filter((job) => matchesJobFilter(job, filter))
    .sort((a, b) => olderFirst(b, a));
}

/** How long a job ran (start to finish, or to now while running); undefined before it started. */
export function jobDurationMs(job: Job, now: Date = new Date()): number | undefined {
  if (!job.startedAt) return undefined;
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now.getTime();
  const ms = end - Date.parse(job.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

export function getJob(state: StateData, id: string): Job {
  const job = state.jobs[id];
  if (!job) throw new UserError(`job ${id}: not found in the state store`, { hint: 'list jobs with: bellows jobs list' });
  return job;
}

/**
 * What a job tests of its patch set: the template, and the combination of its axes
 * (`nova-smoke [database=postgresql]`). The latest job of each key is the one that counts.
 */
export function jobKey(template: string, configuration?: Configuration): string {
  const label = configurationLabel(configuration);
  return label ? `${template} [${label}]` : template;
}

/** A job's key (see jobKey). */
export function keyOfJob(job: Pick<Job, 'template' | 'configuration'>): string {
  return jobKey(job.template, job.configuration);
}

export interface NewJob {
  configId: string;
  project: string;
  number: number;
  patchSet: number;
  revision: string;
  template: string;
  /** The template's pool (absent: the default pool). */
  pool?: string;
  configuration?: Configuration;
  /** The Depends-On changes the job tests with its patch set. */
  dependencies?: Job['dependencies'];
  reason?: Job['reason'];
  attempt?: number;
}

/** Adds a queued job to the state and returns it; ids are short and monotonic (`j42`). */
export function enqueueJob(state: StateData, fields: NewJob, now: Date): Job {
  // The counter is derived from the stored jobs on read; skipping a taken id still guards a hand-edited store.
  while (state.jobs[`j${state.nextJobId}`]) state.nextJobId++;
  const id = `j${state.nextJobId++}`;
  const job: Job = {
    id,
    configId: fields.configId,
    project: fields.project,
    number: fields.number,
    patchSet: fields.patchSet,
    revision: fields.revision,
    template: fields.template,
    ...(fields.pool && fields.pool !== DEFAULT_POOL ? { pool: fields.pool } : {}),
    ...(fields.configuration && Object.keys(fields.configuration).length ? { configuration: { ...fields.configuration } } : {}),
    status: 'queued',
    attempt: fields.attempt ?? 1,
    createdAt: now.toISOString(),
    summary: emptySummary(),
    skipped: [],
    message: '',
    logDir: `jobs/${id}`,
    reason: fields.reason ?? 'new',
  };
  if (fields.dependencies?.length) job.dependencies = structuredClone(fields.dependencies);
  state.jobs[id] = job;
  return job;
}
