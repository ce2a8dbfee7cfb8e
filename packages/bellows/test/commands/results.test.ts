import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { StateStore } from '@smokestack/core/store';
import { loadConfigFile } from '@smokestack/core/config/load';
import { writeResultsOf } from '@smokestack/core/web/publish';
import { webSettings } from '@smokestack/core/web/layout';
import type { Job, TestConfig } from '@smokestack/core/model';
import { jobRecord, runCli, testConfigRecord } from '@smokestack/testkit';

const REV = '3f2a9c1b'.padEnd(40, 'd');
const OLD_REV = '77aa0011'.padEnd(40, 'c');
const FAILING = 'tempest.api.compute.test_reboot';

const config = (): TestConfig => testConfigRecord({ revision: REV });

/** A passed tempest job of the change at REV. */
function job(id: string, overrides: Partial<Job>): Job {
  return jobRecord(id, {
    revision: REV,
    status: 'success',
    startedAt: '2026-11-22T08:01:00.000Z',
    finishedAt: '2026-11-22T09:00:00.000Z',
    summary: { tests: 10, failures: 0, errors: 0, skipped: 0, durationMs: 60_000 },
    ...overrides,
  });
}

interface Doc {
  revision?: string;
  generated: string;
  latest: Array<{ template: string; job: string; status: string }>;
  counts: { jobs: number; templates: number; byStatus: Record<string, number> };
  jobs: Array<{ id: string; status: string; failed: string[]; skipped: Array<{ id: string; reason?: string }>; url?: string; counts: { tests: number } }>;
}

const withoutTime = (doc: Doc) => ({ ...doc, generated: undefined });

describe('bellows results', () => {
  let dir: string;
  let env: Record<string, string>;
  let store: StateStore;
  let webDir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-results-'));
    const configFile = path.join(dir, 'smokestack.yaml');
    fs.writeFileSync(configFile, 'web:\n  dir: pages\n  url: https://ci.example.org/smokestack/\n');
    env = { SMOKESTACK_CONFIG: configFile, SMOKESTACK_STATE: path.join(dir, 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
    store = new StateStore(path.join(dir, 'state.json'));
    await store.update((s) => {
      s.configs['openstack/nova~1234'] = config();
      for (const j of [
        job('j1', { status: 'infra_failed', message: 'ssh lost', finishedAt: '2026-11-22T08:30:00.000Z' }),
        job('j2', {
          status: 'test_failed',
          attempt: 2,
          retryOf: 'j1',
          createdAt: '2026-11-22T08:31:00.000Z',
          failedTests: [FAILING],
          summary: { tests: 10, failures: 1, errors: 0, skipped: 1, durationMs: 60_000 },
          skipped: [{ id: 'tempest.api.volume.test_attach', reason: 'cinder disabled' }],
          message: `1 test failed: ${FAILING}`,
        }),
        job('j3', { template: 'unit', summary: { tests: 400, failures: 0, errors: 0, skipped: 0, durationMs: 9_000 } }),
        job('j4', { patchSet: 4, revision: OLD_REV, createdAt: '2026-11-21T08:00:00.000Z' }),
      ])
        s.jobs[j.id] = j;
    });
    const loaded = loadConfigFile(configFile);
    webDir = webSettings(loaded, store).dir;
    const state = await store.read();
    await writeResultsOf(store, webSettings(loaded, store), state.jobs.j2!, new Date('2026-11-22T10:00:00Z'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints, as --json, the very document the pages directory serves at revisions/<sha>.json, found by a short SHA', async () => {
    const run = await runCli('bellows', ['results', REV.slice(0, 8), '--json'], { env });
    expect(run.code, run.stderr).to.equal(0);
    const served = JSON.parse(fs.readFileSync(path.join(webDir, 'revisions', `${REV}.json`), 'utf8')) as Doc;
    expect(withoutTime(run.json<Doc>())).to.deep.equal(withoutTime(served));
  });

  it('agrees with the store: every job of the revision, the latest per template, failed and skipped tests, and each page URL', async () => {
    const doc = (await runCli('bellows', ['results', REV, '--json'], { env })).json<Doc>();
    const stored: Job[] = [];
    for await (const j of store.listJobs({ revision: REV })) stored.push(j);
    expect(doc.jobs.map((j) => j.id).sort()).to.deep.equal(stored.map((j) => j.id).sort());
    for (const j of doc.jobs) expect(j.status).to.equal(stored.find((s) => s.id === j.id)!.status);
    expect(doc.latest).to.deep.equal([
      { template: 'tempest', job: 'j2', status: 'test_failed' },
      { template: 'unit', job: 'j3', status: 'success' },
    ]);
    expect(doc.counts).to.deep.equal({ jobs: 3, templates: 2, byStatus: { success: 1, test_failed: 1 } });
    const j2 = doc.jobs.find((j) => j.id === 'j2')!;
    expect(j2.failed).to.deep.equal([FAILING]);
    expect(j2.skipped).to.deep.equal([{ id: 'tempest.api.volume.test_attach', reason: 'cinder disabled' }]);
    expect(j2.url).to.equal('https://ci.example.org/smokestack/jobs/j2/');
  });

  it('by change and patch set gives the document of changes/<number>/<patch set>.json', async () => {
    const run = await runCli('bellows', ['results', '1234,5', '--json'], { env });
    const served = JSON.parse(fs.readFileSync(path.join(webDir, 'changes', '1234', '5.json'), 'utf8')) as Doc;
    expect(withoutTime(run.json<Doc>())).to.deep.equal(withoutTime(served));
    const older = (await runCli('bellows', ['results', '1234,4', '--json'], { env })).json<Doc>();
    expect(older.jobs.map((j) => j.id)).to.deep.equal(['j4']);
  });

  it('on the terminal: one line per template with its result, then its failed and skipped tests and its page', async () => {
    const run = await runCli('bellows', ['results', REV.slice(0, 12)], { env });
    expect(run.code).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).to.equal(`revision ${REV} (openstack/nova 1234,5): 3 job(s)`);
    expect(lines).to.include('tempest: Tests failed (job j2, attempt 2) — 10 tests, 1 failed, 1 skipped');
    expect(lines).to.include(`  failed:  ${FAILING}`);
    expect(lines).to.include('  skipped: tempest.api.volume.test_attach (cinder disabled)');
    expect(lines).to.include('  page: https://ci.example.org/smokestack/jobs/j2/');
  });

  it('refuses what is not a revision in one line, and says when nothing tested it', async () => {
    const bad = await runCli('bellows', ['results', 'zz;rm'], { env });
    expect(bad.code).to.equal(1);
    expect(bad.stderr.trim().split('\n')[0]).to.match(/revision "zz;rm": expected a commit SHA/);
    const none = await runCli('bellows', ['results', 'abcdef12'], { env });
    expect(none.code).to.equal(0);
    expect(none.stdout.trim()).to.equal('No job has tested revision abcdef12.');
  });
});
