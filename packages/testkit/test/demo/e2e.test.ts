import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import type { Job, StateData, TestConfig } from '@smokestack/core';
import { DemoEnvironment, DEMO_TEMPLATE, cliBin, containerIdsOfStore, freePort, requireContainers, waitFor } from '@smokestack/testkit';

// The whole SmokeStack cycle against the Gerrit and Launchpad simulators, through the built CLIs:
// sync and fire, a new patch set mid-cycle, a merge, the worker, comments with votes, a recheck
// through the event stream, and the report.
describe('the whole cycle (end to end, on container hosts: needs root, systemd-container, debootstrap)', function () {
  // A first run builds the shared container image too (minutes); every job boots three containers.
  this.timeout(60 * 60_000);
  let dir: string;
  let env: DemoEnvironment;

  const state = (): StateData => JSON.parse(fs.readFileSync(env.stateFile, 'utf8')) as StateData;
  const jobsOf = (number: number): Job[] => Object.values(state().jobs).filter((j) => j.number === number);
  const reviewsOf = (number: number) => env.gerrit.reviews(number).filter((r) => r.by === 'smokestack');

  before(async function () {
    // Every job runs on three container hosts, as in the demo.
    await requireContainers(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-e2e-'));
    // One change of each kind (the demo runs all twelve): superseded then green (with a skipped test),
    // a failing test, a failing build, WIP, merged mid-cycle, and one of the Puppet module.
    env = await DemoEnvironment.start({ dir, changes: ['version-flag', 'greeting', 'packaging', 'rewrite', 'merged-soon', 'config-mode'] });
  });

  after(async () => {
    await env?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sync --fire queues one job per template for every open change but the WIP one', async () => {
    await env.run('bellows', ['sync', '--fire', '--json']);
    const s = state();
    expect(Object.keys(s.configs)).to.have.length(env.changes.length);
    for (const change of env.changes) {
      const config = s.configs[`${change.project}~${change.number}`] as TestConfig;
      const jobs = jobsOf(change.number).filter((j) => j.patchSet === config.patchSet);
      if (change.expect === 'wip') expect(jobs, `${change.key} is WIP`).to.have.length(0);
      else expect(jobs.map((j) => j.template), change.key).to.deep.equal([DEMO_TEMPLATE]);
    }
  });

  it('a new patch set uploaded mid-cycle supersedes the old job and queues the new one', async () => {
    const change = env.change('version-flag');
    const [oldJob] = jobsOf(change.number);
    const ps3 = env.gerrit.uploadPatchSet(change.number, { files: { NEWS: 'version flag\n' } });
    await env.run('bellows', ['sync', '--fire', '--json']);
    const jobs = jobsOf(change.number);
    expect(jobs.find((j) => j.id === oldJob!.id)!.status).to.equal('superseded');
    expect(jobs.filter((j) => j.status === 'queued').map((j) => j.patchSet)).to.deep.equal([ps3.number]);
  });

  it('a merged change is purged and its queued job cancelled', async () => {
    const change = env.change('merged-soon');
    env.gerrit.merge(change.number);
    await env.run('bellows', ['sync', '--fire', '--json']);
    expect(state().configs).to.not.have.property(`${change.project}~${change.number}`);
    expect(jobsOf(change.number).map((j) => j.status)).to.deep.equal(['cancelled']);
  });

  it('the worker runs the queue empty with the outcome each change deserves', async () => {
    await env.run('firestack', ['worker', '--once', '--json']);
    expect(Object.values(state().jobs).filter((j) => j.status === 'queued' || j.status === 'running')).to.deep.equal([]);
    for (const change of env.changes) {
      if (change.expect === 'wip' || change.key === 'merged-soon') continue;
      const current = state().configs[`${change.project}~${change.number}`]!;
      const job = jobsOf(change.number).find((j) => j.patchSet === current.patchSet)!;
      expect(job.status, `${change.key}: ${job.message}`).to.equal(change.expect);
    }
    const failing = jobsOf(env.change('greeting').number)[0]!;
    expect(failing.failedTests).to.include('demoapp.smoke.test_greeting');
    const passing = jobsOf(env.change('version-flag').number).find((j) => j.status === 'success')!;
    expect(passing.summary.skipped).to.equal(1);
    expect(passing.skipped[0]!.id).to.equal('demoapp.smoke.test_listens_on_port');

    // Two at a time, each job on three containers of its own, all gone afterwards.
    const ran = Object.values(state().jobs).filter((j) => j.startedAt && j.finishedAt && j.group);
    expect(new Set(ran.map((j) => j.group)).size, 'one group per job').to.equal(ran.length);
    const span = (j: Job) => [Date.parse(j.startedAt!), Date.parse(j.finishedAt!)] as const;
    const overlapping = ran.some((a) => ran.some((b) => a !== b && span(a)[0] < span(b)[1] && span(b)[0] < span(a)[1]));
    expect(overlapping, 'two jobs ran at the same time').to.equal(true);
    expect(state().groups, 'every group is deleted').to.deep.equal({});
    expect(containerIdsOfStore(env.stateFile), 'no container is left').to.deep.equal([]);
    // Other tests may install demoapp on this machine with the local provider; never a version these jobs built.
    const built = ran.flatMap((j) => {
      const dir = path.join(path.dirname(env.stateFile), 'jobs', j.id, 'packages', 'gw');
      return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('demoapp_')).map((f) => f.split('_')[1]!) : [];
    });
    expect(built.length, 'the packages the jobs built').to.be.at.least(ran.filter((j) => j.status === 'success').length);
    for (const version of built) expect(machineDemoapp(), 'demoapp on this machine').to.not.contain(version);
  });

  it('comment posts exactly one review per current patch set with the right vote, never on an old one', async () => {
    await env.run('bellows', ['comment', '--json']);
    await env.run('bellows', ['comment', '--json']); // a second run must post nothing new
    for (const change of env.changes) {
      const reviews = reviewsOf(change.number);
      if (change.expect === 'wip' || change.key === 'merged-soon') {
        expect(reviews, change.key).to.have.length(0);
        continue;
      }
      const current = state().configs[`${change.project}~${change.number}`]!;
      expect(reviews.map((r) => r.patchSet), change.key).to.deep.equal([current.patchSet]);
      expect(reviews[0]!.labels.Verified, change.key).to.equal(change.expect === 'success' ? 1 : -1);
      expect(reviews[0]!.tag).to.equal('autogenerated:smokestack');
      expect(reviews[0]!.message).to.contain(DEMO_TEMPLATE);
    }
    // The superseded patch set 2 of the version-flag change was never voted.
    expect(reviewsOf(env.change('version-flag').number).filter((r) => r.patchSet === 2)).to.deep.equal([]);
  });

  it('a recheck comment seen on the event stream re-runs the current patch set and reports again', async () => {
    // The change whose package does not build: its job is the shortest, and a recheck tests it again all the same.
    const change = env.change('packaging');
    const before = jobsOf(change.number).length;
    const stream = spawn(process.execPath, [cliBin('bellows'), 'stream', '--fire'], { env: { ...process.env, ...env.env }, stdio: 'ignore' });
    try {
      await waitFor('bellows stream to connect', () => env.gerrit.streamCount > 0, 30_000, 100);
      env.gerrit.comment(change.number, { author: 'alice', message: 'recheck' });
      // The bot's own "recheck" must not trigger anything.
      env.gerrit.comment(env.change('greeting').number, { author: 'smokestack', message: 'recheck' });
      await waitFor('the recheck job', () => jobsOf(change.number).length > before, 30_000, 100);
    } finally {
      await stop(stream);
    }
    expect(jobsOf(env.change('greeting').number)).to.have.length(1);
    const recheck = jobsOf(change.number).find((j) => j.status === 'queued')!;
    expect(recheck.reason).to.equal('recheck');
    await env.run('firestack', ['worker', '--once', '--json']);
    await env.run('bellows', ['comment', '--json']);
    expect(reviewsOf(change.number).map((r) => r.labels.Verified)).to.deep.equal([-1, -1]);
    expect(jobsOf(change.number).map((j) => j.status)).to.deep.equal(['build_failed', 'build_failed']);
  });

  it('an infrastructure failure is retried and then reported without a vote', async () => {
    // An operator adds a lab project whose only host is down (nothing listens on its port).
    const closedPort = await freePort();
    const config = YAML.parse(fs.readFileSync(env.configFile, 'utf8'));
    config.projects.push({ name: 'demo/lab', templates: ['lab'], url: env.gerrit.gitUrl('demo/lab') });
    config.templates.lab = {
      group: {
        name: 'lab',
        provider: 'ssh',
        reachableTimeoutSeconds: 2,
        hosts: [{ name: 'lab1', gateway: true, address: '127.0.0.1', port: closedPort, user: 'root', identityFile: config.gerrit.ssh.identityFile }],
      },
      suites: [{ name: 'smoke', command: 'true' }],
      maxInfraRetries: 1,
    };
    fs.writeFileSync(env.configFile, YAML.stringify(config));
    env.gerrit.createProject('demo/lab');
    const change = env.gerrit.createChange({ project: 'demo/lab', subject: 'Lab tweak', owner: 'alice' });
    await env.run('bellows', ['sync', '--fire', '--json']);
    await env.run('firestack', ['worker', '--once', '--json']);
    const jobs = jobsOf(change.number);
    expect(jobs.map((j) => [j.attempt, j.status])).to.deep.equal([
      [1, 'infra_failed'],
      [2, 'infra_failed'],
    ]);
    expect(jobs[0]!.message).to.contain('lab1');
    await env.run('bellows', ['comment', '--json']);
    const reviews = reviewsOf(change.number);
    expect(reviews, 'the failure is reported once').to.have.length(1);
    expect(reviews[0]!.labels, 'no vote on an infra failure').to.not.have.property('Verified');
    expect(reviews[0]!.message).to.match(/infra/i);
  });

  it('the report lists every open non-WIP change with its results and skipped tests', async () => {
    const result = await env.run('reviewday', ['report', '--out', env.reportDir, '--json']);
    expect(result.code).to.equal(0);
    const report = JSON.parse(fs.readFileSync(path.join(env.reportDir, 'reviewday.json'), 'utf8')) as {
      projects: Record<string, Record<string, { number: number; results: Record<string, { status: string; skipped: number }> }>>;
    };
    const listed = Object.values(report.projects).flatMap((rows) => Object.values(rows));
    const expected = env.changes.filter((c) => c.expect !== 'wip' && c.key !== 'merged-soon');
    const demoRows = [...Object.values(report.projects['demo/demoapp']!), ...Object.values(report.projects['demo/demoapp-puppet']!)];
    expect(demoRows.map((r) => r.number).sort((a, b) => a - b)).to.deep.equal(expected.map((c) => c.number).sort((a, b) => a - b));
    expect(Object.values(report.projects['demo/lab']!).map((r) => r.results.lab!.status)).to.deep.equal(['infra_failed']);
    for (const change of expected) {
      const row = listed.find((r) => r.number === change.number)!;
      expect(row.results[DEMO_TEMPLATE]!.status, change.key).to.equal(change.expect);
      if (change.expect === 'success') expect(row.results[DEMO_TEMPLATE]!.skipped, change.key).to.equal(1);
    }
    expect(fs.readFileSync(path.join(env.reportDir, 'index.html'), 'utf8')).to.contain('Shorter greeting without punctuation');
  });
});


async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const closed = new Promise((resolve) => child.once('close', resolve));
  child.kill('SIGTERM');
  await closed;
}

/** What dpkg on this machine says about demoapp ("absent" when it knows nothing of it). */
function machineDemoapp(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Status} ${Version}', 'demoapp'], { encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return 'absent';
  }
}
