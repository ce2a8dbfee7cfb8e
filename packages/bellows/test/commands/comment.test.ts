import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { GerritSim, cliBin, runCli, type CliResult, type SimReview } from '@smokestack/testkit';
import { StateStore, type StateData } from '@smokestack/core';

const PASSWORD = 'pw-comment-once';

/** Reviews per patch set, as `number,patchSet` → count. */
function reviewsPerPatchSet(reviews: SimReview[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reviews) out[`${r.number},${r.patchSet}`] = (out[`${r.number},${r.patchSet}`] ?? 0) + 1;
  return out;
}

describe('bellows comment (built bin against the Gerrit simulator)', function () {
  this.timeout(120_000);
  let sim: GerritSim;
  let dir: string;
  let env: Record<string, string>;
  let store: StateStore;

  const bellows = (args: string[]): Promise<CliResult> => runCli('bellows', args, { env, cwd: dir, timeoutMs: 60_000 });

  /** A fresh simulator and store with `count` changes synced and every job of them finished. */
  async function setUp(count: number, templates: Record<string, unknown> = { smoke: { autoApprove: true } }): Promise<void> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-comment-'));
    sim = await GerritSim.start({
      users: [
        { username: 'smokestack', password: PASSWORD, name: 'SmokeStack CI', email: 'ci@example.org' },
        { username: 'alice', password: 'alice-secret', name: 'Alice Developer', email: 'alice@example.org' },
      ],
    });
    sim.createProject('nova');
    for (let i = 0; i < count; i++) sim.createChange({ project: 'nova', subject: `change ${i}` });
    const config = {
      gerrit: { url: sim.httpUrl, username: 'smokestack', settleSeconds: 0 },
      state: 'state.json',
      projects: [{ name: 'nova', templates: Object.keys(templates) }],
      templates,
    };
    fs.writeFileSync(path.join(dir, 'smokestack.yaml'), YAML.stringify(config));
    env = {
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
      XDG_STATE_HOME: path.join(dir, 'xdg-state'),
      SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'),
      GERRIT_HTTP_PASSWORD: PASSWORD,
    };
    store = new StateStore(path.join(dir, 'state.json'));
    const sync = await bellows(['sync', '--fire', '--json']);
    expect(sync.code, sync.stderr).to.equal(0);
  }

  const finishAll = (status: 'success' | 'test_failed') =>
    store.update((s: StateData) => {
      for (const job of Object.values(s.jobs)) {
        if (job.status === 'queued') Object.assign(job, { status, startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() });
      }
    });

  afterEach(async () => {
    await sim?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an infrastructure failure on the real worker is retried as the last allowed attempt, and its success votes +1', async () => {
    const attempts = path.join(os.tmpdir(), `attempts-${process.pid}-${Date.now()}`);
    // The first attempt loses its test script as a dying host or the OOM killer would take it.
    const killTestScript = `kill -9 "$(cut -d' ' -f6 /proc/$$/stat)"; sleep 1`;
    const suite = { name: 'unlucky', command: `echo x >> '${attempts}'; [ "$(wc -l < '${attempts}')" -ge 2 ] || { ${killTestScript}; }` };
    await setUp(1, { smoke: { group: { provider: 'local', hosts: [{ name: 'solo' }] }, suites: [suite], maxInfraRetries: 1 } });
    const worker = (args: string[]) => runCli('firestack', ['worker', '--once', '--json', ...args], { env, cwd: dir, timeoutMs: 90_000 });
    const statuses = (r: CliResult) => r.json<{ jobs: Array<{ status: string }> }>().jobs.map((j) => j.status);
    try {
      const first = await worker(['--max-jobs', '1']);
      expect(statuses(first), first.stderr).to.deep.equal(['infra_failed']);
      const waiting = (await bellows(['comment', '--json'])).json<{ posted: unknown[]; waiting: Array<{ reason: string }> }>();
      expect(waiting.posted).to.deep.equal([]);
      expect(waiting.waiting.map((w) => w.reason)).to.deep.equal(['smoke: j2 is queued']);
      expect(sim.reviews()).to.deep.equal([]);
      const second = await worker([]);
      expect(statuses(second), second.stderr).to.deep.equal(['success']);
      const comment = await bellows(['comment', '--json']);
      expect(comment.json<{ posted: Array<{ vote: number }> }>().posted.map((p) => p.vote)).to.deep.equal([1]);
      expect(sim.reviews().map((r) => r.labels)).to.deep.equal([{ Verified: 1 }]);
    } finally {
      fs.rmSync(attempts, { force: true });
    }
  });

  it('three runs started together post exactly one review per patch set', async () => {
    await setUp(4);
    await finishAll('success');
    // Every Gerrit answer takes a while, so the runs overlap as a slow cron run and the next one do.
    sim.setFaults({ latencyMs: 150 });
    const runs = await Promise.all([1, 2, 3].map(() => bellows(['comment', '--json'])));
    for (const run of runs) expect(run.code, run.stderr).to.equal(0);
    expect(reviewsPerPatchSet(sim.reviews())).to.deep.equal({ '1,1': 1, '2,1': 1, '3,1': 1, '4,1': 1 });
    const votes = Object.values((await store.read()).votes);
    expect(votes.map((v) => [v.number, v.vote])).to.have.deep.members([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
    sim.setFaults({});
    const again = await bellows(['comment', '--json']);
    expect(again.json<{ posted: unknown[] }>().posted).to.deep.equal([]);
    expect(sim.reviews()).to.have.length(4);
  });

  it('a run killed right after Gerrit accepted its review does not post it again', async () => {
    await setUp(2);
    await finishAll('test_failed');
    const child = spawn(process.execPath, [cliBin('bellows'), 'comment'], { env: { ...process.env, ...env }, cwd: dir, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    // Gerrit has stored the review; the client dies before it hears so.
    const unsubscribe = sim.onReview(async () => {
      unsubscribe();
      child.kill('SIGKILL');
      await exited;
    });
    expect(await exited).to.equal('SIGKILL');
    expect(sim.reviews()).to.have.length(1);
    const next = await bellows(['comment', '--json']);
    expect(next.code, next.stderr).to.equal(0);
    expect(reviewsPerPatchSet(sim.reviews())).to.deep.equal({ '1,1': 1, '2,1': 1 });
    expect(sim.reviews().map((r) => r.labels)).to.deep.equal([{ Verified: -1 }, { Verified: -1 }]);
    const votes = (await store.read()).votes;
    expect(Object.values(votes).map((v) => [v.number, v.vote])).to.have.deep.members([
      [1, -1],
      [2, -1],
    ]);
    expect((await bellows(['comment', '--json'])).json<{ posted: unknown[] }>().posted).to.deep.equal([]);
    expect(sim.reviews()).to.have.length(2);
  });
});
