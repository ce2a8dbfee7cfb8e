import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { GerritSim } from '@smokestack/testkit';
import type { GerritConfig } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { GerritSshClient, sshOptionsFromConfig } from '../../src/gerrit/ssh.js';
import { Logger } from '../../src/log/logger.js';
import { simUsers, writeClientKey } from '../bellows/harness.js';

describe('gerrit/ssh: the Gerrit connection goes through the SSH code of server groups', function () {
  this.timeout(20_000);
  let sim: GerritSim;
  let dir: string;
  let home: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gerrit-ssh-'));
    home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
    const identityFile = writeClientKey(path.join(home, '.ssh'));
    sim = await GerritSim.start({ users: simUsers(identityFile) });
    sim.createProject('nova');
    sim.createChange({ project: 'nova', subject: 'over ssh' });
  });
  after(async () => {
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const config = (ssh: Partial<NonNullable<GerritConfig['ssh']>>): GerritConfig =>
    ({ url: sim.httpUrl, username: 'smokestack', ssh: { host: sim.sshHost, port: sim.sshPort, ...ssh } }) as GerritConfig;

  it('without an identity file it logs in as server groups do: an SSH agent that cannot be reached is skipped for ~/.ssh/id_ed25519', async () => {
    const env = { HOME: home, SSH_AUTH_SOCK: path.join(dir, 'no-agent.sock') };
    const client = new GerritSshClient(sshOptionsFromConfig(config({ hostKey: sim.hostPublicKey }), { env }));
    const { changes } = await client.query('status:open');
    expect(changes.map((c) => c.subject)).to.deep.equal(['over ssh']);
  });

  it('--insecure-accept-host-key lets an unknown key through with a warning, but never one that known_hosts contradicts', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    const env = { HOME: home };
    let output = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const logger = new Logger({ stream, tty: false });
    const insecure = () => new GerritSshClient(sshOptionsFromConfig(config({ knownHosts }), { env, insecureAcceptHostKey: true, logger }));

    fs.writeFileSync(knownHosts, '');
    expect((await insecure().exec(['gerrit', 'version'])).code).to.equal(0);
    expect(output).to.match(/warn: gerrit ssh: 127\.0\.0\.1:\d+: accepted host key SHA256:\S+ without verifying it/);

    fs.writeFileSync(knownHosts, `[${sim.sshHost}]:${sim.sshPort} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOw0bR9Tq1bqG3tq3pBe1rUJm5Gu5fJQ3z1rQ9vWm6Tb\n`);
    const error = await insecure()
      .exec(['gerrit', 'version'])
      .then(
        () => undefined,
        (err: Error) => err,
      );
    expect(error).to.be.instanceOf(UserError);
    expect(error?.message).to.match(/^gerrit ssh: host key SHA256:\S+ of \[127\.0\.0\.1\]:\d+ differs from the one in .*known_hosts \(possible man-in-the-middle\)$/);
  });
});
