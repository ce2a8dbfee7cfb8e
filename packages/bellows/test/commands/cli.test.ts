import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';
import { GerritSim, waitFor as until } from '@smokestack/testkit';
import { StateStore, generateSshKeyPair, type Job, type StateData } from '@smokestack/core';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'run.js');
const PASSWORD = 'pw-Xy9-very-private';


describe('bellows CLI (built bin against the Gerrit simulator)', function () {
  this.timeout(60_000);
  let sim: GerritSim;
  let dir: string;
  let env: Record<string, string>;
  let store: StateStore;

  const bellows = (args: string[], extra: { input?: string; env?: Record<string, string> } = {}) =>
    execa('node', [BIN, ...args], { env: { ...env, ...extra.env }, extendEnv: false, reject: false, input: extra.input, timeout: 30_000 });
  const json = async (args: string[]) => {
    const r = await bellows([...args, '--json']);
    expect(r.stdout + r.stderr).to.not.include(PASSWORD);
    return { ...r, data: JSON.parse(r.stdout) as Record<string, unknown> };
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-cli-'));
    const key = generateSshKeyPair();
    fs.writeFileSync(path.join(dir, 'id_ed25519'), key.private, { mode: 0o600 });
    sim = await GerritSim.start({
      users: [
        { username: 'smokestack', password: PASSWORD, name: 'SmokeStack CI', email: 'ci@example.org', sshPublicKey: key.public },
        { username: 'alice', password: 'alice-secret', name: 'Alice Developer', email: 'alice@example.org' },
      ],
    });
    sim.createProject('nova');
    fs.writeFileSync(`${dir}/known_hosts`, `[${sim.sshHost}]:${sim.sshPort} ${sim.hostPublicKey}\n`);
    const config = {
      gerrit: {
        url: sim.httpUrl,
        username: 'smokestack',
        settleSeconds: 0,
        ssh: { host: sim.sshHost, port: sim.sshPort, identityFile: path.join(dir, 'id_ed25519'), knownHosts: path.join(dir, 'known_hosts'), keepaliveSeconds: 1, silenceSeconds: 30 },
      },
      state: 'state.json',
      projects: [{ name: 'nova', templates: ['smoke'] }],
      templates: { smoke: { autoApprove: true } },
    };
    fs.writeFileSync(path.join(dir, 'smokestack.yaml'), YAML.stringify(config));
    env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
      XDG_STATE_HOME: path.join(dir, 'xdg-state'),
      SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'),
      GERRIT_HTTP_PASSWORD: PASSWORD,
      NO_COLOR: '1',
    };
    store = new StateStore(path.join(dir, 'state.json'));
  });
  after(async () => {
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sync --fire creates configs and jobs once; a second run queues nothing', async () => {
    sim.createChange({ project: 'nova', subject: 'first' });
    sim.createChange({ project: 'nova', subject: 'second' });
    const first = await json(['sync', '--fire']);
    expect(first.exitCode).to.equal(0);
    expect(first.data.created).to.have.members(['nova~1', 'nova~2']);
    expect((first.data.queued as Job[]).map((j) => j.id)).to.have.members(['j1', 'j2']);
    const again = await bellows(['sync', '--fire']);
    expect(again.stdout).to.match(/^0 config\(s\) created, 0 updated, 0 purged; 0 job\(s\) superseded, 0 cancelled, 0 queued \(1 Gerrit request\(s\)\)/);
  });

  it('an unknown project is a one-line user error', async () => {
    const r = await bellows(['sync', 'nope']);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr.trim()).to.equal('bellows: error: project "nope" is not configured (configured: nova)');
  });

  it('comment --dry-run shows the review; comment posts it once', async () => {
    await store.update((s: StateData) => {
      for (const job of Object.values(s.jobs)) Object.assign(job, { status: 'success', finishedAt: new Date().toISOString() });
    });
    const dry = await json(['comment', '--dry-run']);
    expect((dry.data.posted as unknown[]).length).to.equal(2);
    expect(sim.reviews()).to.deep.equal([]);
    const real = await json(['comment']);
    expect((real.data.posted as Array<{ vote: number }>).map((p) => p.vote)).to.deep.equal([1, 1]);
    await json(['comment']);
    expect(sim.reviews().map((r) => [r.number, r.labels.Verified])).to.have.deep.members([
      [1, 1],
      [2, 1],
    ]);
  });

  it('jobs retry, cancel and approve change jobs and refuse what makes no sense', async () => {
    const retried = await json(['jobs', 'retry', 'j1']);
    const newId = (retried.data.job as Job).id;
    expect(retried.data.job).to.include({ attempt: 2, status: 'queued', reason: 'retry' });
    const cancelled = await json(['jobs', 'cancel', newId]);
    expect(cancelled.data.job).to.include({ status: 'cancelled' });
    const refused = await bellows(['jobs', 'approve', 'j1']);
    expect(refused.exitCode).to.equal(1);
    expect(refused.stderr).to.include('bellows: error: job j1: only failed jobs can be approved (it is success)');
  });

  it('purge removes merged changes and fire --limit queues jobs', async () => {
    sim.merge(1);
    const purged = await json(['purge']);
    expect(purged.data.purged).to.deep.equal([{ configId: 'nova~1', status: 'MERGED' }]);
    sim.createChange({ project: 'nova', subject: 'third' });
    sim.createChange({ project: 'nova', subject: 'fourth' });
    await json(['sync']);
    const fired = await json(['fire', '--limit', '1']);
    expect((fired.data.queued as Job[]).map((j) => j.number)).to.deep.equal([3]);
  });

  it('login --password-stdin checks and stores the password 0600', async () => {
    const r = await bellows(['login', '--password-stdin', '--json'], { input: `${PASSWORD}\n`, env: { GERRIT_HTTP_PASSWORD: '' } });
    expect(r.exitCode, r.stderr).to.equal(0);
    const data = JSON.parse(r.stdout) as { file: string; verified: boolean };
    expect(data.verified).to.equal(true);
    expect(fs.statSync(data.file).mode & 0o777).to.equal(0o600);
    expect(r.stdout + r.stderr).to.not.include(PASSWORD);
    // The stored password is found without the environment variable.
    const sync = await bellows(['sync', '--json'], { env: { GERRIT_HTTP_PASSWORD: '' } });
    expect(sync.exitCode, sync.stderr).to.equal(0);
  });

  it('stream --fire acts on events and exits 0 on SIGTERM', async () => {
    const child: ResultPromise = execa('node', [BIN, 'stream', '--fire'], { env, extendEnv: false, reject: false });
    try {
      await until('the stream to connect', () => sim.streamCount === 1);
      const c = sim.createChange({ project: 'nova', subject: 'streamed' });
      await until('the job of the streamed change', async () => Object.values((await store.read()).jobs).some((j) => j.number === c.number));
    } finally {
      child.kill('SIGTERM');
    }
    const r = await child;
    expect(r.exitCode, String(r.stderr)).to.equal(0);
    expect(String(r.stdout)).to.match(/Stopped after \d+ event\(s\)/);
    expect(String(r.stdout) + String(r.stderr)).to.not.include(PASSWORD);
  });
});
