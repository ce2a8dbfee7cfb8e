import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { runCli, startSshHosts, type SshTestHosts } from '@smokestack/testkit';
import type { GroupExecResult, ServerGroup } from '@smokestack/core';

describe('firestack group commands', function () {
  this.timeout(60_000);
  let dir: string;
  let env: Record<string, string>;
  const firestack = (args: string[]) => runCli('firestack', args, { env, cwd: dir });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-fs-group-'));
    env = { SMOKESTACK_STATE: path.join(dir, 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a local group from a Kytoon definition, runs commands on it with per-host output, and deletes it', async () => {
    fs.writeFileSync(
      path.join(dir, 'kytoon.json'),
      JSON.stringify({ name: 'ky', servers: [{ hostname: 'login', gateway: 'true', image_ref: 1, flavor_ref: 2 }, { hostname: 'nova1', roles: ['compute'] }] }),
    );
    const created = await firestack(['group', 'create', 'kytoon.json', '--name', 'demo', '--json']);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.json<{ group: ServerGroup }>().group).to.include({ name: 'demo', provider: 'local', state: 'ready' });

    const exec = await firestack(['group', 'exec', 'demo', '--', 'echo $SMOKESTACK_HOST; test $SMOKESTACK_HOST = login']);
    expect(exec.code).to.equal(1);
    expect(exec.stdout.split('\n').sort()).to.deep.equal(['', '[login] login', '[nova1] nova1']);
    expect(exec.stderr).to.contain('[nova1] exited 1');

    const json = await firestack(['group', 'exec', 'demo', '--role', 'compute', '--json', '--', 'printf', '%s', 'a b']);
    expect(json.code).to.equal(0);
    expect(json.json<GroupExecResult>().results.map((r) => [r.host, r.code, r.stdout])).to.deep.equal([['nova1', 0, 'a b']]);

    const shell = await firestack(['group', 'ssh', 'demo', 'nova1', '--print']);
    expect(shell.stdout.trim()).to.match(new RegExp(`^cd ${path.join(dir, 'groups', 'demo', 'nova1')} && `));

    const show = await firestack(['group', 'show', 'demo']);
    expect(show.stdout).to.match(/demo: local, ready/);

    expect((await firestack(['group', 'delete', 'demo'])).code).to.equal(0);
    const gone = await firestack(['group', 'show', 'demo']);
    expect(gone.code).to.equal(1);
    expect(gone.stderr.trim()).to.equal('firestack: error: no server group named "demo" (create one with: firestack group create FILE)');
  });

  it('reports a bad definition in one line naming the file and key', async () => {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'name: bad\nhosts:\n  - name: a\n  - name: b\n');
    const result = await firestack(['group', 'create', 'bad.yaml']);
    expect(result.code).to.equal(1);
    expect(result.stderr.trim().split('\n').pop()).to.equal('firestack: error: bad.yaml: hosts: no gateway among 2 hosts (mark exactly one host with gateway: true)');
  });

  describe('on SSH hosts', () => {
    let sshd: SshTestHosts;
    before(async () => {
      sshd = await startSshHosts({ count: 2 });
    });
    after(async () => sshd?.stop());

    it('creates an ssh group and prints a strict ssh command that logs into the host directory', async () => {
      const definition = {
        name: 'pair',
        provider: 'ssh',
        identityFile: sshd.identityFile,
        knownHosts: sshd.knownHostsFile,
        hosts: sshd.hosts.map((h, i) => ({ name: h.name, address: h.address, port: h.port, user: h.user, gateway: i === 0, workDir: h.workDir })),
      };
      fs.writeFileSync(path.join(dir, 'pair.json'), JSON.stringify(definition));
      const created = await firestack(['group', 'create', 'pair.json']);
      expect(created.code, created.stderr).to.equal(0);
      expect(created.stderr).to.contain('wait until every host is reachable');

      const printed = await firestack(['group', 'ssh', 'pair', 'host2', '--print', '--json']);
      const { command, args } = printed.json<{ command: string; args: string[] }>();
      expect(command).to.equal('ssh');
      expect(args).to.include.members(['-i', sshd.identityFile, '-p', String(sshd.hosts[1]!.port), 'StrictHostKeyChecking=yes', `UserKnownHostsFile=${sshd.knownHostsFile} ${path.join(dir, 'groups', 'pair', 'known_hosts')}`]);
      const session = spawnSync('ssh', ['-o', 'BatchMode=yes', ...args.filter((a) => a !== '-t')], { input: 'pwd\n', encoding: 'utf8', timeout: 15_000 });
      expect(session.stdout.trim()).to.equal(fs.realpathSync(sshd.hosts[1]!.workDir));

      expect((await firestack(['group', 'delete', 'pair'])).code).to.equal(0);
    });

    /** A definition of the SSH test hosts that names no known_hosts file (and $HOME has none): their keys are unknown. */
    const unvouched = (name: string, extra: Record<string, unknown> = {}): string => {
      const definition = {
        name,
        provider: 'ssh',
        identityFile: sshd.identityFile,
        reachableTimeoutSeconds: 10,
        hosts: sshd.hosts.map((h, i) => ({ name: h.name, address: h.address, port: h.port, user: h.user, gateway: i === 0, workDir: h.workDir })),
        ...extra,
      };
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(definition));
      return file;
    };

    it('refuses a host whose key no known_hosts file vouches for, in one line with exit status 1', async () => {
      const created = await firestack(['group', 'create', unvouched('strangers')]);
      expect(created.code, created.stderr).to.equal(1);
      const last = created.stderr.trim().split('\n').pop()!;
      expect(last).to.match(/^firestack: error: .*host host1 .*unknown host key for \[127\.0\.0\.1\]:\d+ .*--insecure-accept-host-keys/);
      expect(created.stderr).to.not.match(/unexpected error/);
    });

    it('warns for every host whose unknown key it accepts, whichever setting allowed it', async () => {
      const ways: Array<[string, string[], Record<string, string>, Record<string, unknown>]> = [
        ['by-flag', ['--insecure-accept-host-keys'], {}, {}],
        ['by-env', [], { SMOKESTACK_INSECURE_ACCEPT_HOST_KEYS: 'true' }, {}],
        ['by-key', [], {}, { insecureAcceptHostKeys: true }],
      ];
      for (const [name, args, extraEnv, extra] of ways) {
        const created = await runCli('firestack', ['group', 'create', unvouched(name, extra), ...args], { env: { ...env, ...extraEnv }, cwd: dir });
        expect(created.code, created.stderr).to.equal(0);
        for (const h of sshd.hosts) {
          expect(created.stderr, `${name}: ${h.name}`).to.match(new RegExp(`warn: host ${h.name} \\(.*\\): accepted unknown SSH host key SHA256:\\S+ without verifying it \\(`));
        }
        expect((await firestack(['group', 'delete', name])).code).to.equal(0);
      }
    });
  });
});
