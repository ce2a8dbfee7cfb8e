import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startSshHosts, type SshTestHosts } from '@smokestack/testkit';
import {
  GroupDefinitionSchema,
  SshPool,
  StateStore,
  connectHost,
  createGroup,
  deleteGroup,
  execOnGroup,
  interactiveShellCommand,
  silentLogger,
  type GroupDefinition,
  type ProviderContext,
} from '@smokestack/core';

function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected a failure'),
    (err: Error) => err,
  );
}

describe('ssh provider on real sshd hosts', function () {
  this.timeout(30_000);
  let sshd: SshTestHosts;
  let dir: string;
  let ctx: ProviderContext;

  before(async () => {
    sshd = await startSshHosts({ hosts: [{ name: 'gw' }, { name: 'db' }, { name: 'app' }] });
  });
  after(async () => sshd?.stop());

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-sshgrp-'));
    // An empty HOME: the user's own known_hosts must not vouch for the test hosts.
    fs.mkdirSync(path.join(dir, 'home'));
    ctx = { store: new StateStore(path.join(dir, 'state.json')), logger: silentLogger(), now: () => new Date(), env: { HOME: path.join(dir, 'home') } };
  });
  afterEach(async () => {
    for (const name of Object.keys((await ctx.store.read()).groups)) await deleteGroup(name, ctx).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function definition(extra: Partial<GroupDefinition> = {}, withKnownHosts = true): GroupDefinition {
    return GroupDefinitionSchema.parse({
      name: 'trio',
      provider: 'ssh',
      identityFile: sshd.identityFile,
      ...(withKnownHosts ? { knownHosts: sshd.knownHostsFile } : {}),
      hosts: sshd.hosts.map((h, i) => ({ name: h.name, address: h.address, port: h.port, user: h.user, gateway: i === 0, roles: i === 1 ? ['db'] : ['web'], workDir: h.workDir })),
      ...extra,
    });
  }

  it('creates a 3-host group, writes the hosts file everywhere and runs commands on all hosts and by role', async () => {
    const group = await createGroup(definition(), {}, ctx);
    expect(group.state).to.equal('ready');
    expect(group.hosts.map((h) => h.workDir)).to.deep.equal(sshd.hosts.map((h) => fs.realpathSync(h.workDir)));
    expect(group.resources!.map((r) => r.id)).to.deep.equal(sshd.hosts.map((h) => `127.0.0.1:${h.port}`));

    const lines: string[] = [];
    const all = await execOnGroup(group, {}, 'echo "$SMOKESTACK_HOST in $(basename "$(dirname "$PWD")")"; grep -c "127.0.0.1" "$SMOKESTACK_HOSTS_FILE" >/dev/null && echo listed', ctx, {
      onLine: (host, _s, line) => lines.push(`[${host}] ${line}`),
    });
    expect(all.ok).to.equal(true);
    expect(lines.sort()).to.deep.equal(['[app] app in app', '[app] listed', '[db] db in db', '[db] listed', '[gw] gw in gw', '[gw] listed']);

    const byRole = await execOnGroup(group, { role: 'web' }, 'echo "$SMOKESTACK_HOST"; exit 4', ctx);
    expect(byRole.ok).to.equal(false);
    expect(byRole.results.map((r) => [r.host, r.code, r.stdout])).to.deep.equal([
      ['gw', 4, 'gw\n'],
      ['app', 4, 'app\n'],
    ]);

    for (const host of group.hosts) {
      const hostsFile = host.hostsFile === '/etc/hosts' ? sshd.host(host.name).etcHostsFile! : host.hostsFile!;
      const text = fs.readFileSync(hostsFile, 'utf8');
      expect(text).to.contain('# BEGIN smokestack group trio');
      for (const other of ['gw', 'db', 'app']) expect(text).to.match(new RegExp(`^127\\.0\\.0\\.1\\t${other}$`, 'm'));
    }
    if (sshd.hosts[0]!.etcHostsFile) {
      // Names resolve on the host through the managed /etc/hosts block.
      const resolved = await execOnGroup(group, { host: 'gw' }, 'getent hosts db', ctx);
      expect(resolved.results[0]!.stdout).to.match(/^127\.0\.0\.1\s+db/);
    }

    await deleteGroup('trio', ctx);
    if (sshd.hosts[0]!.etcHostsFile) expect(fs.readFileSync(sshd.hosts[0]!.etcHostsFile, 'utf8')).to.not.contain('smokestack group trio');
    expect((await ctx.store.read()).groups).to.deep.equal({});
  });

  it('copies a directory to a host over SFTP and back', async () => {
    const group = await createGroup(definition(), {}, ctx);
    const bundle = path.join(dir, 'bundle');
    fs.mkdirSync(path.join(bundle, 'scripts'), { recursive: true });
    fs.writeFileSync(path.join(bundle, 'scripts', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bundle, 'data.bin'), Buffer.alloc(300_000, 7));
    const conn = await connectHost(group, 'db', ctx);
    try {
      await conn.upload(bundle, 'job/bundle');
      expect((await conn.exec('./job/bundle/scripts/run.sh')).stdout).to.equal('ran\n');
      await conn.download('job/bundle', path.join(dir, 'back'));
    } finally {
      await conn.close();
    }
    expect(fs.readFileSync(path.join(dir, 'back', 'data.bin')).equals(fs.readFileSync(path.join(bundle, 'data.bin')))).to.equal(true);
    expect(fs.statSync(path.join(dir, 'back', 'scripts', 'run.sh')).mode & 0o111).to.not.equal(0);
  });

  it('reuses one TCP connection per host for many commands and stops a command at its timeout', async () => {
    const group = await createGroup(definition(), {}, ctx);
    const pool = new SshPool();
    const before = sshd.host('app').acceptedLogins();
    try {
      const pooled = { ...ctx, pool };
      for (let i = 0; i < 8; i++) {
        const result = await execOnGroup(group, { host: 'app' }, `echo ${i}`, pooled);
        expect(result.results[0]!.stdout).to.equal(`${i}\n`);
      }
      const timed = await execOnGroup(group, { host: 'app' }, 'sleep 10', pooled, { timeoutMs: 300 });
      expect(timed.results[0]).to.include({ code: 124, timedOut: true });
    } finally {
      await pool.closeAll();
    }
    expect(sshd.host('app').acceptedLogins() - before).to.equal(1);
    expect(pool.opened).to.equal(1);
  });

  it('refuses an unknown host key, and accepts and pins it only when asked', async () => {
    const refused = await failure(createGroup(definition({}, false), {}, ctx));
    expect(refused.message).to.match(/unknown host key for \[127\.0\.0\.1\]:\d+/);
    expect(refused.message).to.contain('--insecure-accept-host-keys');
    expect((await ctx.store.read()).groups.trio).to.include({ state: 'deleted' });

    const group = await createGroup(definition({}, false), {}, { ...ctx, insecureAcceptHostKeys: true });
    const pinned = fs.readFileSync(path.join(dir, 'groups', 'trio', 'known_hosts'), 'utf8');
    for (const h of sshd.hosts) expect(pinned).to.contain(h.knownHostsLine);
    // Later contacts verify against the pinned keys without the flag.
    expect((await execOnGroup(group, {}, 'true', ctx)).ok).to.equal(true);
    const shell = await interactiveShellCommand('trio', 'db', ctx);
    expect(shell.args).to.include('StrictHostKeyChecking=yes');
    expect(shell.args).to.include(`UserKnownHostsFile=${path.join(dir, 'groups', 'trio', 'known_hosts')} ${path.join(dir, 'home', '.ssh', 'known_hosts')}`);
  });

  it('refuses a host whose key changed', async () => {
    const wrong = path.join(dir, 'wrong_known_hosts');
    const [a, b] = sshd.hosts;
    fs.writeFileSync(wrong, `${a!.knownHostsLine.split(' ')[0]} ${b!.hostPublicKey}\n`);
    const err = await failure(createGroup(definition({ hosts: [{ name: 'gw', address: a!.address, port: a!.port, user: a!.user, roles: [], gateway: true, knownHosts: wrong }] }), {}, { ...ctx, insecureAcceptHostKeys: true }));
    expect(err.message).to.contain('HOST KEY MISMATCH');
  });

  it('never lets two groups claim the same host', async () => {
    await createGroup(definition(), {}, ctx);
    const err = await failure(createGroup(definition(), { name: 'other' }, ctx));
    expect(err.message).to.match(/host gw \(127\.0\.0\.1:\d+\) is already claimed by server group "trio"/);
  });
});

describe('ssh provider with hosts that boot slowly', function () {
  this.timeout(40_000);
  let sshd: SshTestHosts | undefined;
  let dir: string;
  let ctx: ProviderContext;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-sshboot-'));
    ctx = { store: new StateStore(path.join(dir, 'state.json')), logger: silentLogger(), now: () => new Date(), env: { HOME: dir } };
  });
  afterEach(async () => {
    await sshd?.stop();
    sshd = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function definition(hosts: SshTestHosts, name: string): GroupDefinition {
    return GroupDefinitionSchema.parse({
      name,
      provider: 'ssh',
      identityFile: hosts.identityFile,
      knownHosts: hosts.knownHostsFile,
      hosts: hosts.hosts.map((h, i) => ({ name: h.name, address: h.address, port: h.port, user: h.user, gateway: i === 0, workDir: h.workDir })),
    });
  }

  it('waits for a host whose sshd starts 3 s late and one that refuses the key at first', async () => {
    sshd = await startSshHosts({ hosts: [{ name: 'up' }, { name: 'late', startDelaySeconds: 3 }, { name: 'keyless', authorizeAfterSeconds: 2 }] });
    const started = Date.now();
    const group = await createGroup(definition(sshd, 'boot'), {}, ctx);
    expect(Date.now() - started).to.be.at.least(2500);
    expect(group.state).to.equal('ready');
    expect((await execOnGroup(group, {}, 'true', ctx)).ok).to.equal(true);
    await deleteGroup('boot', ctx);
  });

  it('fails create naming the host that never comes up and releases the others', async () => {
    sshd = await startSshHosts({ hosts: [{ name: 'ok1' }, { name: 'dead', noStart: true }, { name: 'ok2' }] });
    const err = await failure(createGroup(definition(sshd, 'doomed'), {}, { ...ctx, reachableTimeoutMs: 3000 }));
    expect(err.message).to.match(/^creating server group doomed failed: server group doomed: 1 of 3 host\(s\) not reachable \(dead\): host dead \(.*\): not reachable over SSH after 3 s/);
    expect(err.message).to.contain('everything created was deleted');
    const stored = (await ctx.store.read()).groups.doomed!;
    expect(stored.state).to.equal('deleted');
    expect(stored.resources).to.deep.equal([]);
    // The healthy hosts are free again for another group.
    const retry = GroupDefinitionSchema.parse({ ...definition(sshd, 'second'), hosts: definition(sshd, 'second').hosts!.filter((h) => h.name !== 'dead') });
    const group = await createGroup(retry, {}, ctx);
    expect(group.hosts.map((h) => h.name)).to.deep.equal(['ok1', 'ok2']);
  });
});
