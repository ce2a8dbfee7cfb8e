#!/usr/bin/env node
// Benchmark of `reviewday report`: 10,000 open changes over 40 projects, served by the Gerrit and
// Launchpad simulators, with a state store holding two jobs per change. Measures the whole CLI
// process (cold Launchpad cache, warm cache, --offline) and, in Chromium with the network blocked,
// time to first render and to re-sort by score. Run after `npm run build`:
//   node bench/report.mjs [--changes 10000] [--projects 40] [--runs 3] [--keep]  (--keep: leave the report in the temp dir)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { StateStore } from '@smokestack/core';
import { GerritSim, LaunchpadSim } from '@smokestack/testkit';

const { values: opts } = parseArgs({
  options: { changes: { type: 'string', default: '10000' }, projects: { type: 'string', default: '40' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } },
});
const CHANGES = Number(opts.changes);
const PROJECTS = Number(opts.projects);
const RUNS = Number(opts.runs);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'packages', 'reviewday', 'bin', 'run.js');
const DAY = 86_400_000;
const IMPORTANCE = ['Critical', 'High', 'Medium', 'Low', 'Wishlist', 'Undecided', 'Unknown'];
const PRIORITY = ['Essential', 'High', 'Medium', 'Low', 'Undefined', 'Not'];
const STATUSES = ['success', 'success', 'success', 'test_failed', 'build_failed', 'infra_failed', 'running', 'queued'];

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

function run(args, env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`reviewday exited ${code}: ${stderr}`));
      else resolve({ ms, stdout, stderr });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(0)} ms`;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reviewday-bench-'));
  const gerrit = await GerritSim.start({ pageCap: 500 });
  const launchpad = new LaunchpadSim();
  await launchpad.start();
  try {
    const random = prng(42);
    const now = Date.now();
    const projects = Array.from({ length: PROJECTS }, (_, i) => ({ name: `openstack/project-${String(i).padStart(2, '0')}`, launchpad: `project-${String(i).padStart(2, '0')}` }));
    let bugId = 100_000;
    const jobs = {};
    let jobId = 1;
    const t0 = performance.now();
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
      const vote = random();
      if (vote < 0.3) gerrit.comment(change.number, { author: 'alice', message: 'Looks good.', labels: { 'Code-Review': vote < 0.05 ? -2 : vote < 0.15 ? -1 : 2 } });
      const ps = change.patchSets.at(-1);
      for (const template of ['tempest', 'unit']) {
        const status = STATUSES[Math.floor(random() * STATUSES.length)];
        const skipped = template === 'tempest' && random() < 0.3 ? [{ id: 'tempest.api.compute.test_live_migration', reason: 'requires libvirt' }, { id: 'tempest.api.volume.test_attach' }] : [];
        const id = String(jobId++);
        jobs[id] = {
          id, configId: `${project.name}~${change.number}`, project: project.name, number: change.number, patchSet: ps.number, revision: ps.revision, template, status,
          attempt: 1, createdAt: new Date(now).toISOString(), summary: { tests: 500, failures: status === 'test_failed' ? 3 : 0, errors: 0, skipped: skipped.length, durationMs: 1 },
          skipped, message: '', logDir: `jobs/${id}`,
        };
      }
    }
    fs.mkdirSync(path.join(dir, 'state'));
    const store = new StateStore(path.join(dir, 'state', 'state.json'));
    await store.update((state) => void Object.assign(state.jobs, jobs));
    fs.writeFileSync(
      path.join(dir, 'smokestack.yaml'),
      `gerrit:\n  url: ${gerrit.httpUrl}\n  username: smokestack\nstate: state/state.json\nlaunchpad:\n  url: ${launchpad.url}\n  timeoutMs: 5000\nprojects:\n` +
        projects.map((p) => `  - name: ${p.name}\n    launchpad: ${p.launchpad}\n    templates: []\n`).join(''),
    );
    console.log(`fixtures: ${CHANGES} changes, ${PROJECTS} projects, ${Object.keys(jobs).length} jobs (${fmt(performance.now() - t0)} to generate)`);

    const env = { HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache') };
    const base = ['report', '-c', path.join(dir, 'smokestack.yaml'), '-o', path.join(dir, 'out')];
    const cold = await run([...base, '--json'], env);
    const result = JSON.parse(cold.stdout);
    const htmlBytes = fs.statSync(path.join(dir, 'out', 'index.html')).size;
    const jsonBytes = fs.statSync(path.join(dir, 'out', 'reviewday.json')).size;
    console.log(`report: ${result.changes} changes shown, index.html ${(htmlBytes / 1e6).toFixed(1)} MB, reviewday.json ${(jsonBytes / 1e6).toFixed(1)} MB`);
    const phases = (t) => `gerrit ${fmt(t.gerritMs)}, launchpad ${fmt(t.launchpadMs)}, store + render ${fmt(t.renderMs)}`;
    console.log(`reviewday report, cold Launchpad cache: ${fmt(cold.ms)} (${result.launchpad.requests} Launchpad requests; ${phases(result.timings)})`);
    const warm = [];
    let last;
    for (let i = 0; i < RUNS; i++) {
      const r = await run([...base, '--json'], env);
      warm.push(r.ms);
      last = JSON.parse(r.stdout);
    }
    console.log(`reviewday report, warm cache:          ${fmt(median(warm))} median of ${RUNS} (last: ${phases(last.timings)})`);
    const offline = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await run([...base, '--offline', '--json'], env);
      offline.push(r.ms);
      last = JSON.parse(r.stdout);
    }
    console.log(`reviewday report --offline:            ${fmt(median(offline))} median of ${RUNS} (last: ${phases(last.timings)})`);
    const help = await run(['--version'], env);
    console.log(`(CLI start-up alone, reviewday --version: ${fmt(help.ms)})`);

    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const firstRender = [];
      const sortOne = [];
      for (let i = 0; i < RUNS; i++) {
        const context = await browser.newContext({ offline: true, viewport: { width: 1400, height: 900 } });
        await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
        const page = await context.newPage();
        const started = performance.now();
        await page.goto(pathToFileURL(path.join(dir, 'out', 'index.html')).href, { waitUntil: 'load' });
        const wall = performance.now() - started;
        const fcp = await page.evaluate(() => performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint')?.startTime ?? NaN);
        firstRender.push({ fcp, wall });
        if (await page.evaluate(() => window.__pwned)) throw new Error('markup from a subject ran');
        // Re-sort one project's table by score (ascending, then back), until the next frame is painted.
        const timeSort = (selector) =>
          page.evaluate(async (sel) => {
            const buttons = [...document.querySelectorAll(sel)];
            const t = performance.now();
            for (const b of buttons) b.click();
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            return performance.now() - t;
          }, selector);
        sortOne.push(await timeSort('#p1 thead th:nth-child(5) button'));
        sortOne.push(await timeSort('#p1 thead th:nth-child(5) button'));
        await context.close();
      }
      console.log(
        `chromium first contentful paint: ${fmt(median(firstRender.map((r) => r.fcp)))}, load event (wall): ${fmt(median(firstRender.map((r) => r.wall)))} median of ${RUNS}`,
      );
      console.log(`chromium re-sort by score (click to next painted frame), one project of ${Math.round(CHANGES / PROJECTS)} rows: ${fmt(median(sortOne))} median of ${sortOne.length}`);
    } finally {
      await browser.close();
    }
  } finally {
    await gerrit.stop();
    await launchpad.stop();
    if (opts.keep) console.log(`kept: ${path.join(dir, 'out', 'index.html')}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
