import type { Configuration } from '../config/axes.js';
import type { Job, TestConfig } from '../model.js';
import { enqueueJob, isActive, jobKey, jobNumber, keyOfJob, type NewJob } from '../queue/jobs.js';
import { mayRetryInfra } from '../queue/transitions.js';
import type { StateData } from '../store/schema.js';
import { outdatedDependency } from './dependencies.js';
import { DEFAULT_TEMPLATE_POLICY, configurationsOf, type TemplatePolicy } from './settings.js';

export { ACTIVE_STATUSES, isActive } from '../queue/jobs.js';

/** Orders attempts oldest first: by attempt, then by creation order. */
export function byAttempt(a: Job, b: Job): number {
  return a.attempt - b.attempt || jobNumber(a) - jobNumber(b);
}

/** Jobs grouped by config id: planners over many changes look jobs up here instead of scanning. */
export type JobIndex = Map<string, Job[]>;

export function indexJobs(state: StateData): JobIndex {
  const index: JobIndex = new Map();
  for (const job of Object.values(state.jobs)) {
    const list = index.get(job.configId);
    if (list) list.push(job);
    else index.set(job.configId, [job]);
  }
  return index;
}

export function jobsOfConfig(state: StateData, configId: string, index?: JobIndex): Job[] {
  if (index) return index.get(configId) ?? [];
  return Object.values(state.jobs).filter((j) => j.configId === configId);
}

export function jobsOfPatchSet(state: StateData, configId: string, patchSet: number, index?: JobIndex): Job[] {
  return jobsOfConfig(state, configId, index).filter((j) => j.patchSet === patchSet);
}

/** The latest attempt of each job key (template and combination, see jobKey) among the given jobs of one patch set. */
export function latestByKey(jobs: Job[]): Map<string, Job> {
  const latest = new Map<string, Job>();
  for (const job of [...jobs].sort(byAttempt)) latest.set(keyOfJob(job), job);
  return latest;
}

/** One job a patch set needs: a template in one combination of its axes. */
export interface ExpectedJob {
  key: string;
  template: string;
  configuration: Configuration;
  policy: TemplatePolicy;
}

/** The jobs a config's patch set needs, template by template, each combination of its axes in order. Pure. */
export function expectedJobs(config: Pick<TestConfig, 'templates'>, policies: Record<string, TemplatePolicy>): ExpectedJob[] {
  return config.templates.flatMap((template) => {
    const policy = policies[template] ?? DEFAULT_TEMPLATE_POLICY;
    return configurationsOf(policy).map((configuration) => ({ key: jobKey(template, configuration), template, configuration, policy }));
  });
}

export function newJobFor(config: TestConfig, expected: Pick<ExpectedJob, 'template' | 'configuration'>, reason: Job['reason'], attempt = 1, pool?: string): NewJob {
  return {
    configId: config.id,
    project: config.project,
    number: config.number,
    patchSet: config.patchSet,
    revision: config.revision,
    template: expected.template,
    ...(pool ? { pool } : {}),
    ...(Object.keys(expected.configuration).length ? { configuration: expected.configuration } : {}),
    ...(config.dependencies?.length ? { dependencies: structuredClone(config.dependencies) } : {}),
    reason,
    attempt,
  };
}

/**
 * The jobs a config's current patch set still needs: a first job per template and combination that has none, and
 * a new attempt where the latest one failed for infrastructure reasons and retries remain.
 * A job that tested an older patch set of a change it depends on gets a new one. `resumed` (the change
 * just left work in progress or a Depends-On problem) re-queues templates whose latest job was cancelled;
 * `superseding` names jobs the same plan stops, which count as stopped.
 */
export function jobsToQueue(
  state: StateData,
  config: TestConfig,
  policies: Record<string, TemplatePolicy>,
  options: { resumed?: boolean; index?: JobIndex; superseding?: ReadonlySet<string> } = {},
): NewJob[] {
  if (config.wip || config.dependencyProblem || (config.changeStatus && config.changeStatus !== 'NEW')) return [];
  const latest = latestByKey(jobsOfPatchSet(state, config.id, config.patchSet, options.index));
  const out: NewJob[] = [];
  for (const expected of expectedJobs(config, policies)) {
    const job = latest.get(expected.key);
    if (!job) out.push(newJobFor(config, expected, 'new', 1, expected.policy.pool));
    else if ((!isActive(job) || options.superseding?.has(job.id)) && outdatedDependency(job, config)) out.push(newJobFor(config, expected, 'dependency', job.attempt + 1, expected.policy.pool));
    else if (job.status === 'infra_failed' && mayRetryInfra(job.attempt, expected.policy.maxInfraRetries)) out.push(newJobFor(config, expected, 'retry', job.attempt + 1, expected.policy.pool));
    else if (job.status === 'cancelled' && options.resumed) out.push(newJobFor(config, expected, 'new', job.attempt + 1, expected.policy.pool));
  }
  return out;
}

/** Queues jobs; one queued because a dependency moved on makes its patch set's result reported again. */
export function queueJobs(state: StateData, jobs: readonly NewJob[], now: Date): Job[] {
  return jobs.map((fields) => {
    const job = enqueueJob(state, fields, now);
    if (job.reason === 'dependency') delete state.votes[voteKey(job.project, job.number, job.patchSet)];
    return job;
  });
}

/** The store key of a patch set's Vote record. */
export function voteKey(project: string, number: number, patchSet: number): string {
  return `${project}~${number}~${patchSet}`;
}
