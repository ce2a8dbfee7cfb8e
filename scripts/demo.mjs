#!/usr/bin/env node
// `npm run demo`: the whole SmokeStack cycle on the embedded defaults, against the bundled Gerrit
// and Launchpad simulators — sync and fire, work the queue, comment with votes, write the report.
// Its server groups are three container hosts each (gateway gw, web1, client1): nothing is installed
// on this machine, and two jobs run at once.
//   node scripts/demo.mjs [--hosts container|local|ssh] [--dir DIR] [--quiet]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { DemoEnvironment, concludeDemo, runDemoCycle } from '@smokestack/testkit';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: 'container' },
    dir: { type: 'string', default: path.join(root, 'demo-output') },
    quiet: { type: 'boolean', default: false },
  },
});
if (!['container', 'local', 'ssh'].includes(values.hosts)) {
  console.error(`demo: --hosts must be container, local or ssh, not "${values.hosts}"`);
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error(
    values.hosts === 'container'
      ? 'demo: container hosts are run by systemd-nspawn, which needs root: run it with sudo (nothing is installed on this machine)'
      : 'demo: the demo installs its package and applies Puppet on this machine, which needs root: run it as root (a VM or a throw-away machine is best)',
  );
  process.exit(1);
}
if (values.hosts === 'container') ensureContainerTools();

/** systemd-nspawn and debootstrap, installed through the project's script when missing. */
function ensureContainerTools() {
  const missing = ['systemd-nspawn', 'debootstrap'].filter((tool) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0);
  if (missing.length === 0) return;
  console.error(`demo: ${missing.join(' and ')} missing: installing with scripts/install-system-packages.sh`);
  const installed = spawnSync('bash', [path.join(root, 'scripts', 'install-system-packages.sh')], { stdio: 'inherit' });
  if (installed.status !== 0) {
    console.error('demo: install systemd-container and debootstrap (Debian/Ubuntu: apt-get install systemd-container debootstrap; Fedora: dnf install systemd-container debootstrap)');
    process.exit(1);
  }
}

const dir = path.resolve(values.dir);
fs.rmSync(dir, { recursive: true, force: true });
const say = (line) => process.stderr.write(`${line}\n`);
const indent = (chunk) => process.stderr.write(chunk.replace(/^(?=.)/gm, '    '));
const started = Date.now();
say(`SmokeStack demo: Gerrit and Launchpad simulators, ${values.hosts} hosts, working in ${dir}`);

let env;
const stop = async () => {
  if (env) await env.stop().catch(() => undefined);
  env = undefined;
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    say(`demo: ${signal}, stopping`);
    stop().finally(() => process.exit(130));
  });
}

try {
  env = await DemoEnvironment.start({ dir, hosts: values.hosts, progress: values.quiet ? undefined : indent });
  say(`Gerrit simulator at ${env.gerrit.httpUrl} with ${env.changes.length} changes in 2 projects; Launchpad simulator at ${env.launchpad.url}`);
  const summary = await runDemoCycle(env, say);
  const { code, lines } = concludeDemo(summary, (Date.now() - started) / 1000);
  say('');
  for (const line of lines) say(line);
  say(`Inspect with: SMOKESTACK_CONFIG=${env.configFile} ${path.join(root, 'bin', 'bellows')} jobs list`);
  if (code === 0) {
    say('Report:');
    console.log(summary.reportIndex);
  }
  process.exitCode = code;
} catch (err) {
  say(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await stop();
}
