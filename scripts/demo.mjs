#!/usr/bin/env node
// `npm run demo`: the whole SmokeStack cycle on the embedded defaults, against the bundled Gerrit
// and Launchpad simulators — sync and fire, work the queue, comment with votes, write the report.
//   node scripts/demo.mjs [--hosts local|ssh] [--dir DIR] [--quiet]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DemoEnvironment, concludeDemo, runDemoCycle } from '@smokestack/testkit';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: 'local' },
    dir: { type: 'string', default: path.join(root, 'demo-output') },
    quiet: { type: 'boolean', default: false },
  },
});
if (!['local', 'ssh'].includes(values.hosts)) {
  console.error(`demo: --hosts must be local or ssh, not "${values.hosts}"`);
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  // The demo's Puppet run installs the freshly built package and manages /etc/demoapp on this machine.
  console.error('demo: the demo installs its package and applies Puppet on this machine, which needs root: run it as root (a VM or a throw-away machine is best)');
  process.exit(1);
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
