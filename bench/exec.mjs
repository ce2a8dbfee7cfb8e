#!/usr/bin/env node
// bench/exec: 8 real sshd hosts x 10 sequential steps of `true` (each step on every host in parallel),
// SmokeStack over pooled ssh2 connections vs Ansible (pipelining on, forks = hosts), each timed as a
// whole process, median of 5 after one untimed warm-up run. Needs the built dist:
//   npx tsc -b packages/core packages/testkit
// Knobs: BENCH_EXEC_HOSTS (8), BENCH_EXEC_STEPS (10), BENCH_EXEC_RUNS (5), BENCH_EXEC_RAW=0 skips the `raw` variant.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateStore, createGroupFromFile, silentLogger } from '@smokestack/core';
import { startSshHosts, sshGroupDefinition } from '@smokestack/testkit';
import { median, report, timeProcess } from './lib.mjs';

const HOSTS = Number(process.env.BENCH_EXEC_HOSTS ?? 8);
const STEPS = Number(process.env.BENCH_EXEC_STEPS ?? 10);
const RUNS = Number(process.env.BENCH_EXEC_RUNS ?? 5);
const WITH_RAW = process.env.BENCH_EXEC_RAW !== '0';
const ANSIBLE_PLAYBOOK = '/usr/bin/ansible-playbook';
const GROUP = 'bench-exec';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = path.join(root, 'bench/fixtures/exec-smokestack.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bench-exec-'));
const ms = (value) => `${value.toFixed(0)} ms`;

let sshd;
const cleanup = async () => {
  const hosts = sshd;
  sshd = undefined;
  await hosts?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
};
// Stop every sshd on Ctrl-C or kill too, not only on a normal exit or a thrown error.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

/** Ansible's files for a playbook of `steps` tasks running `module: true` on every host. */
function writeAnsible(name, module, steps) {
  const base = path.join(dir, 'ansible');
  const controlDir = path.join(base, 'cp');
  fs.mkdirSync(controlDir, { recursive: true });
  const inventory = path.join(base, 'inv.ini');
  if (!fs.existsSync(inventory)) {
    fs.writeFileSync(
      inventory,
      [
        '[bench]',
        ...sshd.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port}`),
        '',
        '[bench:vars]',
        `ansible_user=${sshd.hosts[0].user}`,
        `ansible_ssh_private_key_file=${sshd.identityFile}`,
        `ansible_ssh_common_args='-o UserKnownHostsFile=${sshd.knownHostsFile} -o StrictHostKeyChecking=yes'`,
        // Debian's interpreter, named so no discovery round-trip runs (a pyenv python3 may come first on PATH).
        'ansible_python_interpreter=/usr/bin/python3',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(base, 'ansible.cfg'),
      [
        '[defaults]',
        `forks = ${HOSTS}`,
        'host_key_checking = True',
        'gathering = explicit',
        'retry_files_enabled = False',
        `local_tmp = ${path.join(base, 'tmp')}`,
        '',
        '[ssh_connection]',
        'pipelining = True',
        `control_path_dir = ${controlDir}`,
        '',
      ].join('\n'),
    );
  }
  const play = path.join(base, `${name}.yml`);
  const tasks = Array.from({ length: steps }, (_, i) => `    - name: step ${i + 1}\n      ${module}: "true"\n`).join('');
  fs.writeFileSync(play, `- hosts: bench\n  gather_facts: false\n  tasks:\n${tasks}`);
  return { play, inventory, controlDir, cfg: path.join(base, 'ansible.cfg'), home: path.join(base, 'home') };
}

/** Times ansible-playbook; the ssh ControlPersist masters a run leaves behind are closed (untimed) so every run starts cold. */
function timeAnsible(files, runs) {
  const closeMasters = () => {
    for (const socket of fs.readdirSync(files.controlDir)) {
      spawnSync('ssh', ['-o', `ControlPath=${path.join(files.controlDir, socket)}`, '-O', 'exit', 'bench'], { stdio: 'ignore' });
    }
  };
  return timeProcess(ANSIBLE_PLAYBOOK, ['-i', files.inventory, files.play], {
    runs,
    cwd: path.dirname(files.play),
    stdout: 'pipe',
    env: { ANSIBLE_CONFIG: files.cfg, ANSIBLE_HOME: files.home, ANSIBLE_NOCOLOR: '1', ANSIBLE_STDOUT_CALLBACK: 'default' },
    afterEach: closeMasters,
  });
}

function timeSmokeStack(stateFile, steps, runs, timingsFile) {
  return timeProcess(process.execPath, [fixture, stateFile, GROUP, String(steps), ...(timingsFile ? [timingsFile] : [])], { runs, stdout: 'pipe' });
}

try {
  sshd = await startSshHosts({ count: HOSTS });
  const stateFile = path.join(dir, 'state.json');
  const store = new StateStore(stateFile);
  const ctx = { store, logger: silentLogger(), now: () => new Date(), env: process.env };
  // Group creation (claim, reachability, hosts file, working directories) happens once, outside the timing.
  const definitionFile = path.join(dir, 'group.json');
  fs.writeFileSync(
    definitionFile,
    JSON.stringify({ name: GROUP, ...sshGroupDefinition(sshd) }),
  );
  await createGroupFromFile(definitionFile, {}, ctx);

  const timingsFile = path.join(dir, 'smokestack-steps.jsonl');
  timeSmokeStack(stateFile, STEPS, 1);
  const smokestack = timeSmokeStack(stateFile, STEPS, RUNS, timingsFile);
  const smokestackOne = timeSmokeStack(stateFile, 1, RUNS);
  const inProcess = fs.readFileSync(timingsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const firstStep = median(inProcess.map((t) => t.stepMs[0]));
  const pooledStep = median(inProcess.flatMap((t) => t.stepMs.slice(1)));
  const close = median(inProcess.map((t) => t.closeMs));

  const command = writeAnsible('play', 'ansible.builtin.command', STEPS);
  timeAnsible(command, 1);
  const ansible = timeAnsible(command, RUNS);
  const ansibleOne = timeAnsible(writeAnsible('play-one', 'ansible.builtin.command', 1), RUNS);
  const raw = WITH_RAW ? timeAnsible(writeAnsible('play-raw', 'ansible.builtin.raw', STEPS), RUNS) : undefined;
  const node = timeProcess(process.execPath, ['-e', '0'], { runs: RUNS });
  const ansibleVersion = spawnSync(ANSIBLE_PLAYBOOK, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];

  const s = median(smokestack);
  const a = median(ansible);
  const marginal = (whole, one) => (STEPS > 1 ? ms((median(whole) - median(one)) / (STEPS - 1)) : 'n/a');
  report(`exec: ${HOSTS} sshd hosts x ${STEPS} sequential steps of \`true\`, whole process, median of ${RUNS}`, {
    'SmokeStack (pooled ssh2), median': ms(s),
    'Ansible (command module, pipelining), median': ms(a),
    'ratio Ansible / SmokeStack': `${(a / s).toFixed(1)}x`,
    ...(raw ? { 'Ansible (raw module), median': `${ms(median(raw))} (${(median(raw) / s).toFixed(1)}x SmokeStack)` } : {}),
    'SmokeStack runs': smokestack.map((t) => t.toFixed(0)).join(' '),
    'Ansible command runs': ansible.map((t) => t.toFixed(0)).join(' '),
    ...(raw ? { 'Ansible raw runs': raw.map((t) => t.toFixed(0)).join(' ') } : {}),
    '-- per step': '',
    'SmokeStack whole process / steps': ms(s / STEPS),
    'SmokeStack marginal step (N-step - 1-step) / (N-1)': marginal(smokestack, smokestackOne),
    'SmokeStack in process: step 1 incl. 8 connects': ms(firstStep),
    'SmokeStack in process: pooled step (2..N)': ms(pooledStep),
    'SmokeStack in process: closing the pool': ms(close),
    'Ansible whole process / steps': ms(a / STEPS),
    'Ansible marginal step (N-step - 1-step) / (N-1)': marginal(ansible, ansibleOne),
    '-- baselines': '',
    'SmokeStack 1 step, whole process': ms(median(smokestackOne)),
    'Ansible 1 task, whole process': ms(median(ansibleOne)),
    'node start-up alone': ms(median(node)),
    '-- machine': '',
    'ansible-playbook': ansibleVersion,
    'cores / load (1, 5, 15 min)': `${os.cpus().length} / ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`,
  });
} finally {
  await cleanup();
}
