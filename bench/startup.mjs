#!/usr/bin/env node
// bench/startup: what a command costs before it does anything, as whole processes timed by hyperfine
// (Debian's `hyperfine`, no shell in between): `node -e 0`, each CLI's --help, `bellows jobs list --json`
// on an empty store (without and with a config file), and git-review --version when it is installed.
// Prints the median beside node's and beside the figures measured before start-up was worked on.
//   node bench/startup.mjs [--runs 20] [--before DIR]   (DIR: another built checkout, timed in the same run)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StateStore } from '@smokestack/core/store';
import { report } from './lib.mjs';

const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '20' }, before: { type: 'string' } } });
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Medians on this 2-core machine before the work on start-up (docs/benchmarks.md; --help was measured for
// bellows, and the three CLIs start alike), for side-by-side reading.
const EARLIER = {
  'node -e 0': '103 ms',
  'bellows --help': '415 ms, 4.0x node',
  'firestack --help': '415 ms, 4.0x node',
  'reviewday --help': '415 ms, 4.0x node',
  'bellows jobs list --json, empty store': '498 ms, 4.8x node',
  'git-review --version': '296 ms, 2.9x node',
};

if (spawnSync('hyperfine', ['--version']).status !== 0) {
  console.error('bench/startup: needs hyperfine (scripts/install-system-packages.sh installs it)');
  process.exit(1);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-startup-'));
try {
  await new StateStore(path.join(dir, 'state', 'state.json')).update(() => undefined);
  const cases = commandsOf(ROOT, dir, '');
  if (opts.before) cases.push(...commandsOf(path.resolve(opts.before), dir, ' (before)'));
  if (spawnSync('git-review', ['--version']).status === 0) cases.push({ name: 'git-review --version', command: 'git-review --version' });
  const timed = hyperfine(cases, dir, Number(opts.runs));
  const node = timed.get('node -e 0');
  const figures = {};
  for (const { name } of cases) {
    const t = timed.get(name);
    const earlier = EARLIER[name] ? `; earlier ${EARLIER[name]}` : '';
    figures[name] = `${ms(t.median)} (${times(t.median, node.median)}), cpu ${ms(t.cpu)} (${times(t.cpu, node.cpu)})${earlier}`;
  }
  if (!timed.has('git-review --version')) figures['git-review --version'] = `not installed; earlier ${EARLIER['git-review --version']}`;
  // On a busy machine wall times stretch with the queue for the CPU; CPU time (user + system) stretches far less.
  report(`start-up: median wall time and mean CPU time of ${opts.runs} runs in 5 rounds, each beside node's`, figures);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The commands to time for the checkout at `root`: an empty store, no config unless named. */
function commandsOf(root, dir, suffix) {
  const bin = (cli) => `${process.execPath} ${path.join(root, 'packages', cli, 'bin', 'run.js')}`;
  // Not in the working directory, where every command would find it.
  const config = path.join(dir, 'config', 'smokestack.yaml');
  fs.mkdirSync(path.dirname(config), { recursive: true });
  fs.writeFileSync(config, 'projects:\n  - name: openstack/nova\n    templates: [smoke]\ntemplates:\n  smoke:\n    suites:\n      - name: smoke\n        command: ./smoke.sh\n');
  const cases = [
    { name: 'bellows --help', command: `${bin('bellows')} --help` },
    { name: 'firestack --help', command: `${bin('firestack')} --help` },
    { name: 'reviewday --help', command: `${bin('reviewday')} --help` },
    { name: 'bellows jobs list --json, empty store', command: `${bin('bellows')} jobs list --json` },
    { name: 'the same with a config file', command: `${bin('bellows')} jobs list --json --config ${config}` },
  ].map((c) => ({ ...c, name: c.name + suffix }));
  return suffix ? cases : [{ name: 'node -e 0', command: `${process.execPath} -e 0` }, ...cases];
}

/**
 * Times every case in rounds of hyperfine runs, the cases one after another in each round, so that a
 * machine whose speed drifts from one second to the next (a shared VM's does) slows every case alike;
 * median wall time over all runs and mean CPU time in ms by name.
 */
function hyperfine(cases, dir, runs) {
  const rounds = Math.min(runs, 5);
  const out = path.join(dir, 'hyperfine.json');
  const env = { ...process.env, SMOKESTACK_STATE: path.join(dir, 'state', 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), NO_COLOR: '1' };
  const times = new Map(cases.map((c) => [c.name, { wall: [], cpu: [] }]));
  for (let round = 0; round < rounds; round++) {
    const args = ['--shell=none', '--warmup', round === 0 ? '3' : '1', '--runs', String(Math.ceil(runs / rounds)), '--style', 'none', '--export-json', out];
    for (const c of cases) args.push('--command-name', c.name, c.command);
    const result = spawnSync('hyperfine', args, { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) throw new Error(`hyperfine exited ${result.status}`);
    for (const r of JSON.parse(fs.readFileSync(out, 'utf8')).results) {
      const t = times.get(r.command);
      t.wall.push(...r.times);
      t.cpu.push((r.user + r.system) * r.times.length);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  return new Map([...times].map(([name, t]) => [name, { median: median(t.wall) * 1000, cpu: (t.cpu.reduce((a, b) => a + b, 0) / t.wall.length) * 1000 }]));
}

function times(value, base) {
  return `${(value / base).toFixed(1)}x node`;
}

function ms(value) {
  return `${Math.round(value).toLocaleString('en')} ms`;
}
