import { jobRecord } from '@smokestack/testkit';
import type { Approval, Change, Job } from '../../src/model.js';

export const NOW = new Date('2024-05-20T12:00:00Z');
const DAY = 86_400_000;

/** An open change on master whose current patch set was uploaded `days` before NOW. */
export function makeChange(number: number, overrides: Partial<Change> & { days?: number } = {}): Change {
  const { days = 0, ...rest } = overrides;
  return {
    project: 'openstack/nova',
    branch: 'master',
    number,
    changeId: `I${String(number).padStart(40, '0')}`,
    subject: `Change ${number}`,
    owner: { name: `Owner ${number}`, username: `owner${number}` },
    status: 'NEW',
    wip: false,
    url: `https://review.example.org/c/openstack/nova/+/${number}`,
    currentPatchSet: {
      number: 2,
      revision: `${String(number).padStart(8, '0')}${'a'.repeat(32)}`,
      ref: `refs/changes/${String(number % 100).padStart(2, '0')}/${number}/2`,
      created: new Date(NOW.getTime() - days * DAY).toISOString(),
    },
    approvals: [],
    ...rest,
  };
}

export function vote(label: string, value: number, username: string, extra: Partial<Approval> = {}): Approval {
  return { label, value, by: { name: username.charAt(0).toUpperCase() + username.slice(1), username }, ...extra };
}

/** A finished, passing tempest job of the change's current patch set. */
export function makeJob(id: string, change: Change, overrides: Partial<Job> = {}): Job {
  return jobRecord(id, {
    configId: `${change.project}~${change.number}`,
    project: change.project,
    number: change.number,
    patchSet: change.currentPatchSet.number,
    revision: change.currentPatchSet.revision,
    status: 'success',
    createdAt: '2024-05-20T10:00:00.000Z',
    finishedAt: '2024-05-20T11:00:00.000Z',
    summary: { tests: 100, failures: 0, errors: 0, skipped: 0, durationMs: 3_600_000 },
    ...overrides,
  });
}
