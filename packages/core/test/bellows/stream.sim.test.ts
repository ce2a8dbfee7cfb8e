import { expect } from 'chai';
import { waitFor as until } from '@smokestack/testkit';
import { eventStreamFromConfig, runStream, type EventResult, type StreamResult } from '../../src/bellows/stream.js';
import type { Job } from '../../src/model.js';
import type { StateData } from '../../src/store/schema.js';
import { finishJobs, startHarness, type Harness } from './harness.js';

const jobsOf = (s: StateData, number: number, patchSet?: number): Job[] =>
  Object.values(s.jobs).filter((j) => j.number === number && (patchSet === undefined || j.patchSet === patchSet));

describe('bellows stream against the Gerrit simulator', function () {
  this.timeout(60_000);
  let h: Harness;
  let ac: AbortController;
  let running: Promise<StreamResult>;
  let results: EventResult[];

  async function startStream(silenceMs = 2000): Promise<void> {
    ac = new AbortController();
    results = [];
    const source = eventStreamFromConfig(h.loaded.config.gerrit!, { logger: process.env.DBG ? new (await import('../../src/log/logger.js')).Logger({ verbose: true }) : undefined, backoff: { baseMs: 5, maxMs: 40 }, silenceMs, stableMs: 60_000 });
    running = runStream(h.ctx, source, { fire: true, signal: ac.signal, onResult: (r) => results.push(r) });
    await until('the stream to connect', async () => h.sim.streamCount === 1);
  }

  afterEach(async () => {
    ac?.abort();
    await running?.catch(() => undefined);
    await h?.stop();
  });

  it('acts on every event type', async () => {
    h = await startHarness();
    const early = h.sim.createChange({ project: 'nova', subject: 'before the stream' });
    await startStream(20_000);
    // The catch-up sweep on connect found the change created before the stream.
    await until('catch-up sweep', async () => jobsOf(await h.store.read(), early.number).length === 2);
    // The status page shows the stream connected, since the sweep on connect.
    const connected = await until('the stream noted as connected', async () => (await h.store.read()).activity?.stream);
    expect(connected).to.include({ ok: true, summary: 'connected; the catch-up sweep queued 2 job(s)' });

    // patchset-created: a new change, then a new patch set supersedes its jobs.
    const a = h.sim.createChange({ project: 'nova', subject: 'streamed change' });
    await until('jobs of patch set 1', async () => jobsOf(await h.store.read(), a.number, 1).length === 2);
    h.sim.uploadPatchSet(a.number);
    const s1 = await until('jobs of patch set 2', async () => {
      const s = await h.store.read();
      return jobsOf(s, a.number, 2).length === 2 && s;
    });
    expect(jobsOf(s1, a.number, 1).map((j) => j.status)).to.deep.equal(['superseded', 'superseded']);

    // comment-added: a recheck (even on the old patch set) re-queues only the current one; the bot's own is ignored.
    await finishJobs(h.store, 'test_failed', (j) => j.number === a.number);
    h.sim.comment(a.number, { author: 'smokestack', message: 'recheck', patchSet: 2 });
    h.sim.comment(a.number, { author: 'alice', message: 'recheck', patchSet: 1 });
    const s2 = await until('recheck', async () => {
      const s = await h.store.read();
      return jobsOf(s, a.number, 2).length === 4 && s;
    });
    expect(jobsOf(s2, a.number, 1)).to.have.length(2);
    expect(jobsOf(s2, a.number, 2).filter((j) => j.reason === 'recheck').map((j) => j.attempt)).to.deep.equal([2, 2]);
    const own = results.find((r) => r.type === 'comment-added' && r.action.kind === 'ignore');
    expect(own?.action).to.deep.equal({ kind: 'ignore', reason: 'our own comment' });

    // wip-state-changed: WIP cancels queued jobs; ready fires them again.
    h.sim.setWip(a.number, true);
    await until('WIP cancels', async () => jobsOf(await h.store.read(), a.number, 2).filter((j) => j.status === 'cancelled').length === 2);
    h.sim.setWip(a.number, false);
    await until('ready fires', async () => jobsOf(await h.store.read(), a.number, 2).filter((j) => j.status === 'queued').length === 2);

    // change-merged and change-abandoned purge; change-restored brings the config and its jobs back.
    h.sim.merge(early.number);
    h.sim.abandon(a.number, 'wrong approach');
    await until('purges', async () => Object.keys((await h.store.read()).configs).length === 0);
    h.sim.restore(a.number);
    await until('restore', async () => {
      const s = await h.store.read();
      return s.configs[`nova~${a.number}`] && jobsOf(s, a.number, 2).filter((j) => j.status === 'queued').length === 2;
    });

    // dropped-output: a catch-up sweep finds what the stream never said.
    const sweepsBefore = results.filter((r) => r.action.kind === 'sweep').length;
    h.sim.emitDroppedOutput();
    await until('sweep', async () => results.filter((r) => r.action.kind === 'sweep').length === sweepsBefore + 1);

    // Events are remembered, so a replay does nothing.
    const state = await h.store.read();
    expect(state.seenEvents.length).to.be.greaterThan(5);
    ac.abort();
    const summary = await running;
    expect(summary.connects, `disconnects: ${summary.disconnects}`).to.equal(1);
    expect(summary.duplicates).to.equal(0);
  });

  it('leaves no patch set without its jobs when the stream is killed 20 times during 300 events', async () => {
    h = await startHarness({ projects: [{ name: 'nova', templates: ['smoke', 'full'] }, { name: 'glance', templates: ['smoke'] }] });
    await startStream();
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const open: number[] = [];
    const closed: number[] = [];
    let kills = 0;
    for (let event = 0; event < 300; event++) {
      const roll = random();
      if (open.length < 10 || roll < 0.2) {
        open.push(h.sim.createChange({ project: random() < 0.7 ? 'nova' : 'glance', subject: `chaos ${event}` }).number);
      } else {
        const n = open[Math.floor(random() * open.length)]!;
        if (roll < 0.55) h.sim.uploadPatchSet(n);
        else if (roll < 0.7) h.sim.comment(n, { author: random() < 0.8 ? 'alice' : 'smokestack', message: 'recheck' });
        else if (roll < 0.8) h.sim.setWip(n, !h.sim.getChange(n)!.wip);
        else if (roll < 0.88) {
          h.sim.abandon(n);
          open.splice(open.indexOf(n), 1);
          closed.push(n);
        } else if (roll < 0.93 && closed.length) {
          const r = closed.pop()!;
          if (h.sim.getChange(r)!.status === 'ABANDONED') {
            h.sim.restore(r);
            open.push(r);
          } else h.sim.uploadPatchSet(n);
        } else {
          h.sim.merge(n);
          open.splice(open.indexOf(n), 1);
        }
      }
      if (event % 15 === 14 && kills < 20) {
        h.sim.killStreams();
        kills++;
      }
      // Some events fall between a kill and the reconnect: only the catch-up sweep can see them.
      if (event % 15 === 4 && kills > 0) await until('reconnect', async () => h.sim.streamCount === 1);
      if (event % 5 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(kills).to.equal(20);

    const problems = async (): Promise<string[]> => {
      const s = await h.store.read();
      const out: string[] = [];
      for (const c of h.sim.listChanges()) {
        const id = `${c.project}~${c.number}`;
        const config = s.configs[id];
        const ps = c.patchSets[c.patchSets.length - 1]!;
        if (c.status !== 'NEW') {
          if (config) out.push(`${id}: closed but still configured`);
          continue;
        }
        if (!config || config.patchSet !== ps.number) {
          out.push(`${id}: config at ${config?.patchSet} instead of ${ps.number}`);
          continue;
        }
        if (c.wip) continue;
        for (const template of config.templates) {
          const jobs = jobsOf(s, c.number, ps.number).filter((j) => j.template === template);
          if (!jobs.some((j) => j.status === 'queued')) out.push(`${id},${ps.number} ${template}: no queued job`);
          if (jobs.filter((j) => j.status === 'queued').length > 1) out.push(`${id},${ps.number} ${template}: duplicate queued jobs`);
        }
      }
      return out;
    };
    await until('convergence', async () => (await problems()).length === 0, 20_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${(await problems()).slice(0, 5).join('; ')}`);
    });
    ac.abort();
    const summary = await running;
    expect(summary.connects).to.be.at.least(20);
    expect(summary.sweeps).to.be.at.least(summary.connects);
  });
});
