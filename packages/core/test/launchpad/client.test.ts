import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LaunchpadSim } from '@smokestack/testkit';
import {
  LaunchpadCache,
  LaunchpadClient,
  blueprintPriority,
  bugPriority,
  cachedBlueprintPriority,
  cachedBugPriority,
  pickBugTask,
  resolvePriorities,
  slim,
} from '../../src/launchpad/index.js';

describe('launchpad/client against the Launchpad simulator', () => {
  let sim: LaunchpadSim;
  let cacheDir: string;
  let clock: number;

  const client = (extra: Partial<ConstructorParameters<typeof LaunchpadClient>[0]> = {}) =>
    new LaunchpadClient({ url: sim.url, timeoutMs: 2000, cache: new LaunchpadCache(path.join(cacheDir, 'launchpad.json')), cacheTtlSeconds: 3600, now: () => clock, ...extra });

  beforeEach(async () => {
    clock = Date.parse('2024-05-20T12:00:00Z');
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-lp-'));
    sim = new LaunchpadSim({ pageSize: 2 });
    sim
      .addBug({ id: 100, tags: [], tasks: [{ target: 'cinder', importance: 'Critical' }, { target: 'nova', importance: 'Low' }] })
      .addBug({ id: 101, tags: ['regression'], tasks: [{ target: 'nova/icehouse', importance: 'Medium' }, { target: 'nova/juno', importance: 'High' }] })
      .addBug({
        id: 102,
        tasks: [
          { target: 'a', importance: 'High' },
          { target: 'b', importance: 'High' },
          { target: 'c', importance: 'High' },
          { target: 'd', importance: 'High' },
          { target: 'nova', importance: 'Wishlist' },
        ],
      })
      .addBug({ id: 103, tasks: [{ target: 'glance', importance: 'High' }] })
      .addSpecification({ project: 'nova', name: 'live-migration', priority: 'Essential' })
      .addSpecification({ project: 'nova', name: 'no-priority', priority: null });
    await sim.start();
  });

  afterEach(async () => {
    await sim.stop();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('takes the importance of the project’s own task, not the first task (the original’s defect)', async () => {
    expect(await bugPriority(client(), 100, 'nova')).to.deep.equal({ status: 'found', importance: 'Low', target: 'nova', tags: [] });
    expect(await bugPriority(client(), 100, 'cinder')).to.include({ importance: 'Critical', target: 'cinder' });
  });

  it('falls back to the most important project/series task and reads the bug’s tags', async () => {
    expect(await bugPriority(client(), 101, 'nova')).to.deep.equal({ status: 'found', importance: 'High', target: 'nova/juno', tags: ['regression'] });
  });

  it('follows next_collection_link across pages of bug tasks', async () => {
    expect(await bugPriority(client(), 102, 'nova')).to.include({ importance: 'Wishlist', target: 'nova' });
    expect(sim.requests.filter((r) => r.startsWith('/devel/bugs/102/bug_tasks'))).to.have.length(3);
  });

  it('says when a bug has no task for the project, or does not exist', async () => {
    expect(await bugPriority(client(), 103, 'nova')).to.deep.equal({ status: 'no-task', targets: ['glance'], tags: [] });
    expect(await bugPriority(client(), 999, 'nova')).to.deep.equal({ status: 'not-found' });
  });

  it('reads blueprint priority from PROJECT/+spec/NAME', async () => {
    expect(await blueprintPriority(client(), 'nova', 'live-migration')).to.deep.equal({ status: 'found', priority: 'Essential' });
    expect(await blueprintPriority(client(), 'nova', 'no-priority')).to.deep.equal({ status: 'found', priority: undefined });
    expect(await blueprintPriority(client(), 'nova', 'nope')).to.deep.equal({ status: 'not-found' });
    expect(sim.requests).to.include('/devel/nova/+spec/live-migration');
  });

  it('answers from the file cache within the TTL, across clients, including "not found"', async () => {
    const first = client();
    await bugPriority(first, 100, 'nova');
    await blueprintPriority(first, 'nova', 'nope');
    await first.flush();
    const asked = sim.requests.length;
    const second = client();
    expect(await bugPriority(second, 100, 'nova')).to.include({ importance: 'Low' });
    expect(await blueprintPriority(second, 'nova', 'nope')).to.deep.equal({ status: 'not-found' });
    expect(sim.requests.length).to.equal(asked);
    expect(second.stats).to.include({ requests: 0, cacheHits: 2 });
  });

  it('a warm cache answers every lookup at once, as asking would, and counts them as cache hits', async () => {
    sim.addBug({ id: 104, tags: ['regression'], tasks: [{ target: 'nova', importance: 'Critical' }] });
    const lookups = { project: 'nova', bugs: [100, 101, 102, 103, 104, 999], blueprints: ['live-migration', 'no-priority', 'nope'] };
    const cold = await resolvePriorities(client(), [lookups]);
    const asked = sim.requests.length;
    // Nothing cached yet, or not read yet: the cache cannot answer.
    const empty = client({ cache: new LaunchpadCache(path.join(cacheDir, 'other.json')) });
    await empty.loadCache();
    expect(cachedBugPriority(empty, 100, 'nova')).to.equal(undefined);
    const warm = client();
    expect(cachedBugPriority(warm, 100, 'nova'), 'before the cache is read').to.equal(undefined);
    await warm.loadCache();
    for (const bug of lookups.bugs) expect(cachedBugPriority(warm, bug, 'nova'), `bug ${bug}`).to.deep.equal(cold.bugs.get('nova')!.get(bug));
    for (const name of lookups.blueprints) expect(cachedBlueprintPriority(warm, 'nova', name), name).to.deep.equal(cold.blueprints.get('nova')!.get(name));
    // The same count as lookups that wait for the cache: 102's tasks span three pages, and 101 and 104 are
    // High or Critical, so their bugs (tags) are read too.
    const waiting = client();
    for (const bug of lookups.bugs) await bugPriority(waiting, bug, 'nova');
    for (const name of lookups.blueprints) await blueprintPriority(waiting, 'nova', name);
    expect(warm.stats).to.deep.equal({ requests: 0, cacheHits: 1 + 2 + 3 + 1 + 2 + 1 + 3, staleHits: 0 });
    expect(waiting.stats).to.deep.equal(warm.stats);
    const again = await resolvePriorities(client(), [lookups]);
    expect(again.bugs).to.deep.equal(cold.bugs);
    expect(again.blueprints).to.deep.equal(cold.blueprints);
    expect(sim.requests.length).to.equal(asked);
  });

  it('an expired answer is not the cache’s to give while Launchpad may be asked; offline it is, as a stale hit', async () => {
    await resolvePriorities(client(), [{ project: 'nova', bugs: [100], blueprints: ['live-migration'] }]);
    clock += 7200_000;
    const online = client();
    await online.loadCache();
    expect(cachedBugPriority(online, 100, 'nova')).to.equal(undefined);
    expect(cachedBlueprintPriority(online, 'nova', 'live-migration')).to.equal(undefined);
    expect(online.stats).to.deep.equal({ requests: 0, cacheHits: 0, staleHits: 0 });
    const offline = client({ offline: true });
    await offline.loadCache();
    expect(cachedBugPriority(offline, 100, 'nova')).to.deep.equal({ status: 'found', importance: 'Low', target: 'nova', tags: [] });
    expect(cachedBlueprintPriority(offline, 'nova', 'live-migration')).to.deep.equal({ status: 'found', priority: 'Essential' });
    expect(offline.stats).to.deep.equal({ requests: 0, cacheHits: 0, staleHits: 2 });
  });

  it('asks Launchpad again once the TTL has expired', async () => {
    await resolvePriorities(client(), [{ project: 'nova', bugs: [], blueprints: ['live-migration'] }]);
    sim.addSpecification({ project: 'nova', name: 'live-migration', priority: 'Low' });
    clock += 3599_000;
    expect(await blueprintPriority(client(), 'nova', 'live-migration')).to.include({ priority: 'Essential' });
    clock += 2_000;
    expect(await blueprintPriority(client(), 'nova', 'live-migration')).to.include({ priority: 'Low' });
  });

  it('keeps every answer in one cache file, written once when the lookups are done', async () => {
    const lp = client();
    await resolvePriorities(lp, [{ project: 'nova', bugs: [100, 101, 102, 103, 999], blueprints: ['live-migration', 'nope'] }]);
    const file = path.join(cacheDir, 'launchpad.json');
    expect(fs.readdirSync(cacheDir)).to.deep.equal(['launchpad.json']);
    expect(fs.statSync(file).isFile()).to.equal(true);
    const urls = Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).entries);
    expect(urls).to.have.length(lp.stats.requests);
    expect(urls).to.include(`${sim.url}/bugs/999/bug_tasks`);
  });

  it('two runs sharing the cache keep each other’s answers; a damaged cache file is started afresh with a warning', async () => {
    const a = client();
    const b = client();
    await resolvePriorities(a, [{ project: 'nova', bugs: [100], blueprints: [] }]);
    await resolvePriorities(b, [{ project: 'nova', bugs: [], blueprints: ['live-migration'] }]);
    const asked = sim.requests.length;
    await resolvePriorities(client(), [{ project: 'nova', bugs: [100], blueprints: ['live-migration'] }]);
    expect(sim.requests.length).to.equal(asked);

    fs.writeFileSync(path.join(cacheDir, 'launchpad.json'), '{"entries": {"trunc');
    const damaged = client();
    const answers = await resolvePriorities(damaged, [{ project: 'nova', bugs: [100], blueprints: [] }]);
    expect(answers.bugs.get('nova')!.get(100)).to.include({ importance: 'Low' });
    expect(answers.warnings).to.have.length(1);
    expect(answers.warnings[0]).to.match(/launchpad\.json is not a readable cache .*; starting a new one/);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(cacheDir, 'launchpad.json'), 'utf8')).entries)).to.include(`${sim.url}/bugs/100/bug_tasks`);
  });

  it('drops answers nobody has asked for in 30 days when it writes the cache', async () => {
    await resolvePriorities(client(), [{ project: 'nova', bugs: [100], blueprints: [] }]);
    clock += 31 * 86_400_000;
    await resolvePriorities(client(), [{ project: 'nova', bugs: [], blueprints: ['live-migration'] }]);
    const urls = Object.keys(JSON.parse(fs.readFileSync(path.join(cacheDir, 'launchpad.json'), 'utf8')).entries);
    expect(urls).to.deep.equal([`${sim.url}/nova/+spec/live-migration`]);
  });

  it('degrades to "priority unknown" with one warning when Launchpad fails, and stops asking', async () => {
    sim.failure = 'error';
    const lp = client();
    const answers = await resolvePriorities(lp, [{ project: 'nova', bugs: [100, 101, 102], blueprints: ['live-migration'] }], { concurrency: 1 });
    expect(answers.bugs.get('nova')!.get(100)).to.deep.equal({ status: 'unknown', why: 'Launchpad unavailable: HTTP 503 from ' + new URL(sim.url).host });
    expect(answers.blueprints.get('nova')!.get('live-migration')).to.include({ status: 'unknown' });
    expect(answers.warnings).to.have.length(1);
    expect(answers.warnings[0]).to.match(/is unavailable: HTTP 503 .*; 4 bug\/blueprint priorities are shown as unknown/);
    expect(sim.requests.length).to.be.at.most(2);
  });

  it('times out a Launchpad that never answers', async () => {
    sim.failure = 'hang';
    const started = Date.now();
    expect(await bugPriority(client({ timeoutMs: 200 }), 100, 'nova')).to.deep.equal({ status: 'unknown', why: 'Launchpad unavailable: no answer within 200 ms' });
    expect(Date.now() - started).to.be.below(2000);
  });

  it('treats a refused connection as an outage', async () => {
    const url = sim.url;
    await sim.stop();
    const lp = new LaunchpadClient({ url, timeoutMs: 1000 });
    expect(await bugPriority(lp, 100, 'nova')).to.deep.equal({ status: 'unknown', why: 'Launchpad unavailable: ECONNREFUSED' });
  });

  it('serves expired cache entries during an outage and says so', async () => {
    await resolvePriorities(client(), [{ project: 'nova', bugs: [100], blueprints: [] }]);
    clock += 7200_000;
    sim.failure = 'reset';
    const lp = client();
    const answers = await resolvePriorities(lp, [{ project: 'nova', bugs: [100, 103], blueprints: [] }]);
    expect(answers.bugs.get('nova')!.get(100)).to.include({ status: 'found', importance: 'Low' });
    expect(answers.bugs.get('nova')!.get(103)).to.include({ status: 'unknown' });
    expect(answers.warnings[0]).to.match(/answers came from an expired cache/);
  });

  it('offline: uses any cached answer, never the network', async () => {
    await resolvePriorities(client(), [{ project: 'nova', bugs: [100], blueprints: [] }]);
    clock += 86_400_000;
    const asked = sim.requests.length;
    const lp = client({ offline: true });
    const answers = await resolvePriorities(lp, [{ project: 'nova', bugs: [100, 101], blueprints: [] }]);
    expect(answers.bugs.get('nova')!.get(100)).to.include({ importance: 'Low' });
    expect(answers.bugs.get('nova')!.get(101)).to.deep.equal({ status: 'unknown', why: 'Launchpad unavailable: offline' });
    expect(answers.warnings).to.deep.equal(['1 bug/blueprint priorities are unknown: offline and not in the cache']);
    expect(sim.requests.length).to.equal(asked);
  });

  it('caches only the fields it reads of a bug task collection', () => {
    const page = { total_size: 1, start: 0, resource_type_link: 'x', entries: [{ bug_target_name: 'nova', importance: 'High', status: 'New', owner_link: 'y', date_created: 'z' }] };
    expect(slim(page)).to.deep.equal({ total_size: 1, entries: [{ bug_target_name: 'nova', importance: 'High', status: 'New' }] });
  });

  it('pickBugTask ignores other projects and distribution tasks', () => {
    const tasks = [{ bug_target_name: 'nova (Ubuntu)', importance: 'Critical' }, { bug_target_name: 'novaclient', importance: 'High' }];
    expect(pickBugTask(tasks, 'nova')).to.equal(undefined);
  });
});
