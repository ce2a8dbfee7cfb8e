import type { Change, Job, JobStatus } from '../../src/model.js';
import { emptyState, type StateData } from '../../src/store/schema.js';
import { enqueueJob } from '../../src/queue/jobs.js';
import type { ProjectTarget, TemplatePolicy } from '../../src/bellows/settings.js';
import type { FaultContext } from '../../src/bellows/comment.js';
import { DEFAULT_FAULT_SETTINGS, emptyEvidence } from '../../src/bellows/fault.js';

export const NOW = new Date('2026-11-21T12:00:00Z');

export const TARGETS: ProjectTarget[] = [
  { name: 'nova', branch: 'master', templates: ['smoke', 'full'], url: 'https://git.example.org/nova' },
  { name: 'glance', branch: 'master', templates: ['smoke'], url: 'https://git.example.org/glance' },
];

export const POLICIES: Record<string, TemplatePolicy> = {
  smoke: { autoApprove: true, maxInfraRetries: 2 },
  full: { autoApprove: true, maxInfraRetries: 0 },
};

export function change(number: number, patchSet = 1, fields: Partial<Change> = {}): Change {
  return {
    project: 'nova',
    branch: 'master',
    number,
    changeId: `I${number}`,
    subject: `Change ${number}`,
    owner: { name: 'Alice', username: 'alice' },
    status: 'NEW',
    wip: false,
    currentPatchSet: { number: patchSet, revision: `rev-${number}-${patchSet}`, ref: `refs/changes/${String(number % 100).padStart(2, '0')}/${number}/${patchSet}` },
    approvals: [],
    ...fields,
  };
}

export function state(): StateData {
  return emptyState();
}

/** Adds a job for a config's patch set with the given status. */
export function addJob(s: StateData, project: string, number: number, patchSet: number, template: string, status: JobStatus, fields: Partial<Job> = {}): Job {
  const job = enqueueJob(s, { configId: `${project}~${number}`, project, number, patchSet, revision: `rev-${number}-${patchSet}`, template, attempt: fields.attempt }, NOW);
  Object.assign(job, { status, ...fields });
  return job;
}

/** The fault rules with baselines off and nothing in the store's history: failures vote as they are. */
export const WITHOUT_BASELINES: FaultContext = {
  settings: { ...DEFAULT_FAULT_SETTINGS, baseline: { ...DEFAULT_FAULT_SETTINGS.baseline, enabled: false } },
  evidence: emptyEvidence(),
  now: NOW,
};
