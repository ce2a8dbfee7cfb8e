import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startSshHosts, type SshTestHosts } from '../../src/sshd/index.js';

function ssh(hosts: SshTestHosts, index: number, command: string): string {
  const h = hosts.hosts[index]!;
  return execFileSync(
    'ssh',
    ['-i', h.identityFile, '-p', String(h.port), '-o', `UserKnownHostsFile=${hosts.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${h.user}@${h.address}`, command],
    { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

describe('SSH test hosts', () => {
  let hosts: SshTestHosts | undefined;
  afterEach(async () => {
    await hosts?.stop();
    hosts = undefined;
  });

  it('starts real sshd hosts that the system ssh logs into with the generated key and known_hosts', async () => {
    hosts = await startSshHosts({ count: 2 });
    expect(hosts.hosts.map((h) => h.name)).to.deep.equal(['host1', 'host2']);
    expect(hosts.hosts[0]!.port).to.not.equal(hosts.hosts[1]!.port);
    expect(ssh(hosts, 0, 'echo hello')).to.equal('hello\n');
    expect(fs.readFileSync(hosts.knownHostsFile, 'utf8')).to.contain(hosts.hosts[1]!.knownHostsLine);
    expect(hosts.hosts[0]!.acceptedLogins()).to.equal(1);
    if (hosts.hosts[0]!.etcHostsFile) {
      // Each host sees its own /etc/hosts, so writing it never touches this machine's.
      fs.appendFileSync(hosts.hosts[0]!.etcHostsFile, '10.0.0.9 only-here\n');
      expect(ssh(hosts, 0, 'cat /etc/hosts')).to.contain('only-here');
      expect(ssh(hosts, 1, 'cat /etc/hosts')).to.not.contain('only-here');
      expect(fs.readFileSync('/etc/hosts', 'utf8')).to.not.contain('only-here');
    }
  });

  it('listens on another address when asked (a bridge address that machines in network namespaces reach)', async () => {
    hosts = await startSshHosts({ count: 1, listenAddress: '127.0.0.2' });
    expect(hosts.hosts[0]!.address).to.equal('127.0.0.2');
    expect(hosts.hosts[0]!.knownHostsLine).to.match(/^\[127\.0\.0\.2\]:\d+ ssh-ed25519 /);
    expect(ssh(hosts, 0, 'echo there')).to.equal('there\n');
  });

  it('delays, stops and restarts one host', async () => {
    hosts = await startSshHosts({ hosts: [{ name: 'late', startDelaySeconds: 1 }, { name: 'off', noStart: true }] });
    expect(hosts.host('late').running).to.equal(false);
    await new Promise((r) => setTimeout(r, 1600));
    expect(hosts.host('late').running).to.equal(true);
    expect(ssh(hosts, 0, 'true')).to.equal('');
    await hosts.host('late').stop();
    expect(hosts.host('late').running).to.equal(false);
    expect(() => ssh(hosts!, 0, 'true')).to.throw();
    await hosts.host('off').start();
    expect(ssh(hosts, 1, 'echo up')).to.equal('up\n');
  });

  it("runs commands without the account's shell start-up files (a slow or locking ~/.bashrc never runs)", async function () {
    // Giving the account another home directory takes a mount namespace: root only.
    if (process.getuid?.() !== 0) this.skip();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-account-home-'));
    try {
      const marker = path.join(home, 'start-up-files-ran');
      for (const file of ['.bashrc', '.bash_profile', '.profile', '.zshenv', '.kshrc']) {
        fs.writeFileSync(path.join(home, file), `echo ${file} >> ${marker}\n`);
      }
      hosts = await startSshHosts({ count: 1, accountHome: home });
      expect(ssh(hosts, 0, 'echo hello')).to.equal('hello\n');
      expect(fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : '', 'start-up files that ran').to.equal('');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
