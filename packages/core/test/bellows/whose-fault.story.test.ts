import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { GerritSim, startSshHosts, waitFor, type SimReview, type SshTestHost, type SshTestHosts } from '@smokestack/testkit';
import { commentResults, type CommentResult } from '../../src/bellows/comment.js';
import { createBellowsContext } from '../../src/bellows/context.js';
import { syncProjects } from '../../src/bellows/sync.js';
import { listFlakyTests } from '../../src/bellows/flaky.js';
import { loadConfigFile, type LoadedConfig } from '../../src/config/load.js';
import { Logger } from '../../src/log/logger.js';
import type { Job } from '../../src/model.js';
import { runWorker } from '../../src/pipeline/worker.js';
import { StateStore } from '../../src/store/store.js';
import { simUsers, writeClientKey } from './harness.js';

/**
 * The story of the thread SmokeStack comes from, end to end against the Gerrit simulator on real
 * sshd hosts: a change breaks a test that only runs where libvirt is (a marker file stands in for
 * it); the first run dies of infrastructure, the retry votes -1 naming the test; new patch sets
 * stop the old runs; a template whose hosts lack libvirt gets no +1 and says why; the broken change
 * is merged and the next change's failure is found pre-existing on master, so it gets no -1.
 */

const LIBVIRT_TEST = 'nova.tests.test_libvirt_spawn';
const REQUIRED = ['*test_libvirt*'];

/** The project under test: a driver file the libvirt test checks, a build of a .deb, and the suite. */
const NOVA_FILES = {
  'nova/libvirt_driver.txt': 'spawn=ok\n',
  'build.sh': [
    'set -eu',
    'rm -rf pkg && mkdir -p pkg/DEBIAN pkg/usr/share/nova-story',
    'cp -r nova tests pkg/usr/share/nova-story/',
    "printf 'Package: nova-story\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: SmokeStack <ci@example.org>\\nDescription: nova for the story\\n' > pkg/DEBIAN/control",
    'dpkg-deb --build pkg ../nova-story_1.0_all.deb >/dev/null',
    '',
  ].join('\n'),
  'tests/run.sh': [
    '#!/bin/sh',
    '# Writes JUnit XML; test_libvirt_spawn runs only where libvirt is (LIBVIRT_MARKER exists).',
    'set -u',
    'src=$(cd "$(dirname "$0")/.." && pwd)',
    "cases=''",
    'pass() { cases="$cases<testcase classname=\\"nova.tests\\" name=\\"$1\\"/>"; }',
    'fail() { cases="$cases<testcase classname=\\"nova.tests\\" name=\\"$1\\"><failure message=\\"$2\\"/></testcase>"; }',
    'skip() { cases="$cases<testcase classname=\\"nova.tests\\" name=\\"$1\\"><skipped message=\\"$2\\"/></testcase>"; }',
    'pass test_boot',
    'pass test_network',
    'if [ -e "$LIBVIRT_MARKER" ]; then',
    '  if grep -q "spawn=ok" "$src/nova/libvirt_driver.txt"; then pass test_libvirt_spawn; else fail test_libvirt_spawn "spawn failed: $(head -n 1 "$src/nova/libvirt_driver.txt")"; fi',
    'else',
    '  skip test_libvirt_spawn "libvirt not available"',
    'fi',
    '# A slow patch set, so a newer one arrives while it runs.',
    'if grep -q "slow=yes" "$src/nova/libvirt_driver.txt"; then touch "$STORY_SIGNAL"; sleep 120; fi',
    'printf \'<testsuites><testsuite name="nova.tests">%s</testsuite></testsuites>\\n\' "$cases" > "$SMOKESTACK_RESULTS_DIR/nova.xml"',
    '',
  ].join('\n'),
};

describe('whose fault a failure is: the story, end to end', function () {
  this.timeout(15 * 60_000);
  let dir: string;
  let sim: GerritSim;
  let sshd: SshTestHosts;
  let store: StateStore;
  let configFile: string;
  const transcript: string[] = [];
  const logLines: string[] = [];
  const logger = new Logger({ stream: { write: (s: string) => (logLines.push(s), process.env.SMOKESTACK_TEST_VERBOSE && process.stderr.write(s), true) } as never, tty: false });

  const marker = (host: SshTestHost) => path.join(path.dirname(host.workDir), 'libvirt.present');
  const groupOf = (host: SshTestHost) => ({
    provider: 'ssh',
    identityFile: sshd.identityFile,
    knownHosts: sshd.knownHostsFile,
    reachableTimeoutSeconds: 2,
    hosts: [{ name: host.name, address: host.address, port: host.port, user: host.user, workDir: host.workDir, gateway: true }],
  });
  const template = (host: SshTestHost) => ({
    group: groupOf(host),
    builds: [{ name: 'nova', project: 'nova', url: sim.gitUrl('nova'), ref: 'master', method: 'command', command: 'sh build.sh' }],
    suites: [
      {
        name: 'unit',
        command: `LIBVIRT_MARKER='${marker(host)}' STORY_SIGNAL='${path.join(dir, 'slow-run-started')}' sh ../src/0/tree/tests/run.sh`,
        format: 'junit',
        timeoutSeconds: 300,
      },
    ],
    requiredTests: REQUIRED,
    maxInfraRetries: 1,
  });

  /** smokestack.yaml for the templates the project runs at this point of the story. */
  function configure(templates: string[]): LoadedConfig {
    const all: Record<string, unknown> = { 'nova-libvirt': template(sshd.host('host1')), 'nova-gate': template(sshd.host('host2')) };
    const config = {
      gerrit: { url: sim.httpUrl, username: 'smokestack', settleSeconds: 0 },
      state: store.file,
      projects: [{ name: 'nova', branch: 'master', templates, url: sim.gitUrl('nova') }],
      templates: Object.fromEntries(templates.map((t) => [t, all[t]])),
      worker: { heartbeatSeconds: 1, staleSeconds: 60 },
      baseline: { waitMinutes: 60, maxAgeHours: 24 },
    };
    fs.writeFileSync(configFile, YAML.stringify(config));
    return loadConfigFile(configFile);
  }

  const bellows = (loaded: LoadedConfig) => createBellowsContext({ loaded, store, password: 'secret', logger });
  const sync = (loaded: LoadedConfig) => syncProjects(bellows(loaded), { fire: true });
  const work = (loaded: LoadedConfig, maxJobs?: number) => runWorker({ store, loaded, logger, once: true, pollMs: 200, heartbeatMs: 500, ...(maxJobs ? { maxJobs } : {}) });
  const comment = (loaded: LoadedConfig): Promise<CommentResult> => commentResults(bellows(loaded));
  const jobsOf = async (number: number): Promise<Job[]> => Object.values((await store.read()).jobs).filter((j) => j.number === number);
  const baselines = async (): Promise<Job[]> => Object.values((await store.read()).jobs).filter((j) => j.kind === 'baseline');
  const reviewsOf = (number: number): SimReview[] => sim.reviews(number).filter((r) => r.by === 'smokestack');
  const record = (title: string, review: SimReview) => transcript.push(`### ${title} (Verified: ${review.labels.Verified ?? 'none'})`, review.message, '');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-story-'));
    configFile = path.join(dir, 'smokestack.yaml');
    store = new StateStore(path.join(dir, 'state', 'state.json'));
    sim = await GerritSim.start({ git: true, dir: path.join(dir, 'gerrit'), users: simUsers(writeClientKey(dir)) });
    sim.createProject('nova', { files: NOVA_FILES });
    sshd = await startSshHosts({ count: 2 });
    fs.writeFileSync(marker(sshd.host('host1')), 'libvirt\n');
  });

  after(async () => {
    if (process.env.SMOKESTACK_STORY_OUT) fs.writeFileSync(process.env.SMOKESTACK_STORY_OUT, transcript.join('\n'));
    await sshd?.stop();
    await sim?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  let broken: number;
  let firstBaseline: Job;

  it('1–2. patch set 2 breaks the libvirt test; its first run dies of infrastructure (no vote, retried); the retry votes -1 naming the test', async () => {
    const loaded = configure(['nova-libvirt']);
    broken = sim.createChange({ project: 'nova', subject: 'libvirt: faster spawn', owner: 'alice' }).number;
    sim.uploadPatchSet(broken, { files: { 'nova/libvirt_driver.txt': 'spawn=broken\n' } });
    await sync(loaded);

    await sshd.host('host1').stop();
    await work(loaded, 1);
    const [first, second] = await jobsOf(broken);
    expect(first, first!.message).to.deep.include({ patchSet: 2, status: 'infra_failed', attempt: 1 });
    expect(second).to.deep.include({ patchSet: 2, status: 'queued', attempt: 2, retryOf: first!.id });
    const waiting = await comment(loaded);
    expect(waiting.waiting.map((w) => w.reason)).to.deep.equal([`nova-libvirt: ${second!.id} is queued`]);
    expect(reviewsOf(broken), 'no vote for the machinery’s failure').to.deep.equal([]);

    await sshd.host('host1').start();
    await work(loaded);
    const retry = (await jobsOf(broken)).find((j) => j.attempt === 2)!;
    expect(retry, retry.message).to.deep.include({ status: 'test_failed', failedTests: [LIBVIRT_TEST] });
    [firstBaseline] = await baselines();
    expect(firstBaseline, 'a baseline ran on master, first in line').to.deep.include({ status: 'success', template: 'nova-libvirt', id: retry.comparedWith });
    const master = sim.getChange(broken)!.patchSets[1]!.parent;
    expect(firstBaseline.sources![0]).to.include({ revision: master, changed: true }).and.not.have.property('mergeTarget');

    await comment(loaded);
    const [review] = reviewsOf(broken);
    record('patch set 2 (retry after the infrastructure failure)', review!);
    expect(review).to.deep.include({ patchSet: 2, labels: { Verified: -1 } });
    expect(review!.message).to.contain(`${LIBVIRT_TEST} — new failure: passes on master at ${master!.slice(0, 7)}`);
  });

  it('3. patch sets 3 and 4 are each tested; the run of 3 is stopped when 4 arrives, and 4 reuses the baseline', async () => {
    const loaded = configure(['nova-libvirt']);
    sim.uploadPatchSet(broken, { files: { 'nova/libvirt_driver.txt': 'spawn=broken\nslow=yes\n' } });
    await sync(loaded);
    const worker = work(loaded);
    await waitFor('patch set 3 to be under test', () => fs.existsSync(path.join(dir, 'slow-run-started')), 120_000, 100);
    sim.uploadPatchSet(broken, { files: { 'nova/libvirt_driver.txt': 'spawn=broken\nslow=no\n' } });
    await sync(loaded);
    await worker;

    const jobs = await jobsOf(broken);
    const ps3 = jobs.find((j) => j.patchSet === 3)!;
    expect(ps3.status).to.equal('superseded');
    expect(ps3.message).to.match(/stopped while running/);
    const ps4 = jobs.find((j) => j.patchSet === 4)!;
    expect(ps4, ps4.message).to.deep.include({ status: 'test_failed', comparedWith: firstBaseline.id });
    expect(await baselines(), 'master has not moved: the baseline is reused').to.have.length(1);

    await comment(loaded);
    const reviews = reviewsOf(broken);
    expect(reviews.map((r) => [r.patchSet, r.labels.Verified])).to.deep.equal([
      [2, -1],
      [4, -1],
    ]);
    record('patch set 4 (patch set 3 was stopped)', reviews[1]!);
    expect(reviews[1]!.message).to.contain(`${LIBVIRT_TEST} — new failure: passes on master at`);
  });

  it('4. a second template on hosts without libvirt skips the required test: no +1, and the review says why', async () => {
    const loaded = configure(['nova-libvirt', 'nova-gate']);
    const other = sim.createChange({ project: 'nova', subject: 'docs: spawn notes', owner: 'alice', files: { 'doc/spawn.txt': 'notes\n' } }).number;
    await sync(loaded);
    await work(loaded);
    const jobs = await jobsOf(other);
    expect(jobs.map((j) => [j.template, j.status])).to.have.deep.members([
      ['nova-libvirt', 'success'],
      ['nova-gate', 'incomplete'],
    ]);
    expect(jobs.find((j) => j.template === 'nova-gate')!.requiredSkipped).to.deep.equal([
      { id: LIBVIRT_TEST, pattern: REQUIRED[0], reason: 'libvirt not available', template: 'nova-gate' },
    ]);

    await comment(loaded);
    const [review] = reviewsOf(other);
    record('another change, with the template whose hosts lack libvirt', review!);
    expect(review!.labels, 'neither +1 nor -1').to.deep.equal({});
    expect(review!.message.split('\n')[0]).to.equal('SmokeStack: tests required by template nova-gate did not run for patch set 1: no vote.');
    expect(review!.message).to.contain(`${LIBVIRT_TEST} — skipped: libvirt not available — required by template nova-gate`);
    expect(reviewsOf(broken), 'the change reported on patch set 4 is not reported again').to.have.length(2);
  });

  it('5. the broken change is merged anyway; the next change fails the same test, master fails it too: no -1, pre-existing', async () => {
    const loaded = configure(['nova-libvirt', 'nova-gate']);
    sim.merge(broken);
    fs.writeFileSync(marker(sshd.host('host2')), 'libvirt\n'); // libvirt is installed on the gate hosts too
    const next = sim.createChange({ project: 'nova', subject: 'network: tidy up', owner: 'alice', files: { 'nova/network.txt': 'tidy\n' } }).number;
    await sync(loaded);
    await work(loaded);
    const master = sim.getChange(next)!.patchSets[0]!.parent!;
    const jobs = await jobsOf(next);
    expect(jobs.map((j) => [j.template, j.status, j.failedTests])).to.have.deep.members([
      ['nova-libvirt', 'test_failed', [LIBVIRT_TEST]],
      ['nova-gate', 'test_failed', [LIBVIRT_TEST]],
    ]);
    const onMaster = (await baselines()).filter((b) => jobs.some((j) => j.comparedWith === b.id));
    expect(onMaster.map((b) => [b.template, b.status, b.failedTests, b.sources![0]!.revision])).to.have.deep.members([
      ['nova-libvirt', 'test_failed', [LIBVIRT_TEST], master],
      ['nova-gate', 'test_failed', [LIBVIRT_TEST], master],
    ]);

    await comment(loaded);
    const [review] = reviewsOf(next);
    record('the next change, after the broken one was merged', review!);
    expect(review!.labels.Verified, 'no -1 for a failure master already has').to.equal(1);
    for (const t of ['nova-libvirt', 'nova-gate']) expect(review!.message).to.match(new RegExp(`- ${t} .*: TEST_FAILED`));
    expect(review!.message).to.contain(`${LIBVIRT_TEST} also fails on master at ${master.slice(0, 7)} — not caused by this change`);
    expect((await listFlakyTests(store, loaded.config, { now: new Date() })).tests, 'nothing both passed and failed on one revision set').to.deep.equal([]);
  });
});
