import type { Job, TestConfig } from '@smokestack/core';

/**
 * Records as the store keeps them, for tests that write a state file directly: change
 * openstack/nova 1234, patch set 5. Each test overrides what it is about (status, times, results).
 */
export function testConfigRecord(overrides: Partial<TestConfig> = {}): TestConfig {
  const number = overrides.number ?? 1234;
  const patchSet = overrides.patchSet ?? 5;
  return {
    id: `openstack/nova~${number}`,
    project: 'openstack/nova',
    branch: 'master',
    number,
    description: 'Alice: fix it',
    branches: {},
    templates: ['tempest', 'unit'],
    patchSet,
    revision: 'a'.repeat(40),
    ref: `refs/changes/34/${number}/${patchSet}`,
    updatedAt: '2026-11-22T09:00:00.000Z',
    ...overrides,
  };
}

/** A queued tempest job of that change, with no results yet. */
export function jobRecord(id: string, overrides: Partial<Job> = {}): Job {
  return {
    id,
    configId: 'openstack/nova~1234',
    project: 'openstack/nova',
    number: 1234,
    patchSet: 5,
    revision: 'a'.repeat(40),
    template: 'tempest',
    status: 'queued',
    attempt: 1,
    createdAt: '2026-11-22T08:00:00.000Z',
    summary: { tests: 0, failures: 0, errors: 0, skipped: 0, durationMs: 0 },
    skipped: [],
    message: '',
    logDir: `jobs/${id}`,
    ...overrides,
  };
}
