#!/usr/bin/env node
// bench/pipeline: the example template on 2 hosts through `firestack run --json`, whole process,
// 3 runs per provider: wall time, time inside remote commands, and the machinery's overhead
// (wall minus remote). The ssh provider uses 2 real sshd test hosts and needs root.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { sshGroupDefinition, startSshHosts } from '@smokestack/testkit';
import { median, report, runProcess } from './lib.mjs';

const RUNS = Number(process.env.BENCH_PIPELINE_RUNS ?? 3);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-pipeline-'));
const isRoot = process.getuid?.() === 0;
let sshd;

function demoTemplate(group) {
  const template = YAML.parse(fs.readFileSync(path.join(examples, 'templates', 'demo.yaml'), 'utf8'));
  template.group = group;
  template.builds[0].url = path.join(dir, 'demoapp');
  for (const m of template.puppet.modules) if (m.path) m.path = path.join(examples, m.path);
  for (const [k, v] of Object.entries(template.puppet.manifests)) template.puppet.manifests[k] = path.join(examples, v);
  return template;
}

async function measure(template) {
  const rows = [];
  for (let i = 0; i < RUNS; i++) {
    const { stdout } = await runProcess(process.execPath, [path.join(root, 'packages/firestack/bin/run.js'), 'run', '--template', template, '--json'], {
      env: { SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'), XDG_CONFIG_HOME: path.join(dir, 'xdg') },
    });
    const { result } = JSON.parse(stdout);
    if (result.status !== 'success') throw new Error(`${template}: ${result.status}: ${result.message}`);
    rows.push(result.timing);
  }
  const pick = (key) => median(rows.map((r) => r[key]));
  return {
    wall: `${(pick('wallMs') / 1000).toFixed(1)} s`,
    remote: `${(pick('remoteMs') / 1000).toFixed(1)} s`,
    overhead: `${(pick('overheadMs') / 1000).toFixed(2)} s (${((100 * pick('overheadMs')) / pick('wallMs')).toFixed(1)}%)`,
    runs: rows.map((r) => `${(r.overheadMs / 1000).toFixed(2)}`).join(' '),
  };
}

try {
  if (!isRoot) throw new Error('bench/pipeline installs the demo package and applies Puppet: run it as root');
  // The example project as a git repository, the way a template names a source.
  fs.cpSync(path.join(examples, 'demo-project'), path.join(dir, 'demoapp'), { recursive: true });
  const git = (...args) => execFileSync('git', args, { cwd: path.join(dir, 'demoapp'), stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.org', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.org' } });
  git('init', '-q', '-b', 'master');
  git('add', '-A');
  git('commit', '-qm', 'demoapp');

  sshd = await startSshHosts({ count: 2 });
  const roles = (i) => (i === 0 ? ['repo'] : ['web']);
  const config = {
    state: path.join(dir, 'state', 'state.json'),
    templates: {
      'demo-ssh': demoTemplate(sshGroupDefinition(sshd, roles)),
      'demo-local': demoTemplate({ provider: 'local', hosts: [0, 1].map((i) => ({ name: `host${i + 1}`, gateway: i === 0, roles: roles(i) })) }),
    },
  };
  fs.writeFileSync(path.join(dir, 'smokestack.yaml'), YAML.stringify(config));

  const ssh = await measure('demo-ssh');
  const local = await measure('demo-local');
  report(`pipeline: the demo template on 2 hosts, firestack run --json, median of ${RUNS}`, {
    'ssh (2 sshd hosts): wall time': ssh.wall,
    'ssh: time inside remote commands': ssh.remote,
    'ssh: overhead (wall - remote)': ssh.overhead,
    'ssh: overhead per run': ssh.runs,
    'local (2 host directories): wall time': local.wall,
    'local: time inside remote commands': local.remote,
    'local: overhead (wall - remote)': local.overhead,
    'local: overhead per run': local.runs,
  });
} finally {
  await sshd?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync('dpkg', ['--purge', 'demoapp'], { stdio: 'ignore' });
  } catch {
    // not installed
  }
}
