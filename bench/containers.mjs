#!/usr/bin/env node
// bench/containers: container groups from a cached image (create until every host answers SSH, and
// delete, for 1 and 3 hosts), `firestack image build` when the image is cached, and (unless
// BENCH_CONTAINERS_SCRATCH=0) an image build from scratch into a throw-away image directory,
// downloads included. Needs root, systemd-container and debootstrap.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { ensureDefaultImage, removeContainersOfStore } from '@smokestack/testkit';
import { Logger } from '@smokestack/core';
import { median, report, runProcess } from './lib.mjs';

const RUNS = Number(process.env.BENCH_CONTAINERS_RUNS ?? 3);
const SCRATCH = process.env.BENCH_CONTAINERS_SCRATCH !== '0';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-containers-'));
const env = { SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'), SMOKESTACK_STATE: path.join(dir, 'state', 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg') };
const firestack = (args, extra = {}) => runProcess(process.execPath, [path.join(root, 'packages/firestack/bin/run.js'), ...args], { env: { ...env, ...extra } });
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

function groupFile(count) {
  const file = path.join(dir, `group-${count}.yaml`);
  const hosts = Array.from({ length: count }, (_, i) => ({ name: `h${i + 1}`, gateway: i === 0 }));
  fs.writeFileSync(file, YAML.stringify({ provider: 'container', hosts }));
  return file;
}

async function createAndDelete(count) {
  const created = [];
  const deleted = [];
  for (let i = 0; i < RUNS; i++) {
    const name = `bench-${count}-${i}`;
    created.push((await firestack(['group', 'create', groupFile(count), '--name', name, '--json'])).ms);
    deleted.push((await firestack(['group', 'delete', name, '--json'])).ms);
  }
  return { created, deleted };
}

try {
  if (process.getuid?.() !== 0) throw new Error('bench/containers runs systemd-nspawn: run it as root');
  fs.writeFileSync(env.SMOKESTACK_CONFIG, 'templates: {}\n');
  await ensureDefaultImage(new Logger({ tty: false }));
  const cached = [];
  for (let i = 0; i < RUNS; i++) cached.push((await firestack(['image', 'build', 'default', '--json'])).ms);
  const one = await createAndDelete(1);
  const three = await createAndDelete(3);
  const figures = {
    'image build, cached (definition unchanged)': seconds(median(cached)),
    'group create, 1 host, until SSH answers': seconds(median(one.created)),
    'group delete, 1 host': seconds(median(one.deleted)),
    'group create, 3 hosts, until SSH answers': seconds(median(three.created)),
    'group delete, 3 hosts': seconds(median(three.deleted)),
    'group create, 3 hosts, each run': three.created.map((ms) => (ms / 1000).toFixed(2)).join(' '),
  };
  if (SCRATCH) {
    const images = path.join(dir, 'images');
    const { ms, stdout } = await firestack(['image', 'build', 'default', '--json'], { SMOKESTACK_IMAGE_DIR: images });
    const [{ image }] = JSON.parse(stdout).images;
    figures['image build from scratch (downloads included)'] = `${seconds(ms)}, ${Math.round(image.sizeBytes / 1_048_576)} MB, ${image.packages.length} packages asked for`;
  }
  report(`containers: median of ${RUNS} (firestack processes, whole)`, figures);
} finally {
  await removeContainersOfStore(env.SMOKESTACK_STATE);
  fs.rmSync(dir, { recursive: true, force: true });
}
