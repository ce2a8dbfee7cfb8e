import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { SshConnection } from '@smokestack/core';
import { resettingProxy, startSshHosts, uncaughtDuring, type SshTestHosts } from '@smokestack/testkit';

describe('SshConnection', function () {
  this.timeout(60_000);
  let hosts: SshTestHosts;
  let dir: string;

  before(async () => {
    hosts = await startSshHosts({ count: 1 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-ssh-conn-'));
  });
  after(async () => {
    await hosts?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a changed host key, and a reset arriving afterwards cannot crash the process', async () => {
    const host = hosts.hosts[0]!;
    const knownHosts = path.join(dir, 'known_hosts');
    // A key for the proxy's host:port that is not the host's own.
    const proxy = await resettingProxy(host.port);
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${proxy.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOw0bR9Tq1bqG3tq3pBe1rUJm5Gu5fJQ3z1rQ9vWm6Tb\n`);
    try {
      const unhandled = await uncaughtDuring(async () => {
        const error = await SshConnection.open({ address: '127.0.0.1', port: proxy.port, user: host.user, identityFile: host.identityFile, knownHostsFiles: [knownHosts] }).then(
          () => undefined,
          (err: Error) => err,
        );
        expect(error?.message).to.match(/HOST KEY MISMATCH/);
        // The far side now resets the connection, as a host that goes away does.
        proxy.resetClients();
      });
      expect(unhandled.map(String)).to.deep.equal([]);
    } finally {
      proxy.close();
    }
  });

  it('without an identity file, logs in with ~/.ssh/id_ed25519 when the SSH agent cannot be reached (as the Gerrit connection does)', async () => {
    const host = hosts.hosts[0]!;
    const home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
    fs.copyFileSync(host.identityFile, path.join(home, '.ssh', 'id_ed25519'));
    const env = { HOME: home, SSH_AUTH_SOCK: path.join(dir, 'no-agent.sock') };
    const conn = await SshConnection.open({ address: '127.0.0.1', port: host.port, user: host.user, knownHostsFiles: [hosts.knownHostsFile] }, { env });
    try {
      expect((await conn.exec('echo logged-in')).stdout.trim()).to.equal('logged-in');
    } finally {
      await conn.close();
    }
  });
});
