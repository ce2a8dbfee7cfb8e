import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { RECENT_FINISHED_KEPT, StateStore, enqueueJob, type Job, type TestConfig } from '@smokestack/core';
import { HOSTILE_TEXT as HOSTILE, foreignControls, runCli, runCliOnTerminal } from '@smokestack/testkit';

describe('bellows read commands over the store', () => {
  let dir: string;
  let state: string;
  let env: Record<string, string>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bellows-read-'));
    state = path.join(dir, 'state.json');
    // Isolate from any user config on the machine.
    env = { SMOKESTACK_STATE: state, XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
    const store = new StateStore(state);
    await store.update((s) => {
      const config: TestConfig = {
        id: 'openstack/nova~101',
        project: 'openstack/nova',
        branch: 'master',
        number: 101,
        description: 'Alice: Fix libvirt snapshot',
        branches: { 'openstack/nova': { url: 'https://review.example.org/openstack/nova', ref: 'refs/changes/01/101/2' } },
        templates: ['nova-smoke'],
        patchSet: 2,
        revision: 'a'.repeat(40),
        ref: 'refs/changes/01/101/2',
        updatedAt: '2026-11-22T09:00:00.000Z',
      };
      s.configs[config.id] = config;
      const base = { configId: config.id, project: 'openstack/nova', number: 101, template: 'nova-smoke' };
      const old = enqueueJob(s, { ...base, patchSet: 1, revision: 'b'.repeat(40) }, new Date('2026-11-22T08:00:00Z'));
      old.status = 'superseded';
      const running = enqueueJob(s, { ...base, patchSet: 2, revision: 'a'.repeat(40) }, new Date('2026-11-22T09:00:00Z'));
      running.status = 'running';
      const glance = enqueueJob(
        s,
        { configId: 'openstack/glance~7', project: 'openstack/glance', number: 7, patchSet: 1, revision: 'c'.repeat(40), template: 'glance' },
        new Date('2026-11-22T09:30:00Z'),
      );
      Object.assign(glance, {
        status: 'success',
        startedAt: '2026-11-22T09:31:00.000Z',
        finishedAt: '2026-11-22T09:32:05.000Z',
        summary: { tests: 12, failures: 0, errors: 0, skipped: 2, durationMs: 50_000 },
        skipped: [{ id: 'tests.libvirt.test_snapshot', reason: 'libvirt not available' }, { id: 'tests.test_x' }],
        configuration: { database: 'postgresql' },
        dependencies: [{ project: 'openstack/oslo', number: 5, branch: 'master', status: 'NEW', patchSet: 3, revision: 'e'.repeat(40), ref: 'refs/changes/05/5/3', url: 'https://review.example.org/openstack/oslo' }],
        sources: [
          {
            kind: 'build', name: 'glance', project: 'openstack/glance', url: 'https://review.example.org/openstack/glance', ref: 'refs/changes/07/7/1', revision: 'c'.repeat(40), changed: true,
            mergeTarget: 'master', mergeTargetRevision: 'd'.repeat(40),
          },
          {
            kind: 'build', name: 'oslo', project: 'openstack/oslo', url: 'https://review.example.org/openstack/oslo', ref: 'refs/changes/04/4/2', revision: 'a1'.repeat(20), changed: true,
            merges: [{ name: 'openstack/oslo change 5,3', url: 'https://review.example.org/openstack/oslo', ref: 'refs/changes/05/5/3', revision: 'e'.repeat(40) }],
          },
        ],
      } satisfies Partial<Job>);
    });
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists jobs as JSON, filtered by status and project', async () => {
    const all = await runCli('bellows', ['jobs', 'list', '--json'], { env });
    expect(all.code).to.equal(0);
    expect(all.json<{ jobs: Job[] }>().jobs.map((j) => j.id)).to.deep.equal(['j3', 'j2', 'j1']);
    const running = await runCli('bellows', ['jobs', 'list', '--status', 'running', '--json'], { env });
    expect(running.json<{ jobs: Job[] }>().jobs.map((j) => j.id)).to.deep.equal(['j2']);
    const glance = await runCli('bellows', ['jobs', 'list', '--project', 'openstack/glance', '--json'], { env });
    expect(glance.json<{ jobs: Job[] }>().jobs.map((j) => j.id)).to.deep.equal(['j3']);
  });

  it('reaches history the live state no longer holds: list --json streams it, show finds it, retry says why not', async () => {
    const historyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bellows-history-'));
    try {
      const historyEnv = { ...env, SMOKESTACK_STATE: path.join(historyDir, 'state.json') };
      const store = new StateStore(historyEnv.SMOKESTACK_STATE);
      const count = RECENT_FINISHED_KEPT + 30;
      await store.update((s) => {
        for (let i = 0; i < count; i++) {
          const job = enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: 't' }, new Date(Date.UTC(2026, 0, 1, 0, i)));
          Object.assign(job, { status: 'success', finishedAt: new Date(Date.UTC(2026, 0, 1, 0, i, 30)).toISOString() });
        }
      });
      expect(Object.keys((await store.read()).jobs)).to.have.length(RECENT_FINISHED_KEPT);
      const all = await runCli('bellows', ['jobs', 'list', '--json'], { env: historyEnv });
      expect(all.code).to.equal(0);
      const ids = all.json<{ jobs: Job[] }>().jobs.map((j) => j.id);
      expect(ids).to.have.length(count);
      expect(ids.at(-1)).to.equal('j1');
      const show = await runCli('bellows', ['jobs', 'show', 'j1', '--json'], { env: historyEnv });
      expect(show.code).to.equal(0);
      expect(show.json<{ job: Job }>().job).to.include({ id: 'j1', status: 'success' });
      const retry = await runCli('bellows', ['jobs', 'retry', 'j1'], { env: historyEnv });
      expect(retry.code).to.equal(1);
      expect(retry.stderr).to.match(/job j1: cannot retry it: it is history \(success, p 1,1 is no longer a current patch set\)/);
    } finally {
      fs.rmSync(historyDir, { recursive: true, force: true });
    }
  });

  it('prints a table for people, without colour codes when piped', async () => {
    const result = await runCli('bellows', ['jobs', 'list'], { env: { ...env, NO_COLOR: '', FORCE_COLOR: '' } });
    expect(result.code).to.equal(0);
    expect(result.stdout).to.not.contain('\u001b[');
    expect(result.stdout).to.match(/j2\s.*openstack\/nova\s.*101,2\s.*nova-smoke\s.*running/);
    expect(result.stdout).to.match(/j3\s.*openstack\/glance.*glance \[database=postgresql\]\s.*success\s.*12\s.*0\s.*2\s.*1m 5s/);
  });

  it('shows one job with its skipped tests and where its logs are', async () => {
    const result = await runCli('bellows', ['jobs', 'show', 'j3'], { env });
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain('12 tests, 0 failures, 0 errors, 2 skipped in 50s');
    expect(result.stdout).to.contain('(took 1m 5s)');
    expect(result.stdout).to.contain('tests.libvirt.test_snapshot (libvirt not available)');
    expect(result.stdout).to.contain(path.join(dir, 'jobs', 'j3'));
    expect(result.stdout).to.contain('axes:      database=postgresql');
    expect(result.stdout).to.contain('depends on: openstack/oslo 5,3');
    // Every source with the revision it resolved to, its merge with trunk, and the changes merged into it.
    expect(result.stdout).to.contain(`  openstack/glance: refs/changes/07/7/1 at ${'c'.repeat(40)} (under test), merged onto master at ${'d'.repeat(40)}`);
    expect(result.stdout).to.contain(`    + openstack/oslo change 5,3: refs/changes/05/5/3 at ${'e'.repeat(12)}`);
    const json = (await runCli('bellows', ['jobs', 'show', 'j3', '--json'], { env })).json<{ job: Job }>();
    expect(json.job.summary.skipped).to.equal(2);
    expect(json.job.configuration).to.deep.equal({ database: 'postgresql' });
  });

  it('lists test configs', async () => {
    const result = await runCli('bellows', ['configs', 'list', '--json'], { env });
    expect(result.json<{ configs: TestConfig[] }>().configs.map((c) => c.id)).to.deep.equal(['openstack/nova~101']);
    const table = await runCli('bellows', ['configs', 'list'], { env });
    expect(table.stdout).to.match(/101\s.*openstack\/nova\s.*2\s.*nova-smoke\s.*Alice: Fix libvirt snapshot/);
  });

  it('answers a bad status or unknown job with one line on stderr and a non-zero exit', async () => {
    const bad = await runCli('bellows', ['jobs', 'list', '--status', 'bogus'], { env });
    expect(bad.code).to.equal(1);
    expect(bad.stderr.trim().split('\n')).to.have.length(1);
    expect(bad.stderr).to.match(/^bellows: error: --status: unknown job status "bogus"/);
    const missing = await runCli('bellows', ['jobs', 'show', 'j99'], { env });
    expect(missing.code).to.equal(1);
    expect(missing.stderr.trim()).to.equal('bellows: error: job j99: not found in the state store (list jobs with: bellows jobs list)');
  });

  it('refuses a corrupt store with one line naming the path, leaving it untouched', async () => {
    const corrupt = path.join(dir, 'corrupt.json');
    fs.writeFileSync(corrupt, '{"jobs": {');
    const result = await runCli('bellows', ['jobs', 'list', '--state', corrupt], { env });
    expect(result.code).to.equal(1);
    expect(result.stderr.trim().split('\n')).to.have.length(1);
    expect(result.stderr).to.contain(`${corrupt}: corrupt state store`);
    expect(fs.readFileSync(corrupt, 'utf8')).to.equal('{"jobs": {');
  });

  it('names the file and key path of a bad config in one line', async () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'cfg-'));
    fs.writeFileSync(path.join(cwd, 'smokestack.yaml'), 'projects:\n  - name: a\n  - name: b\n  - name: c\n    branch: 3\n');
    const result = await runCli('bellows', ['configs', 'list'], { env, cwd });
    expect(result.code).to.equal(1);
    expect(result.stderr.trim()).to.equal('bellows: error: smokestack.yaml: projects[2].branch: expected a string');
  });

  it('says what is wrong when the store path is a directory', async () => {
    const weird = path.join(dir, 'is-a-dir.json');
    fs.mkdirSync(weird, { recursive: true });
    const result = await runCli('bellows', ['jobs', 'list', '--state', weird], { env });
    expect(result.code).to.equal(1);
    expect(result.stderr.trim()).to.equal(`bellows: error: ${weird}: cannot read the state store (EISDIR)`);
  });

  it('prunes old finished jobs with --older-than, keeping current patch sets\' results', async () => {
    const pruneState = path.join(dir, 'prune', 'state.json');
    const ids = await new StateStore(pruneState).update((s) => {
      const long = new Date('2025-01-01T00:00:00Z');
      const base = { configId: 'p~1', project: 'p', number: 1, revision: 'r', template: 't' };
      s.configs['p~1'] = { id: 'p~1', project: 'p', branch: 'master', number: 1, description: 'x', branches: {}, templates: ['t'], patchSet: 2, revision: 'r', ref: 'refs/changes/01/1/2', updatedAt: long.toISOString() };
      const old = enqueueJob(s, { ...base, patchSet: 1 }, long);
      const current = enqueueJob(s, { ...base, patchSet: 2 }, long);
      for (const job of [old, current]) Object.assign(job, { status: 'success', finishedAt: long.toISOString() });
      return [old.id, current.id];
    });
    const pruneEnv = { ...env, SMOKESTACK_STATE: pruneState };
    const dry = await runCli('bellows', ['jobs', 'prune', '--older-than', '30d', '--dry-run', '--json'], { env: pruneEnv });
    expect(dry.code).to.equal(0);
    expect(dry.json<{ remove: string[]; keptCurrent: number }>()).to.include({ keptCurrent: 1 }).and.to.deep.include({ remove: [ids[0]] });
    const done = await runCli('bellows', ['jobs', 'prune', '--older-than', '30d'], { env: pruneEnv });
    expect(done.stdout).to.contain('Removed 1 job(s)');
    const left = (await runCli('bellows', ['jobs', 'list', '--json'], { env: pruneEnv })).json<{ jobs: Job[] }>().jobs.map((j) => j.id);
    expect(left).to.deep.equal([ids[1]]);
    const bad = await runCli('bellows', ['jobs', 'prune', '--older-than', 'soon'], { env: pruneEnv });
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/^bellows: error: --older-than: "soon" is not an age/);
  });
});

describe('bellows read commands with hostile text in the store', () => {
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bellows-hostile-'));
    env = { SMOKESTACK_STATE: path.join(dir, 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
    await new StateStore(env.SMOKESTACK_STATE!).update((s) => {
      s.configs['p~1'] = {
        id: 'p~1', project: 'p', branch: 'master', number: 1, description: `Mallory ${HOSTILE}: ${HOSTILE}`, branches: {},
        templates: ['t'], patchSet: 1, revision: 'r', ref: 'refs/changes/01/1/1', updatedAt: '2026-11-22T09:00:00.000Z',
      };
      const job = enqueueJob(s, { configId: 'p~1', project: 'p', number: 1, patchSet: 1, revision: 'r', template: HOSTILE }, new Date('2026-11-22T09:00:00Z'));
      Object.assign(job, { status: 'test_failed', message: `suite said ${HOSTILE}`, failedTests: [HOSTILE] });
    });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const args of [['configs', 'list'], ['jobs', 'list'], ['jobs', 'show', 'j1']]) {
    it(`bellows ${args.join(' ')} prints no escape sequence or control character from the data, on a terminal or piped`, async () => {
      const terminal = await runCliOnTerminal('bellows', args, { env });
      expect(terminal.code).to.equal(0);
      expect(terminal.text).to.contain('title');
      expect(foreignControls(terminal.raw)).to.deep.equal([]);
      const piped = await runCli('bellows', args, { env });
      expect(piped.stdout).to.contain('hidden');
      expect(foreignControls(piped.stdout + piped.stderr)).to.deep.equal([]);
    });
  }
});
