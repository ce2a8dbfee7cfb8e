import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { GerritSim } from '@smokestack/testkit';
import { GerritRestClient } from '../../src/gerrit/rest.js';
import {
  FULL_SWEEP_MS,
  mergeSweep,
  planChangeSweep,
  readSnapshot,
  snapshotChangeSource,
  sweepingChangeSource,
  writeSnapshot,
  type ChangeSweeper,
  type SnapshotEntry,
} from '../../src/review/index.js';
import { NOW, makeChange } from './fixtures.js';

const entry = (sweptAt: Date, fullAt: Date = sweptAt): SnapshotEntry => ({ sweptAt: sweptAt.toISOString(), fullAt: fullAt.toISOString(), changes: [] });

describe('review/snapshot', () => {
  describe('planChangeSweep', () => {
    it('sweeps in full without a snapshot, when asked, or once a full sweep is a day old', () => {
      expect(planChangeSweep(undefined, NOW, { overlapSeconds: 300 })).to.deep.equal({});
      expect(planChangeSweep(entry(NOW), NOW, { overlapSeconds: 300, full: true })).to.deep.equal({});
      const dayOld = new Date(NOW.getTime() - FULL_SWEEP_MS);
      expect(planChangeSweep(entry(new Date(NOW.getTime() - 60_000), dayOld), NOW, { overlapSeconds: 300 })).to.deep.equal({});
    });

    it('otherwise asks for changes updated since the last sweep, minus the overlap', () => {
      const last = new Date(NOW.getTime() - 3_600_000);
      expect(planChangeSweep(entry(last), NOW, { overlapSeconds: 300 })).to.deep.equal({ since: new Date(last.getTime() - 300_000) });
    });
  });

  it('mergeSweep: updated changes replace their old selves, merged and abandoned ones leave, new ones join', () => {
    const old = [makeChange(1), makeChange(2), makeChange(3)];
    const merged = mergeSweep(old, [
      { ...makeChange(2), subject: 'new subject' },
      { ...makeChange(3), status: 'MERGED' },
      { ...makeChange(4), status: 'ABANDONED' },
      makeChange(5),
    ]);
    expect(merged.map((c) => [c.number, c.subject])).to.deep.equal([
      [1, 'Change 1'],
      [2, 'new subject'],
      [5, 'Change 5'],
    ]);
  });

  describe('against the Gerrit simulator', function () {
    this.timeout(20_000);
    let gerrit: GerritSim;
    let dir: string;

    beforeEach(async () => {
      gerrit = await GerritSim.start();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-snapshot-'));
    });
    afterEach(async () => {
      await gerrit.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** The REST client, noting which query each sweep used. */
    const recording = (asked: string[]): ChangeSweeper => {
      const client = new GerritRestClient({ url: gerrit.httpUrl, retries: 0 });
      return {
        fetchOpenChanges: (project, branch, o) => (asked.push('open'), client.fetchOpenChanges(project, branch, o)),
        fetchChangesUpdatedSince: (project, branch, since, o) => (asked.push('since'), client.fetchChangesUpdatedSince(project, branch, since, o)),
      };
    };

    it('reads every open change once, then only what changed, and the result matches a full read', async () => {
      gerrit.createProject('nova');
      const [a, b, c] = ['a', 'b', 'c'].map((s) => gerrit.createChange({ project: 'nova', subject: s }));
      const asked: string[] = [];
      const options = { gerritUrl: gerrit.httpUrl, now: () => new Date(), overlapSeconds: 300 };
      const first = sweepingChangeSource(recording(asked), undefined, options);
      expect((await first.openChanges('nova', 'master')).map((ch) => ch.number).sort()).to.deep.equal([a!.number, b!.number, c!.number]);
      const file = path.join(dir, 'changes.json');
      await writeSnapshot(file, first.snapshot);

      gerrit.abandon(a!.number);
      gerrit.uploadPatchSet(b!.number, { subject: 'b, second try' });
      const d = gerrit.createChange({ project: 'nova', subject: 'd' });
      const second = sweepingChangeSource(recording(asked), await readSnapshot(file), options);
      const swept = await second.openChanges('nova', 'master');
      expect(first.changed()).to.equal(true);
      expect(asked).to.deep.equal(['open', 'since']);
      expect(second.sweeps).to.deep.equal({ full: 0, incremental: 1 });
      expect(second.changed()).to.equal(true);
      // A sweep that finds nothing new leaves the saved snapshot as it is.
      // (Gerrit's after: counts whole seconds: sweep from a second on.)
      const later = { ...second.snapshot.projects.nova!.master!, sweptAt: new Date(Date.now() + 2000).toISOString() };
      const third = sweepingChangeSource(recording(asked), { ...second.snapshot, projects: { nova: { master: later } } }, { ...options, overlapSeconds: 0 });
      await third.openChanges('nova', 'master');
      expect(third.changed()).to.equal(false);
      const full = await sweepingChangeSource(recording([]), undefined, options).openChanges('nova', 'master');
      const view = (list: typeof swept) => list.map((ch) => `${ch.number} ${ch.subject} ps${ch.currentPatchSet.number}`).sort();
      expect(view(swept)).to.deep.equal(view(full));
      expect(view(swept)).to.deep.equal([`${b!.number} b, second try ps2`, `${c!.number} c ps1`, `${d.number} d ps1`].sort());
    });

    it('offline: serves the snapshot without Gerrit, and says when it was taken', async () => {
      gerrit.createProject('nova');
      gerrit.createChange({ project: 'nova', subject: 'a' });
      const source = sweepingChangeSource(recording([]), undefined, { gerritUrl: gerrit.httpUrl, now: () => NOW, overlapSeconds: 300 });
      await source.openChanges('nova', 'master');
      const file = path.join(dir, 'changes.json');
      await writeSnapshot(file, source.snapshot);
      await gerrit.stop();

      const offline = snapshotChangeSource(await readSnapshot(file), gerrit.httpUrl);
      expect((await offline.openChanges('nova', 'master')).map((ch) => ch.subject)).to.deep.equal(['a']);
      expect(offline.asOf?.()).to.equal(NOW.toISOString());
      const missing = await offline.openChanges('glance', 'master').catch((e: Error) => e);
      expect((missing as Error).message).to.equal('--offline: the saved snapshot has no open changes of glance (master)');
      expect(() => snapshotChangeSource(undefined, gerrit.httpUrl)).to.throw(`--offline: no saved snapshot of the open changes on ${gerrit.httpUrl}`);
    });
  });
});
