import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StateStore } from '../../src/store/store.js';
import type { Job, TestConfig } from '../../src/model.js';
import { jobRecord, testConfigRecord } from '@smokestack/testkit';

export const NOW = new Date('2026-11-22T10:00:00Z');
export const REVISION = '3f2a9c1b'.padEnd(40, 'e');
export const HOSTILE = '<img src=x onerror="window.__pwned=1">';
export const FAILING = 'tempest.api.compute.servers.test_server_actions.ServerActionsTestJSON.test_reboot_server_hard';
export const REQUIRED = 'tempest.scenario.test_network_basic_ops.TestNetworkBasicOps.test_network_basic_ops';
/** Lines of the test stage's log: several parts of the viewer. */
export const TEST_LOG_LINES = 5200;

export function testConfig(number = 1234, patchSet = 5): TestConfig {
  return testConfigRecord({ number, patchSet, revision: REVISION, subject: `Make reboot wait for the guest ${HOSTILE}`, owner: { name: 'Alice Adams', username: 'alice' }, updatedAt: NOW.toISOString() });
}

/** A passed tempest job of the change. */
export function job(id: string, overrides: Partial<Job> = {}): Job {
  return jobRecord(id, {
    revision: REVISION,
    status: 'success',
    startedAt: '2026-11-22T08:01:00.000Z',
    finishedAt: '2026-11-22T09:00:00.000Z',
    summary: { tests: 3, failures: 0, errors: 0, skipped: 0, durationMs: 1_200_000 },
    ...overrides,
  });
}

/** A test_failed tempest job with stage logs, a host's log and summary.json, as a worker leaves them. */
export function failedJob(id: string): Job {
  const record = job(id, {
    status: 'test_failed',
    worker: 'ci1:4242',
    group: `ss-${id}`,
    message: `1 test failed: ${FAILING}`,
    summary: { tests: 3, failures: 1, errors: 0, skipped: 2, durationMs: 1_200_000 },
    failedTests: [FAILING],
    skipped: [{ id: REQUIRED, reason: 'no public network' }, { id: 'tempest.api.volume.test_volumes.VolumesTest.test_attach', reason: 'cinder disabled' }],
    stages: [
      { stage: 'provision', status: 'passed', durationMs: 30_000 },
      { stage: 'build', status: 'passed', durationMs: 600_000 },
      { stage: 'test', status: 'failed', kind: 'change', message: `1 test failed ${HOSTILE}`, durationMs: 1_250_000 },
      { stage: 'teardown', status: 'passed', durationMs: 5_000 },
    ],
    sources: [
      { kind: 'build', name: 'nova', project: 'openstack/nova', url: 'https://review.example.org/openstack/nova', ref: 'refs/changes/34/1234/5', revision: REVISION, changed: true },
      { kind: 'module', name: 'puppet-nova', project: 'openstack/puppet-nova', url: 'https://opendev.org/openstack/puppet-nova', ref: 'master', revision: 'a'.repeat(40), changed: false },
    ],
  });
  // The template's required tests, as the job record carries them when the template names some.
  return { ...record, requiredSkipped: [{ id: REQUIRED, pattern: 'tempest.scenario.*', reason: 'no public network' }] } as Job;
}

export function writeJobFiles(store: StateStore, id: string): void {
  const dir = store.jobDir(id);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'hosts', 'ctl', 'var', 'log'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'logs', 'build.log'), 'dpkg-buildpackage -us -uc\nbuilt nova_29.0.0\n');
  const lines: string[] = [];
  for (let n = 1; n <= TEST_LOG_LINES; n++) lines.push(n === 3456 ? `line 3456: ${HOSTILE} reboot timed out` : `line ${n}: \u001b[32mok\u001b[0m`);
  fs.writeFileSync(path.join(dir, 'logs', 'test.log'), `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'hosts', 'ctl', 'var', 'log', 'nova-compute.log'), 'INFO nova.compute started\n');
  fs.writeFileSync(path.join(dir, 'plan.json'), '{"secret":"never published"}\n');
  const summary = {
    suites: [
      {
        name: 'tempest',
        host: 'ctl',
        results: {
          cases: [
            { id: FAILING, outcome: 'failed', durationMs: 1000, message: `Traceback (most recent call last):\n  File "test_server_actions.py", line 120\nTimeoutException: server did not reboot ${HOSTILE}` },
            { id: 'tempest.api.compute.flavors.FlavorsTest.test_list', outcome: 'passed', durationMs: 10 },
          ],
        },
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
}

export interface Scratch {
  dir: string;
  store: StateStore;
  remove(): void;
}

export function scratchStore(): Scratch {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-web-'));
  const store = new StateStore(path.join(dir, 'state.json'));
  return { dir, store, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export async function putJobs(store: StateStore, jobs: Job[], configs: TestConfig[] = [testConfig()]): Promise<void> {
  await store.update((state) => {
    for (const c of configs) state.configs[c.id] = c;
    for (const j of jobs) state.jobs[j.id] = j;
  });
}
