// Shared helpers for the benchmark scripts: timing whole processes and reporting medians.
import { spawn, spawnSync } from 'node:child_process';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs a command `runs` times and returns the wall times in ms; fails loudly on a non-zero exit.
 * `stdout: 'pipe'` keeps stdout for the failure message (for tools that report errors there);
 * `afterEach(i)` runs untimed after every run (e.g. to tear down what the run left behind).
 */
export function timeProcess(command, args, { runs = 5, env = {}, cwd, stdout = 'ignore', afterEach } = {}) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', stdout, 'pipe'], maxBuffer: 1 << 30 });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    afterEach?.(i);
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout ? `\n${result.stdout}` : ''}`);
    times.push(ms);
  }
  return times;
}

export function report(name, figures) {
  console.log(`\n== ${name}`);
  for (const [key, value] of Object.entries(figures)) console.log(`${key.padEnd(48)} ${value}`);
}

/**
 * Runs a command once without blocking the event loop (so an in-process simulator can answer it) and resolves
 * with its wall time in ms and its output; rejects on a non-zero exit.
 */
export function runProcess(command, args, { env = {}, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}: ${err}${out ? `\n${out}` : ''}`));
      else resolve({ ms, stdout: out, stderr: err });
    });
  });
}
