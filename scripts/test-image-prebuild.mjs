// `npm test` only (mocha --require): on a machine that can run containers, the shared "default"
// container image is built in the background while the first test files run, instead of inside
// the first container test. Those tests wait for it (one builder per image, the others take its
// result). A suite that ends first stops the build; its half-made image is never used.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const onPath = (tool) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0;

export async function mochaGlobalSetup() {
  if (process.getuid?.() !== 0 || !onPath('systemd-nspawn') || !onPath('debootstrap')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-test-image-'));
  // The built-in definition, as the tests use it: no config of the user's changes what is built.
  const config = path.join(dir, 'smokestack.yaml');
  fs.writeFileSync(config, '{}\n');
  const log = path.join(dir, 'build.log');
  const out = fs.openSync(log, 'w');
  const firestack = path.join(root, 'packages', 'firestack', 'bin', 'run.js');
  this.imageBuild = spawn(process.execPath, [firestack, 'image', 'build', 'default'], {
    cwd: dir,
    env: { ...process.env, SMOKESTACK_CONFIG: config, NO_COLOR: '1' },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  this.imageBuildDir = dir;
  process.stderr.write(`test setup: the shared container image is built (or found) in the background while tests run; its log: ${log}\n`);
}

export async function mochaGlobalTeardown() {
  const child = this.imageBuild;
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGINT');
    await once(child, 'exit');
  }
  if (this.imageBuildDir) fs.rmSync(this.imageBuildDir, { recursive: true, force: true });
}
