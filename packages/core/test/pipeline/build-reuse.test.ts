import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { BUILD_RECIPE_TEMPLATES, BuildCache, buildRecipe, buildReuseKey, type ReuseCandidate } from '../../src/pipeline/build-reuse.js';
import { defaultTemplatesDir } from '../../src/render/render.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('build reuse: the key of what a host builds', () => {
  const build = (over: Partial<ReuseCandidate['definition']> = {}, revisions: ReuseCandidate['revisions'] = { revision: A, mergedRevisions: [] }): ReuseCandidate => ({
    definition: { name: 'demoapp', method: 'dpkg', ...over },
    revisions,
  });
  const key = (builds: ReuseCandidate[], extra: { image?: string; provisioned?: boolean; recipe?: string; env?: Record<string, string> } = {}) =>
    buildReuseKey({
      host: { containerImage: extra.image ?? 'default-8da78e1143c4@2026-12-02T12:11:53.918Z' },
      provisioned: extra.provisioned ?? true,
      recipe: extra.recipe ?? 'r1',
      env: extra.env,
      builds,
    });
  const keyOf = (...args: Parameters<typeof key>) => {
    const k = key(...args);
    expect(k, JSON.stringify(k)).to.have.property('key');
    return (k as { key: string }).key;
  };

  it('is the same for the same commits, method, recipe, environment and image, and differs when any of them does', () => {
    const base = keyOf([build()], { env: { A: '1', B: '2' } });
    expect(keyOf([build()], { env: { B: '2', A: '1' } }), 'the same environment in another order').to.equal(base);
    const others = [
      // The template's env reaches the build script (DEB_BUILD_OPTIONS, CFLAGS…).
      keyOf([build()]),
      keyOf([build()], { env: { A: '1', B: '3' } }),
      keyOf([build()], { env: { A: '1', B: '2', DEB_BUILD_OPTIONS: 'nocheck' } }),
      keyOf([build({}, { revision: B, mergedRevisions: [] })]),
      keyOf([build({}, { revision: A, mergeTargetRevision: B, mergedRevisions: [] })]),
      keyOf([build({}, { revision: A, mergedRevisions: [C] })]),
      keyOf([build({ method: 'rpm' })]),
      keyOf([build({ subdir: 'pkg' })]),
      keyOf([build({ name: 'other' })]),
      keyOf([build(), build({ name: 'second' }, { revision: B, mergedRevisions: [] })]),
      keyOf([build()], { image: 'default-8da78e1143c4@2026-12-03T00:00:00.000Z' }),
      keyOf([build()], { recipe: 'r2' }),
    ];
    expect(new Set([base, ...others]).size).to.equal(others.length + 1);
  });

  it('is none, with the reason, where the host or the build may hold anything the key does not name', () => {
    expect(key([build()], { provisioned: false })).to.deep.equal({ why: 'the job runs on an existing group' });
    expect(buildReuseKey({ host: {}, provisioned: true, recipe: 'r', builds: [build()] })).to.deep.equal({ why: 'the host is not a fresh host of a container image' });
    expect(key([build({ reuse: false })])).to.deep.equal({ why: 'demoapp sets reuse: false' });
    expect(key([build({ method: 'command' })])).to.deep.equal({ why: 'demoapp is built by a command' });
    expect(key([{ definition: { name: 'demoapp', method: 'dpkg' } }])).to.deep.equal({ why: 'the commits of demoapp are not known before its build' });
    // One build of the host that cannot be reused: the host builds them all.
    expect(key([build(), build({ name: 'tool', method: 'command' })])).to.deep.equal({ why: 'tool is built by a command' });
  });

  it("the recipe is the text of the build's templates, the launcher that exports the environment included", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-recipe-'));
    try {
      for (const name of BUILD_RECIPE_TEMPLATES) fs.copyFileSync(path.join(defaultTemplatesDir(), name), path.join(dir, name));
      expect(BUILD_RECIPE_TEMPLATES).to.include.members(['stage-launch.sh.hbs', 'stage-build.sh.hbs', 'source-checkout.sh.hbs']);
      const same = buildRecipe(dir);
      expect(same).to.equal(buildRecipe(defaultTemplatesDir()));
      for (const name of BUILD_RECIPE_TEMPLATES) {
        const text = fs.readFileSync(path.join(dir, name), 'utf8');
        fs.writeFileSync(path.join(dir, name), `${text}# changed\n`);
        expect(buildRecipe(dir), name).to.not.equal(same);
        fs.writeFileSync(path.join(dir, name), text);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('build reuse: the store\'s build cache', () => {
  let dir: string;
  let built: string;
  const K1 = '1'.repeat(32);
  const K2 = '2'.repeat(32);
  const entry = (key: string, jobId = 'j1') => ({ key, jobId, host: 'gw', builtAt: '2026-12-02T13:00:00.000Z', what: `demoapp at ${A.slice(0, 12)}` });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-build-cache-'));
    built = path.join(dir, 'job', 'packages', 'gw');
    fs.mkdirSync(built, { recursive: true });
    fs.writeFileSync(path.join(built, 'demoapp_1.0_all.deb'), 'the package');
    fs.writeFileSync(path.join(built, 'demoapp-doc_1.0_all.deb'), 'its documentation');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps a passed build and gives its packages, checked, to a later job', async () => {
    const cache = new BuildCache(path.join(dir, 'cache'));
    expect(cache.find(K1)).to.equal(undefined);
    expect(await cache.save(entry(K1), { packages: built, rpms: path.join(dir, 'job', 'rpms', 'gw') })).to.equal(true);
    // The job's own directory may go (jobs are purged): the cache has its own copies.
    fs.rmSync(path.join(dir, 'job'), { recursive: true });
    const hit = cache.find(K1)!;
    expect(hit.build).to.include({ key: K1, jobId: 'j1', host: 'gw' });
    const into = path.join(dir, 'later-job');
    fs.mkdirSync(into);
    for (const f of hit.files) expect(await cache.copyVerified(K1, f, path.join(into, f.name))).to.equal(true);
    expect(fs.readdirSync(into).sort().map((f) => [f, fs.readFileSync(path.join(into, f), 'utf8')])).to.deep.equal([
      ['demoapp-doc_1.0_all.deb', 'its documentation'],
      ['demoapp_1.0_all.deb', 'the package'],
    ]);
    expect(cache.find(K2)).to.equal(undefined);
  });

  it('the first build kept for a key stays; nothing is kept of a build that made no package', async () => {
    const cache = new BuildCache(path.join(dir, 'cache'));
    expect(await cache.save(entry(K1, 'j1'), { packages: built })).to.equal(true);
    expect(await cache.save(entry(K1, 'j2'), { packages: built })).to.equal(false);
    expect(cache.find(K1)!.build.jobId).to.equal('j1');
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    expect(await cache.save(entry(K2), { packages: empty })).to.equal(false);
    expect(cache.find(K2)).to.equal(undefined);
    expect(fs.readdirSync(path.join(dir, 'cache'))).to.deep.equal([K1]);
  });

  it('a package changed on disk after it was kept is never used: its copy is removed and the entry dropped', async () => {
    const cache = new BuildCache(path.join(dir, 'cache'));
    await cache.save(entry(K1), { packages: built });
    fs.writeFileSync(path.join(dir, 'cache', K1, 'packages', 'demoapp_1.0_all.deb'), 'tampered');
    const hit = cache.find(K1)!;
    const into = path.join(dir, 'later-job');
    fs.mkdirSync(into);
    const tampered = hit.files.find((f) => f.name === 'demoapp_1.0_all.deb')!;
    expect(await cache.copyVerified(K1, tampered, path.join(into, tampered.name))).to.equal(false);
    expect(fs.readdirSync(into)).to.deep.equal([]);
    expect(fs.existsSync(path.join(dir, 'cache', K1))).to.equal(false);
    expect(cache.find(K1)).to.equal(undefined);
    // A record that does not parse, or names another key, is no entry either.
    await cache.save(entry(K2), { packages: built });
    fs.writeFileSync(path.join(dir, 'cache', K2, 'build.json'), '{"format":1,');
    expect(cache.find(K2)).to.equal(undefined);
    expect(cache.find('../../etc')).to.equal(undefined);
  });

  it('keeps the most recently used entries, and removes what a crashed save left', async () => {
    const cache = new BuildCache(path.join(dir, 'cache'), 2);
    const keys = ['a', 'b', 'c'].map((c) => c.repeat(32));
    const past = (s: number) => new Date(Date.now() - s * 1000);
    await cache.save(entry(keys[0]!), { packages: built });
    fs.utimesSync(path.join(dir, 'cache', keys[0]!, 'build.json'), past(30), past(30));
    await cache.save(entry(keys[1]!), { packages: built });
    fs.utimesSync(path.join(dir, 'cache', keys[1]!, 'build.json'), past(20), past(20));
    // Used again: now the most recent.
    expect(cache.find(keys[0]!)).to.not.equal(undefined);
    const crashed = path.join(dir, 'cache', '.saving-1-deadbeef');
    fs.mkdirSync(crashed);
    fs.utimesSync(crashed, past(7200), past(7200));
    await cache.save(entry(keys[2]!), { packages: built });
    expect(fs.readdirSync(path.join(dir, 'cache')).sort()).to.deep.equal([keys[0], keys[2]].sort());
  });

  it('keeps the packages under a total size, the newest entry always', async () => {
    // Each entry holds 28 bytes of packages; room for two.
    const cache = new BuildCache(path.join(dir, 'cache'), 32, 60);
    const keys = ['d', 'e', 'f'].map((c) => c.repeat(32));
    for (const [i, k] of keys.entries()) {
      await cache.save(entry(k), { packages: built });
      const at = new Date(Date.now() - (10 - i) * 1000);
      fs.utimesSync(path.join(dir, 'cache', k, 'build.json'), at, at);
    }
    cache.prune();
    expect(fs.readdirSync(path.join(dir, 'cache')).sort()).to.deep.equal([keys[1], keys[2]]);
    const tiny = new BuildCache(path.join(dir, 'cache'), 32, 1);
    tiny.prune();
    expect(fs.readdirSync(path.join(dir, 'cache'))).to.deep.equal([keys[2]]);
  });
});
