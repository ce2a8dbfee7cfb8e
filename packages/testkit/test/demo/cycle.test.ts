import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { DemoEnvironment, concludeDemo, freePort, runDemoCycle } from '../../src/index.js';

describe('the demo cycle on a machine that cannot run its jobs', function () {
  this.timeout(10 * 60_000);
  let dir: string;
  let env: DemoEnvironment | undefined;

  afterEach(async () => {
    await env?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ends with a verdict that fails the demo and says why', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-demo-down-'));
    env = await DemoEnvironment.start({ dir });
    // Two changes meant to pass are enough; the others leave the queue.
    for (const c of env.changes) if (c.key !== 'version-flag' && c.key !== 'empty-lines') env.gerrit.abandon(c.number);
    // The demo group's only host is down: nothing listens on its SSH port.
    const closedPort = await freePort();
    const config = YAML.parse(fs.readFileSync(env.configFile, 'utf8'));
    config.templates.demo.group = {
      name: 'demo',
      provider: 'ssh',
      reachableTimeoutSeconds: 1,
      hosts: [{ name: 'web1', roles: ['web', 'client'], gateway: true, address: '127.0.0.1', port: closedPort, user: 'root', identityFile: config.gerrit.ssh.identityFile }],
    };
    fs.writeFileSync(env.configFile, YAML.stringify(config));

    const summary = await runDemoCycle(env);
    expect(summary.jobs).to.deep.equal({ infra_failed: 4 });
    expect(summary.verdict.ok).to.equal(false);
    expect(summary.verdict.reason).to.match(/^every job failed, 2 of 2 for a reason that is not the change's \(2 infra_failed; j\d+ of (version-flag|empty-lines), which should give success: .*web1/);
    const { code, lines } = concludeDemo(summary, summary.seconds);
    expect(code).to.equal(1);
    expect(lines.at(-1)).to.equal(`demo failed: ${summary.verdict.reason}`);
    expect(lines.join('\n')).to.not.match(/^Done/m);
  });
});
