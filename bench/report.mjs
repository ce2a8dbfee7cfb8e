#!/usr/bin/env node
// Benchmark of `reviewday report`: 10,000 open changes over 40 projects, served by the Gerrit and
// Launchpad simulators, with a state store holding two jobs per change. Runs the current build and,
// side by side in the same run, the code before the report was made fast (built from git into a
// temp directory): the whole CLI process with a cold and a warm Launchpad cache and --offline, the
// size of index.html, and in Chromium (network blocked) first paint, a re-sort and a filter.
// Run after `npm run build`:
//   node bench/report.mjs [--changes 10000] [--projects 40] [--runs 3] [--baseline REF|none] [--keep] [--serve]
// --serve only builds the fixtures and keeps the simulators up until stopped, printing the command to profile
// (SIGUSR2 to it touches 1% of the changes, as between two warm runs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { GerritSim, LaunchpadSim } from '@smokestack/testkit';
import { median, runProcess } from './lib.mjs';

// The last commit before the report's cache, snapshot and paged page: what "before" means.
const BASELINE = '5b0a747';
const { values: opts } = parseArgs({
  options: {
    changes: { type: 'string', default: '10000' },
    projects: { type: 'string', default: '40' },
    runs: { type: 'string', default: '3' },
    baseline: { type: 'string', default: BASELINE },
    keep: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
  },
});
const CHANGES = Number(opts.changes);
const PROJECTS = Number(opts.projects);
const RUNS = Number(opts.runs);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DAY = 86_400_000;
const IMPORTANCE = ['Critical', 'High', 'Medium', 'Low', 'Wishlist', 'Undecided', 'Unknown'];
const PRIORITY = ['Essential', 'High', 'Medium', 'Low', 'Undefined', 'Not'];
const STATUSES = ['success', 'success', 'success', 'test_failed', 'build_failed', 'infra_failed', 'running', 'queued'];
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A deterministic PRNG so every run measures the same data. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const fmt = (ms) => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : '—');
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Open changes in the Gerrit simulator, bugs and blueprints in the Launchpad simulator, and two jobs per change. */
function makeFixtures(gerrit, launchpad) {
  const random = prng(42);
  const now = Date.now();
  const projects = Array.from({ length: PROJECTS }, (_, i) => ({ name: `openstack/project-${String(i).padStart(2, '0')}`, launchpad: `project-${String(i).padStart(2, '0')}` }));
  let bugId = 100_000;
  const jobs = {};
  const configs = {};
  let jobId = 1;
  const numbers = [];
  for (let i = 0; i < CHANGES; i++) {
    const project = projects[i % PROJECTS];
    const kind = random();
    let topic;
    if (kind < 0.4) {
      const id = bugId++;
      // Some bugs also have a task of another project listed first.
      const tasks = random() < 0.3 ? [{ target: 'other-project', importance: 'Critical' }] : [];
      tasks.push({ target: project.launchpad, importance: IMPORTANCE[Math.floor(random() * IMPORTANCE.length)] });
      launchpad.addBug({ id, tags: random() < 0.05 ? ['regression'] : [], tasks });
      topic = `bug/${id}`;
    } else if (kind < 0.6) {
      const name = `feature-${i}`;
      launchpad.addSpecification({ project: project.launchpad, name, priority: PRIORITY[Math.floor(random() * PRIORITY.length)] });
      topic = `bp/${name}`;
    } else if (kind < 0.7) topic = `topic-${i}`;
    const change = gerrit.createChange({
      project: project.name,
      subject: i % 997 === 0 ? `<img src=x onerror="window.__pwned=1"> change ${i}` : `Change ${i}: fix the thing in module ${i % 50}`,
      owner: random() < 0.5 ? 'alice' : 'smokestack',
      topic,
      wip: random() < 0.03,
      created: new Date(now - random() * 60 * DAY),
    });
    numbers.push(change.number);
    const vote = random();
    if (vote < 0.3) gerrit.comment(change.number, { author: 'alice', message: 'Looks good.', labels: { 'Code-Review': vote < 0.05 ? -2 : vote < 0.15 ? -1 : 2 } });
    const ps = change.patchSets.at(-1);
    // The test config bellows keeps per open change: the store keeps its current patch set's results live.
    const configId = `${project.name}~${change.number}`;
    configs[configId] = {
      id: configId, project: project.name, branch: 'master', number: change.number, description: `alice: change ${i}`, branches: {},
      templates: ['tempest', 'unit'], patchSet: ps.number, revision: ps.revision, ref: ps.ref, updatedAt: new Date(now).toISOString(),
    };
    for (const template of ['tempest', 'unit']) {
      const status = STATUSES[Math.floor(random() * STATUSES.length)];
      const skipped = template === 'tempest' && random() < 0.3 ? [{ id: 'tempest.api.compute.test_live_migration', reason: 'requires libvirt' }, { id: 'tempest.api.volume.test_attach' }] : [];
      const failed = status === 'test_failed';
      const id = String(jobId++);
      jobs[id] = {
        id, configId: `${project.name}~${change.number}`, project: project.name, number: change.number, patchSet: ps.number, revision: ps.revision, template, status,
        attempt: 1, createdAt: new Date(now).toISOString(),
        summary: { tests: status === 'build_failed' ? 0 : 500, failures: failed ? 3 : 0, errors: 0, skipped: skipped.length, durationMs: 1 },
        skipped, failedTests: failed ? [`tempest.api.compute.test_server_${i % 40}`, 'tempest.api.network.test_ports', `unit.test_module_${i % 50}`] : [],
        message: status === 'build_failed' ? 'configure: puppet apply failed on controller' : '', logDir: `jobs/${id}`,
      };
    }
  }
  return { projects, jobs, configs, numbers };
}

/** Between two report runs about 1% of the changes get a review comment, as on a busy Gerrit. */
function touchSome(gerrit, numbers, round) {
  const random = prng(1000 + round);
  for (let i = 0; i < Math.ceil(numbers.length / 100); i++) {
    gerrit.comment(numbers[Math.floor(random() * numbers.length)], { author: 'alice', message: 'One more thing.' });
  }
}

/**
 * The code at `ref`, built in a temp directory beside a node_modules that links to this checkout's
 * (its own workspace packages linked to its own sources). Returns its root.
 */
function buildBaseline(ref, into) {
  fs.mkdirSync(into, { recursive: true });
  const archive = execFileSync('git', ['-C', ROOT, 'archive', ref, 'packages', 'templates', 'scripts', 'tsconfig.base.json', 'tsconfig.json', 'package.json'], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', into], { input: archive });
  const modules = path.join(into, 'node_modules');
  fs.mkdirSync(path.join(modules, '@smokestack'), { recursive: true });
  for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name !== '@smokestack') fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
  }
  for (const name of fs.readdirSync(path.join(into, 'packages'))) {
    fs.symlinkSync(path.join(into, 'packages', name), path.join(modules, '@smokestack', name));
    const own = path.join(ROOT, 'packages', name, 'node_modules');
    if (fs.existsSync(own) && !fs.existsSync(path.join(into, 'packages', name, 'node_modules'))) fs.symlinkSync(own, path.join(into, 'packages', name, 'node_modules'));
  }
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', path.join(into, 'packages', 'reviewday')], { stdio: 'inherit' });
  // Since oclif, zod and yaml (and later axios) are vendored, the build bundles them after tsc, as `npm run build` does.
  const vendor = path.join(into, 'scripts', 'bundle-vendor.mjs');
  if (fs.existsSync(vendor)) execFileSync(process.execPath, [vendor], { stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'oclif', 'bin', 'run.js'), 'manifest'], {
    cwd: path.join(into, 'packages', 'reviewday'),
    env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
    stdio: 'ignore',
  });
  // Since the CLIs are bundled, bin/run.js starts from dist/bundle/ (scripts/bundle-clis.mjs).
  const bundler = path.join(into, 'scripts', 'bundle-clis.mjs');
  if (fs.existsSync(bundler)) execFileSync(process.execPath, [bundler, 'reviewday'], { stdio: 'inherit' });
  return into;
}

/** A working directory for one build: its own store (written by that build's own store code), config and cache. */
async function prepare(root, dir, fixture, gerrit, launchpad) {
  const { StateStore } = await import(pathToFileURL(path.join(root, 'packages', 'core', 'dist', 'index.js')).href);
  fs.mkdirSync(path.join(dir, 'state'), { recursive: true });
  await new StateStore(path.join(dir, 'state', 'state.json')).update((state) => {
    Object.assign(state.configs, structuredClone(fixture.configs));
    Object.assign(state.jobs, structuredClone(fixture.jobs));
  });
  fs.writeFileSync(
    path.join(dir, 'smokestack.yaml'),
    // No overlap: a warm run's incremental sweep sees only what changed since the previous run.
    `gerrit:\n  url: ${gerrit.httpUrl}\n  username: smokestack\n  overlapSeconds: 0\nstate: state/state.json\nlaunchpad:\n  url: ${launchpad.url}\n  timeoutMs: 5000\nprojects:\n` +
      fixture.projects.map((p) => `  - name: ${p.name}\n    launchpad: ${p.launchpad}\n    templates: []\n`).join(''),
  );
  const bin = path.join(root, 'packages', 'reviewday', 'bin', 'run.js');
  const env = { PATH: process.env.PATH ?? '', NO_COLOR: '1', HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache') };
  const args = ['report', '-c', path.join(dir, 'smokestack.yaml'), '-o', path.join(dir, 'out'), '--json'];
  return { bin, env, args, dir, html: path.join(dir, 'out', 'index.html') };
}

async function timeCli(setup, extra = [], beforeRun) {
  const times = [];
  let result;
  for (let i = 0; i < RUNS; i++) {
    await beforeRun?.();
    const r = await runProcess(process.execPath, [setup.bin, ...setup.args, ...extra], { env: setup.env });
    times.push(r.ms);
    result = JSON.parse(r.stdout);
  }
  return { ms: median(times), result };
}

/** Whole-process figures of one build: cold cache, warm cache (1% of changes touched before each run), --offline. */
async function measureCli(setup, touch, full) {
  const cold = await runProcess(process.execPath, [setup.bin, ...setup.args], { env: setup.env });
  const first = JSON.parse(cold.stdout);
  let round = 0;
  const warm = await timeCli(setup, [], () => touch(round++));
  const warmFull = full ? await timeCli(setup, ['--full']) : undefined;
  const offline = await timeCli(setup, ['--offline']);
  return {
    warmFull: warmFull?.ms,
    warmFullTimings: warmFull?.result.timings,
    cold: cold.ms,
    coldRequests: first.launchpad.requests,
    warm: warm.ms,
    warmTimings: warm.result.timings,
    offline: offline.ms,
    shown: first.changes,
    htmlBytes: fs.statSync(setup.html).size,
    jsonBytes: fs.statSync(path.join(setup.dir, 'out', 'reviewday.json')).size,
  };
}

/** Median over fresh pages: first contentful paint, load, re-sort one project by score (right after the first paint, then as a reader would), filter everything. */
async function measureBrowser(browser, html) {
  const figures = { fcp: [], rows: [], load: [], early: [], sort: [], filter: [], clear: [] };
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage();
    await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    const started = performance.now();
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    figures.load.push(performance.now() - started);
    // Paint entries may arrive after the load event: wait for them.
    const paint = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const seen = () => performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint');
          const rows = () => performance.getEntriesByName('reviewday:rows')[0]?.startTime ?? NaN;
          if (seen()) return resolve({ fcp: seen().startTime, rows: rows() });
          new PerformanceObserver(() => seen() && resolve({ fcp: seen().startTime, rows: rows() })).observe({ type: 'paint', buffered: true });
          setTimeout(() => resolve({ fcp: NaN, rows: rows() }), 10_000);
        }),
    );
    figures.fcp.push(paint.fcp);
    figures.rows.push(paint.rows);
    if (await page.evaluate(() => window.__pwned)) throw new Error('markup from a subject ran');
    // Each action is timed from the click or key to the next painted frame.
    const sortOnce = (column) =>
      page.evaluate(async (nth) => {
        const button = document.querySelector(`#p1 thead th:nth-child(${nth}) button`);
        const t = performance.now();
        button.click();
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
        return performance.now() - t;
      }, column);
    // Right after the first paint Chromium is still rasterizing the page in its other processes, which
    // share this machine's two cores with the page: a sort then takes about twice as long. A reader's
    // first click comes later; the actions below are timed a second after the first paint, as a reader
    // would make them, and this first sort is reported on its own. Every sort timed shows rows not drawn
    // before (a row once drawn is kept, and moving it back costs less): by score (ascending), by age, by subject.
    figures.early.push(await sortOnce(5));
    await page.waitForTimeout(1000);
    figures.sort.push(await sortOnce(4), await sortOnce(2));
    const filter = (text) =>
      page.evaluate(async (value) => {
        const input = document.getElementById('filter');
        const t = performance.now();
        input.value = value;
        input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
        return performance.now() - t;
      }, text);
    figures.filter.push(await filter('alice module 7'));
    figures.clear.push(await filter(''));
    await page.close();
  }
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, median(v)]));
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => String(cell).padEnd(widths[c])).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reviewday-bench-'));
  const gerrit = await GerritSim.start({ pageCap: 500 });
  const launchpad = new LaunchpadSim();
  await launchpad.start();
  let browser;
  try {
    const t0 = performance.now();
    const fixture = makeFixtures(gerrit, launchpad);
    console.log(`fixtures: ${CHANGES} changes, ${PROJECTS} projects, ${Object.keys(fixture.jobs).length} jobs (${fmt(performance.now() - t0)} to generate)`);
    const current = await prepare(ROOT, path.join(dir, 'current'), fixture, gerrit, launchpad);
    if (opts.serve) {
      // `kill -USR2 <pid>` touches 1% of the changes, as between two warm runs of the benchmark.
      let round = 0;
      process.on('SIGUSR2', () => touchSome(gerrit, fixture.numbers, round++));
      console.log(`serving (pid ${process.pid}; kill -USR2 touches 1% of the changes); profile with:\ncd ${dir} && env ${Object.entries(current.env).map(([k, v]) => `${k}=${v}`).join(' ')} node --cpu-prof ${current.bin} ${current.args.join(' ')}`);
      // Until stopped (Ctrl-C or kill): then the simulators stop and the fixtures go as after a run.
      await new Promise((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      return;
    }
    let baseline;
    if (opts.baseline !== 'none') {
      console.log(`building the baseline (${opts.baseline})…`);
      const root = buildBaseline(opts.baseline, path.join(dir, 'baseline-src'));
      baseline = await prepare(root, path.join(dir, 'baseline'), fixture, gerrit, launchpad);
    }
    const cli = {};
    const touch = (round) => touchSome(gerrit, fixture.numbers, round);
    if (baseline) cli.before = await measureCli(baseline, touch, false);
    cli.after = await measureCli(current, touch, true);
    // --offline of the current build needs no Gerrit: stop it and render from the saved snapshot.
    await gerrit.stop();
    cli.after.offlineNoGerrit = (await timeCli(current, ['--offline'])).ms;

    const userDataDir = path.join(dir, 'chromium-profile');
    browser = await chromium.launchPersistentContext(userDataDir, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, offline: true, viewport: { width: 1400, height: 900 } });
    const page = {};
    if (baseline) page.before = await measureBrowser(browser, baseline.html);
    page.after = await measureBrowser(browser, current.html);

    const b = cli.before ?? {};
    const a = cli.after;
    const pb = page.before ?? {};
    const pa = page.after;
    console.log(`\n== reviewday report, ${a.shown} changes shown of ${CHANGES} (${PROJECTS} projects), medians of ${RUNS}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
    table([
      ['', `before (${opts.baseline})`, 'after', 'goal'],
      ['report, cold Launchpad cache', `${fmt(b.cold)} (${b.coldRequests ?? '—'} req)`, `${fmt(a.cold)} (${a.coldRequests} req)`, ''],
      ['report, warm cache', fmt(b.warm), fmt(a.warm), '< 1000 ms'],
      ['  of which gerrit / launchpad / store+render', b.warmTimings ? `${b.warmTimings.gerritMs} / ${b.warmTimings.launchpadMs} / ${b.warmTimings.renderMs} ms` : '—', `${a.warmTimings.gerritMs} / ${a.warmTimings.launchpadMs} / ${a.warmTimings.renderMs} ms`, ''],
      ['report, warm cache, --full (every change from Gerrit)', fmt(b.warm), fmt(a.warmFull), ''],
      ['  of which gerrit / launchpad / store+render', b.warmTimings ? `${b.warmTimings.gerritMs} / ${b.warmTimings.launchpadMs} / ${b.warmTimings.renderMs} ms` : '—', `${a.warmFullTimings.gerritMs} / ${a.warmFullTimings.launchpadMs} / ${a.warmFullTimings.renderMs} ms`, ''],
      ['report --offline', fmt(b.offline), fmt(a.offline), ''],
      // Only the current build is run with Gerrit stopped; the code before the snapshot (the default baseline) could not.
      ['report --offline, Gerrit stopped', opts.baseline === BASELINE ? 'fails (needs Gerrit)' : 'not run', fmt(a.offlineNoGerrit), 'works'],
      ['index.html', b.htmlBytes ? mb(b.htmlBytes) : '—', mb(a.htmlBytes), 'a few MB'],
      ['reviewday.json', b.jsonBytes ? mb(b.jsonBytes) : '—', mb(a.jsonBytes), ''],
      ['chromium: first contentful paint', fmt(pb.fcp), fmt(pa.fcp), '< 500 ms'],
      ['chromium: first rows drawn (script done)', '—', fmt(pa.rows), ''],
      ['chromium: load event (wall)', fmt(pb.load), fmt(pa.load), ''],
      ['chromium: re-sort a project by score, right after the first paint', fmt(pb.early), fmt(pa.early), ''],
      ['chromium: re-sort a project a second later (by age, by subject)', fmt(pb.sort), fmt(pa.sort), '< 50 ms'],
      ['chromium: filter all projects', fmt(pb.filter), fmt(pa.filter), '< 50 ms'],
      ['chromium: clear the filter', fmt(pb.clear), fmt(pa.clear), '< 50 ms'],
    ]);
  } finally {
    await browser?.close();
    await gerrit.stop().catch(() => undefined);
    await launchpad.stop();
    if (opts.keep) console.log(`kept: ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
