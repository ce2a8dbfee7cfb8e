import { expect } from 'chai';
import { createBellowsContext } from '../../src/bellows/context.js';
import { purgeChanges } from '../../src/bellows/purge.js';
import { Logger } from '../../src/log/logger.js';
import { syncProjects } from '../../src/bellows/sync.js';
import type { StateData } from '../../src/store/schema.js';
import { startHarness, type Harness } from './harness.js';

/** The store content a sync is judged by: configs without timestamps, and jobs as patch set + template. */
function essence(state: StateData) {
  const configs = Object.fromEntries(Object.entries(state.configs).map(([id, c]) => [id, { ...c, updatedAt: undefined, seenAt: undefined }]));
  const jobs = Object.values(state.jobs)
    .map((j) => `${j.configId}#${j.patchSet}:${j.template}:${j.status}`)
    .sort();
  return { configs, jobs };
}

describe('bellows sync against the Gerrit simulator', function () {
  this.timeout(60_000);
  let h: Harness;
  afterEach(() => h?.stop());

  it('syncs 1,234 open changes past a 100-per-page cap, then sweeps incrementally for one request', async () => {
    h = await startHarness({ sim: { pageCap: 100 } });
    for (let i = 0; i < 1234; i++) h.sim.createChange({ project: 'nova', subject: `change ${i}` });
    const first = await syncProjects(h.ctx, { fire: true });
    expect(first.created).to.have.length(1234);
    expect(first.queued).to.have.length(2468);
    expect(first.sweeps[0]).to.include({ mode: 'full', changes: 1234 });
    expect(first.requests).to.equal(13);
    const again = await syncProjects(h.ctx, { fire: true });
    expect(again.sweeps[0]!.mode).to.equal('incremental');
    expect(again.created).to.deep.equal([]);
    expect(again.queued).to.deep.equal([]);
    const state = await h.store.read();
    expect(Object.keys(state.configs)).to.have.length(1234);
    expect(Object.keys(state.jobs)).to.have.length(2468);
  });

  it('a no-op incremental sync costs one request per project branch', async () => {
    h = await startHarness({ sim: { pageCap: 100 }, projects: [{ name: 'nova', templates: ['smoke'] }, { name: 'glance', templates: ['smoke'] }] });
    for (let i = 0; i < 30; i++) h.sim.createChange({ project: i % 2 ? 'nova' : 'glance', subject: `c${i}` });
    await syncProjects(h.ctx, { fire: true });
    // Changes older than the overlap window: nothing comes back.
    const later = new Date(Date.now() + 3600_000);
    const ctx = { ...h.ctx, now: () => later };
    await syncProjects(ctx, {});
    const noop = await syncProjects(ctx, { fire: true });
    expect(noop.requests).to.equal(2);
    expect(noop.sweeps.map((s) => s.changes)).to.deep.equal([0, 0]);
  });

  it('a new patch set updates the config, supersedes the old jobs and queues the new ones', async () => {
    h = await startHarness();
    const c = h.sim.createChange({ project: 'nova', subject: 'evolving' });
    const first = await syncProjects(h.ctx, { fire: true });
    const ps2 = h.sim.uploadPatchSet(c.number);
    const second = await syncProjects(h.ctx, { fire: true });
    expect(second.updated).to.deep.equal([`nova~${c.number}`]);
    expect(second.superseded.sort()).to.deep.equal(first.queued.map((j) => j.id).sort());
    expect(second.queued.map((j) => [j.patchSet, j.revision])).to.deep.equal([
      [2, ps2.revision],
      [2, ps2.revision],
    ]);
    const state = await h.store.read();
    expect(state.configs[`nova~${c.number}`]).to.deep.include({ patchSet: 2, revision: ps2.revision, ref: ps2.ref });
    for (const id of second.superseded) expect(state.jobs[id]!.supersededBy).to.match(/^j\d+$/);
  });

  it('records each run for the status page: what it did, or which project failed and when the last good run was', async () => {
    h = await startHarness({ gerrit: { retries: 0 } });
    h.sim.createChange({ project: 'nova', subject: 'watched' });
    await syncProjects(h.ctx, { fire: true });
    const good = (await h.store.read()).activity!.sync!;
    expect(good).to.include({ ok: true, summary: '1 project branch(es) swept: 1 created, 0 updated, 0 purged, 0 superseded, 2 job(s) queued' });
    h.sim.setFaults({ errorRate: 1 });
    await syncProjects(h.ctx, { fire: true });
    const bad = (await h.store.read()).activity!.sync!;
    expect(bad).to.include({ ok: false, lastOkAt: good.at });
    expect(bad.summary).to.match(/^nova master: .*HTTP 50[03]/);
  });

  it('purges changes merged or abandoned since the last sweep, keeps WIP changes unfired', async () => {
    h = await startHarness();
    const merged = h.sim.createChange({ project: 'nova', subject: 'to merge' });
    const abandoned = h.sim.createChange({ project: 'nova', subject: 'to abandon' });
    const wip = h.sim.createChange({ project: 'nova', subject: 'draft', wip: true });
    const first = await syncProjects(h.ctx, { fire: true });
    expect(first.created).to.have.length(3);
    expect(first.queued.map((j) => j.number)).to.not.include(wip.number);
    h.sim.merge(merged.number);
    h.sim.abandon(abandoned.number);
    const second = await syncProjects(h.ctx, { fire: true });
    expect(second.purged.sort()).to.deep.equal([`nova~${merged.number}`, `nova~${abandoned.number}`].sort());
    expect(second.cancelled).to.have.length(4);
    const state = await h.store.read();
    expect(Object.keys(state.configs)).to.deep.equal([`nova~${wip.number}`]);
    expect(state.configs[`nova~${wip.number}`]!.wip).to.equal(true);
  });

  it('a sync that asked Gerrit before a change was merged and purged does not bring it back when it finishes after', async () => {
    h = await startHarness();
    const c = h.sim.createChange({ project: 'nova', subject: 'merged while the sync is slow' });
    await syncProjects(h.ctx, { fire: true });
    h.sim.uploadPatchSet(c.number);
    // The sync's answer (patch set 2, open) is computed; before it arrives the change is merged and purged.
    const unsubscribe = h.sim.beforeAnswer(async () => {
      unsubscribe();
      h.sim.merge(c.number);
      expect((await purgeChanges(h.ctx)).purged).to.deep.equal([{ configId: `nova~${c.number}`, status: 'MERGED' }]);
    });
    const late = await syncProjects(h.ctx, { fire: true, full: true });
    expect(late.created).to.deep.equal([]);
    expect(late.queued).to.deep.equal([]);
    const state = await h.store.read();
    expect(state.configs).to.deep.equal({});
    expect(Object.values(state.jobs).map((j) => [j.patchSet, j.status])).to.deep.equal([
      [1, 'cancelled'],
      [1, 'cancelled'],
    ]);
  });

  it('a purge that asked Gerrit before an abandoned change was restored and synced leaves the change alone', async () => {
    h = await startHarness();
    const c = h.sim.createChange({ project: 'nova', subject: 'abandoned, then restored' });
    await syncProjects(h.ctx, { fire: true });
    h.sim.abandon(c.number);
    const unsubscribe = h.sim.beforeAnswer(async () => {
      unsubscribe();
      h.sim.restore(c.number);
      await syncProjects(h.ctx, { fire: true, full: true });
    });
    expect((await purgeChanges(h.ctx)).purged).to.deep.equal([]);
    const state = await h.store.read();
    expect(Object.keys(state.configs)).to.deep.equal([`nova~${c.number}`]);
    expect(Object.values(state.jobs).map((j) => j.status)).to.deep.equal(['queued', 'queued']);
  });

  it('a change abandoned and purged comes back with the first sync that sees it restored', async () => {
    h = await startHarness();
    const c = h.sim.createChange({ project: 'nova', subject: 'back again' });
    await syncProjects(h.ctx, { fire: true });
    h.sim.abandon(c.number);
    await purgeChanges(h.ctx);
    h.sim.restore(c.number);
    const back = await syncProjects(h.ctx, { fire: true });
    expect(back.created).to.deep.equal([`nova~${c.number}`]);
    expect(back.queued.map((j) => j.attempt)).to.deep.equal([2, 2]);
  });

  it('skips each malformed change of Gerrit’s answer with one warning naming it, and syncs the rest', async () => {
    h = await startHarness();
    const lines: string[] = [];
    const logger = new Logger({ stream: { write: (line: string) => lines.push(line) } as never, tty: true });
    const ctx = createBellowsContext({ loaded: h.loaded, store: h.store, password: 'secret', backoff: { baseMs: 2, maxMs: 20 }, logger });
    const numbers = Array.from({ length: 7 }, (_, i) => h.sim.createChange({ project: 'nova', subject: `c${i}` }).number);
    const [good1, isNull, noPatchSet, hugeNumber, badRef, badProject, good2] = numbers as [number, number, number, number, number, number, number];
    h.sim.corruptChangeInfo(isNull, () => null);
    h.sim.corruptChangeInfo(noPatchSet, ({ current_revision: _sha, revisions: _revs, ...info }) => info);
    h.sim.corruptChangeInfo(hugeNumber, (info) => ({ ...info, _number: 2 ** 40 }));
    h.sim.corruptChangeInfo(badRef, (info) => {
      const revisions = info.revisions as Record<string, { ref: string }>;
      for (const rev of Object.values(revisions)) rev.ref = 'refs/heads/master';
      return info;
    });
    h.sim.corruptChangeInfo(badProject, (info) => ({ ...info, project: 'nova/../../etc' }));

    const result = await syncProjects(ctx, { fire: true });
    expect(result.errors).to.deep.equal([]);
    expect(result.created.sort()).to.deep.equal([`nova~${good1}`, `nova~${good2}`].sort());
    expect(result.queued).to.have.length(4);
    const warnings = lines.filter((l) => l.startsWith('warn: '));
    expect(warnings, warnings.join('')).to.have.length(5);
    const about = (pattern: RegExp) => warnings.filter((w) => pattern.test(w));
    expect(about(/null/)).to.have.length(1);
    expect(about(new RegExp(`change ${noPatchSet}\\b.*no current patch set`))).to.have.length(1);
    expect(about(new RegExp(`change ${2 ** 40}\\b.*out of range`))).to.have.length(1);
    expect(about(new RegExp(`change ${badRef}\\b.*"refs/heads/master" of patch set 1 is not refs/changes/${String(badRef).padStart(2, '0')}/${badRef}/1`))).to.have.length(1);
    expect(about(/"nova\/\.\.\/\.\.\/etc"/)).to.have.length(1);
    expect(result.skipped.map((s) => s.number).sort((a, b) => a - b)).to.deep.equal([noPatchSet, badRef, badProject, 2 ** 40].sort((a, b) => a - b));
    expect(Object.keys((await h.store.read()).configs).sort()).to.deep.equal([`nova~${good1}`, `nova~${good2}`].sort());
  });

  it('--dry-run reports what it would do and changes nothing', async () => {
    h = await startHarness();
    h.sim.createChange({ project: 'nova', subject: 'dry' });
    const dry = await syncProjects(h.ctx, { fire: true, dryRun: true });
    expect(dry.created).to.have.length(1);
    expect(dry.queued).to.have.length(2);
    const state = await h.store.read();
    expect(state.configs).to.deep.equal({});
    expect(state.sync).to.deep.equal({});
  });

  it('converges under 20% 5xx/429 and dropped connections to the store of a clean run, without duplicates', async () => {
    h = await startHarness({ sim: { pageCap: 25, seed: 7 }, projects: [{ name: 'nova', templates: ['smoke', 'full'] }, { name: 'glance', templates: ['smoke'] }] });
    const changes = Array.from({ length: 120 }, (_, i) => h.sim.createChange({ project: i % 3 ? 'nova' : 'glance', subject: `c${i}` }));
    for (const c of changes.slice(0, 20)) h.sim.uploadPatchSet(c.number);
    const { StateStore } = await import('../../src/store/store.js');
    const cleanStore = new StateStore(`${h.dir}/clean.json`);
    await syncProjects({ ...h.ctx, store: cleanStore }, { fire: true });

    h.sim.setFaults({ errorRate: 0.2, dropRate: 0.05 });
    let runs = 0;
    let result;
    do {
      result = await syncProjects(h.ctx, { fire: true });
      runs++;
    } while (result.errors.length && runs < 5);
    await syncProjects(h.ctx, { fire: true });
    h.sim.setFaults({});
    const faulted = await h.store.read();
    expect(essence(faulted)).to.deep.equal(essence(await cleanStore.read()));
    const keys = Object.values(faulted.jobs).map((j) => `${j.configId}#${j.patchSet}:${j.template}`);
    expect(new Set(keys).size).to.equal(keys.length);
    expect(h.sim.requestCount).to.be.greaterThan(20);
  });
});
