#!/usr/bin/env node
// Standalone Gerrit simulator: REST + SSH (+ git) on 127.0.0.1 until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { GerritSim } from '../dist/index.js';

const usage = `Usage: gerrit-sim [--http-port P] [--ssh-port Q] [--data FILE] [--git DIR] [--page-cap N]

  --http-port P   REST port on 127.0.0.1 (default: a free port)
  --ssh-port Q    SSH port on 127.0.0.1 (default: a free port)
  --data FILE     scenario JSON loaded at start and saved on exit
  --git DIR       keep real git repositories (and the SSH host key) in DIR
  --page-cap N    server-side maximum page size (default 500)

Scenario control API (JSON): POST /_sim/changes, /_sim/changes/N/{patchsets,comments,wip,merge,abandon,restore},
/_sim/faults, /_sim/dropped-output, /_sim/kill-streams; GET /_sim/state, /_sim/reviews.`;

function port(value, flag) {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`gerrit-sim: ${flag} must be a port number, got "${value}"`);
    process.exit(2);
  }
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      'http-port': { type: 'string' },
      'ssh-port': { type: 'string' },
      data: { type: 'string' },
      git: { type: 'string' },
      'page-cap': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  console.error(`gerrit-sim: ${err.message}\n\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const sim = await GerritSim.start({
  httpPort: port(values['http-port'], '--http-port'),
  sshPort: port(values['ssh-port'], '--ssh-port'),
  dataFile: values.data,
  git: values.git !== undefined,
  dir: values.git,
  pageCap: values['page-cap'] ? Number(values['page-cap']) : undefined,
  controlApi: true,
});

console.log(`Gerrit simulator ready
  REST:     ${sim.httpUrl}   (authenticated under ${sim.httpUrl}/a/)
  SSH:      ssh://${sim.sshHost}:${sim.sshPort}
  Host key: ${sim.hostPublicKey}
  known_hosts: [${sim.sshHost}]:${sim.sshPort} ${sim.hostPublicKey}${values.git !== undefined ? `\n  Git:      ${values.git}` : ''}`);

let stopping = false;
const stop = async (signal) => {
  if (stopping) return;
  stopping = true;
  await sim.stop();
  console.log(`gerrit-sim: stopped (${signal})`);
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
