import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { StateStore } from '@smokestack/core/store';
import type { Job } from '@smokestack/core/model';
import { jobRecord, runCli } from '@smokestack/testkit';

/** A tempest job queued five minutes ago. */
const job = (id: string, overrides: Partial<Job>): Job => jobRecord(id, { createdAt: new Date(Date.now() - 5 * 60_000).toISOString(), ...overrides });

describe('bellows status and bellows pages', () => {
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-status-'));
    fs.writeFileSync(path.join(dir, 'smokestack.yaml'), 'web:\n  dir: site\n  url: https://ci.example.org/smokestack\n');
    env = { SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'), SMOKESTACK_STATE: path.join(dir, 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
    const store = new StateStore(path.join(dir, 'state.json'));
    const now = Date.now();
    await store.update((s) => {
      s.jobs.j1 = job('j1', { status: 'running', worker: 'ci1:42', startedAt: new Date(now - 60_000).toISOString(), heartbeatAt: new Date(now - 5_000).toISOString() });
      s.jobs.j2 = job('j2', { template: 'unit' });
      s.jobs.j3 = job('j3', { status: 'running', worker: 'ci2:7', template: 'unit', number: 99, createdAt: new Date(now - 7_200_000).toISOString(), startedAt: new Date(now - 3_600_000).toISOString(), heartbeatAt: new Date(now - 3_000_000).toISOString() });
      s.activity = { sync: { at: new Date(now - 120_000).toISOString(), ok: false, summary: 'openstack/nova master: HTTP 503', lastOkAt: new Date(now - 600_000).toISOString() } };
    });
    fs.mkdirSync(path.join(dir, 'jobs', 'j1', 'logs'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'jobs', 'j1', 'logs', 'build.log'), 'building\n');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--json: running and queued jobs by pool, each worker alive or silent by its heartbeat, and the last sync with its failure', async () => {
    const run = await runCli('bellows', ['status', '--json'], { env });
    expect(run.code, run.stderr).to.equal(0);
    const { status } = run.json<{ status: { counts: object; pools: Array<{ name: string; running: Array<{ id: string }>; queued: Array<{ id: string }> }>; workers: Array<{ name: string; alive: boolean }>; activity: Array<{ kind: string; state: string; summary: string }> } }>();
    expect(status.counts).to.deep.equal({ queued: 1, running: 2 });
    expect(status.pools.map((p) => ({ name: p.name, running: p.running.map((j) => j.id), queued: p.queued.map((j) => j.id) }))).to.deep.equal([{ name: 'default', running: ['j3', 'j1'], queued: ['j2'] }]);
    expect(status.workers.map((w) => [w.name, w.alive])).to.deep.equal([['ci1:42', true], ['ci2:7', false]]);
    expect(status.activity.find((a) => a.kind === 'sync')).to.deep.include({ state: 'failed', summary: 'openstack/nova master: HTTP 503' });
    expect(status.activity.find((a) => a.kind === 'comment')).to.deep.include({ state: 'never' });
  });

  it('--write puts the status page and its JSON in web.dir and says where it is served', async () => {
    const run = await runCli('bellows', ['status', '--write'], { env });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('status page: https://ci.example.org/smokestack/status/');
    expect(run.stdout).to.match(/ci2:7 SILENT, last heartbeat 50m \d+s ago/);
    const html = fs.readFileSync(path.join(dir, 'site', 'status', 'index.html'), 'utf8');
    expect(html).to.include('ci1:42');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'site', 'status', 'status.json'), 'utf8')).counts).to.deep.equal({ queued: 1, running: 2 });
  });

  it('bellows pages writes the page of every started job, and the running one says it is still going', async () => {
    const run = await runCli('bellows', ['pages', '--json'], { env });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.json<{ pages: Array<{ job: string; page: string }> }>().pages).to.deep.equal([
      { job: 'j1', page: 'https://ci.example.org/smokestack/jobs/j1/' },
      { job: 'j3', page: 'https://ci.example.org/smokestack/jobs/j3/' },
    ]);
    const html = fs.readFileSync(path.join(dir, 'site', 'jobs', 'j1', 'index.html'), 'utf8');
    expect(html).to.include('while the job was still going');
    expect(fs.readFileSync(path.join(dir, 'site', 'jobs', 'j1', 'raw', 'logs', 'build.log'), 'utf8')).to.equal('building\n');
    const unknown = await runCli('bellows', ['pages', 'j404'], { env });
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr.trim().split('\n')[0]).to.match(/j404/);
  });
});
