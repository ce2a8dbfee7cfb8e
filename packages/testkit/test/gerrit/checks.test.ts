import { expect } from 'chai';
import { GerritSim } from '../../src/index.js';
import { rest } from './helpers.js';

describe('GerritSim checks plugin', () => {
  let sim: GerritSim;
  afterEach(async () => { await sim?.stop(); });

  it('registers a checker once (409 the second time), then creates and updates one check per checker and patch set', async () => {
    sim = await GerritSim.start({ checksPlugin: true, clock: () => new Date('2026-11-20T12:00:00Z') });
    sim.createProject('demo');
    const c = sim.createChange({ project: 'demo', subject: 'One' });
    const checker = { uuid: 'ci:demo.smoke', name: 'smoke', repository: 'demo', blocking: ['STATE_NOT_PASSING'] };
    expect((await rest(sim, '/a/plugins/checks/checkers/', { body: checker })).status).to.equal(201);
    expect((await rest(sim, '/a/plugins/checks/checkers/', { body: checker })).status).to.equal(409);
    expect((await rest(sim, '/a/plugins/checks/checkers/ci%3Ademo.smoke')).json).to.include({ uuid: 'ci:demo.smoke', repository: 'demo', status: 'ENABLED' });
    const at = `/a/changes/demo~${c.number}/revisions/${c.patchSets[0]!.revision}/checks/`;
    expect((await rest(sim, at, { body: { checker_uuid: 'ci:demo.smoke', state: 'SCHEDULED', url: 'https://ci/1' } })).json).to.include({ state: 'SCHEDULED', patch_set_id: 1 });
    await rest(sim, at, { body: { checker_uuid: 'ci:demo.smoke', state: 'RUNNING', started: '2026-11-20 12:00:00.000000000' } });
    const listed = (await rest(sim, at)).json as Array<Record<string, unknown>>;
    expect(listed).to.have.length(1);
    expect(listed[0]).to.include({ checker_uuid: 'ci:demo.smoke', state: 'RUNNING', url: 'https://ci/1', started: '2026-11-20 12:00:00.000000000' });
    expect(sim.checkUpdates(c.number).map((u) => u.state)).to.deep.equal(['SCHEDULED', 'RUNNING']);
  });

  it('refuses an unknown checker, a bad state, anonymous writes; without the plugin the endpoints are 404', async () => {
    sim = await GerritSim.start({ checksPlugin: true });
    sim.createProject('demo');
    const c = sim.createChange({ project: 'demo', subject: 'One' });
    const at = `/a/changes/demo~${c.number}/revisions/current/checks/`;
    expect((await rest(sim, at, { body: { checker_uuid: 'ci:none', state: 'RUNNING' } })).status).to.equal(400);
    await rest(sim, '/a/plugins/checks/checkers/', { body: { uuid: 'ci:x', repository: 'demo' } });
    expect((await rest(sim, at, { body: { checker_uuid: 'ci:x', state: 'DONE' } })).status).to.equal(400);
    expect((await rest(sim, `/changes/demo~${c.number}/revisions/current/checks/`, { body: { checker_uuid: 'ci:x', state: 'RUNNING' }, auth: null })).status).to.equal(403);
    expect((await rest(sim, '/a/plugins/checks/checkers/', { body: { uuid: 'no-colon', repository: 'demo' } })).status).to.equal(400);
    await sim.stop();
    sim = await GerritSim.start();
    sim.createProject('demo');
    sim.createChange({ project: 'demo', subject: 'One' });
    expect((await rest(sim, '/a/plugins/checks/checkers/', { body: { uuid: 'ci:x', repository: 'demo' } })).status).to.equal(404);
    expect((await rest(sim, '/a/changes/demo~1/revisions/current/checks/')).status).to.equal(404);
  });
});
