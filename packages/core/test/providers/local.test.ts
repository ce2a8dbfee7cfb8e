import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  GroupDefinitionSchema,
  StateStore,
  createGroup,
  deleteGroup,
  execOnGroup,
  connectHost,
  interactiveShellCommand,
  silentLogger,
  sweepGroups,
  type ProviderContext,
} from '@smokestack/core';

describe('local provider', () => {
  let dir: string;
  let ctx: ProviderContext;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-local-'));
    ctx = { store: new StateStore(path.join(dir, 'state.json')), logger: silentLogger(), now: () => new Date(), env: { PATH: process.env.PATH } };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const definition = GroupDefinitionSchema.parse({
    name: 'pair',
    hosts: [
      { name: 'gw', gateway: true, roles: ['front'] },
      { name: 'db', roles: ['db'] },
    ],
  });

  it('creates a host directory per host, a hosts file, and runs commands there with the group environment', async () => {
    const group = await createGroup(definition, {}, ctx);
    expect(group.state).to.equal('ready');
    expect(group.provider).to.equal('local');
    const gw = group.hosts.find((h) => h.name === 'gw')!;
    expect(gw.workDir).to.equal(path.join(dir, 'groups', 'pair', 'gw'));
    expect(fs.statSync(gw.workDir!).isDirectory()).to.equal(true);

    const lines: string[] = [];
    const result = await execOnGroup(group, {}, 'echo "$SMOKESTACK_HOST $(basename "$PWD")"; cat "$SMOKESTACK_HOSTS_FILE" | grep -c 127.0.0.1', ctx, {
      onLine: (host, _stream, line) => lines.push(`[${host}] ${line}`),
    });
    expect(result.ok).to.equal(true);
    expect(lines).to.include.members(['[gw] gw gw', '[db] db db', '[gw] 2', '[db] 2']);
    expect((await ctx.store.read()).groups.pair!.state).to.equal('ready');
  });

  it("runs commands with an explicit environment: the worker's credentials and settings never reach them", async () => {
    const worker = {
      PATH: process.env.PATH,
      HOME: dir,
      USER: 'ci',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      TMPDIR: os.tmpdir(),
      http_proxy: 'http://proxy.example.org:3128',
      no_proxy: 'localhost',
      GERRIT_HTTP_PASSWORD: 'pw-gerrit-4711',
      OS_PASSWORD: 'pw-keystone-4711',
      OS_APPLICATION_CREDENTIAL_SECRET: 'pw-appcred-4711',
      OS_CLOUD: 'production',
      https_proxy: 'http://ci:pw-proxy-4711@proxy.example.org:3128',
      SSH_AUTH_SOCK: '/tmp/ssh-agent.sock',
      SMOKESTACK_CONFIG: '/etc/smokestack/smokestack.yaml',
      XDG_CONFIG_HOME: path.join(dir, 'xdg'),
      NODE_OPTIONS: '--require /tmp/hook.js',
    };
    const workerCtx = { ...ctx, env: worker };
    const group = await createGroup(definition, { name: 'env' }, workerCtx);
    const conn = await connectHost(group, 'gw', workerCtx);
    fs.writeFileSync(path.join(dir, '.netrc'), 'machine review.example.org login ci password pw-netrc-4711\n', { mode: 0o600 });
    const { stdout } = await conn.exec('env; cat "$HOME/.netrc" 2>/dev/null || true');
    expect(stdout).to.not.match(/pw-[a-z]+-4711/);
    // HOME is the host's own directory, not the worker's (where its ~/.netrc and credential file live).
    expect(stdout).to.contain(`HOME=${group.hosts.find((h) => h.name === 'gw')!.workDir}\n`);
    const names = stdout.split('\n').filter(Boolean).map((line) => line.split('=')[0]!);
    expect(names.filter((n) => n !== 'PWD' && n !== 'OLDPWD').sort()).to.deep.equal(
      ['HOME', 'LANG', 'LC_ALL', 'PATH', 'SMOKESTACK_GROUP', 'SMOKESTACK_HOST', 'SMOKESTACK_HOSTS_FILE', 'SMOKESTACK_WORKDIR', 'TMPDIR', 'TZ', 'USER', 'http_proxy', 'no_proxy'].sort(),
    );
  });

  it('selects hosts by role, reports each exit code and fails when one host fails', async () => {
    const group = await createGroup(definition, { name: 'roles' }, ctx);
    const one = await execOnGroup(group, { role: 'db' }, 'exit 3', ctx);
    expect(one.ok).to.equal(false);
    expect(one.results.map((r) => [r.host, r.code])).to.deep.equal([['db', 3]]);
    const timed = await execOnGroup(group, { host: 'gw' }, 'sleep 5', ctx, { timeoutMs: 200 });
    expect(timed.results[0]!.timedOut).to.equal(true);
    expect(timed.results[0]!.durationMs).to.be.below(3000);
    const err = await execOnGroup(group, { role: 'nope' }, 'true', ctx).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.equal('server group roles has no host with role "nope"');
  });

  it('copies files in and out of a host and deletes everything with the group', async () => {
    const group = await createGroup(definition, {}, ctx);
    const src = path.join(dir, 'bundle.txt');
    fs.writeFileSync(src, 'payload\n');
    const conn = await connectHost(group, 'db', ctx);
    await conn.upload(src, 'in/bundle.txt');
    expect((await conn.exec('cat in/bundle.txt')).stdout).to.equal('payload\n');
    await conn.download('in/bundle.txt', path.join(dir, 'back.txt'));
    expect(fs.readFileSync(path.join(dir, 'back.txt'), 'utf8')).to.equal('payload\n');

    const shell = await interactiveShellCommand('pair', 'db', ctx);
    expect(shell.cwd).to.equal(group.hosts.find((h) => h.name === 'db')!.workDir);

    await deleteGroup('pair', ctx);
    expect(fs.existsSync(path.join(dir, 'groups', 'pair'))).to.equal(false);
    expect((await ctx.store.read()).groups).to.deep.equal({});
  });

  it('refuses a second group of the same name', async () => {
    await createGroup(definition, {}, ctx);
    try {
      await createGroup(definition, {}, ctx);
      expect.fail('expected an error');
    } catch (err) {
      expect((err as Error).message).to.match(/server group "pair" already exists/);
    }
  });

  it('sweeps groups older than the cutoff and leftover directories no group records', async () => {
    await createGroup(definition, { name: 'old' }, ctx);
    const later = { ...ctx, now: () => new Date(Date.now() + 2 * 3600_000) };
    await createGroup(definition, { name: 'young' }, later);
    fs.mkdirSync(path.join(dir, 'groups', 'crashed'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'groups', 'crashed', '.local-group'), 'crashed\n');
    fs.utimesSync(path.join(dir, 'groups', 'crashed'), new Date(0), new Date(0));

    const dry = await sweepGroups({ olderThanMs: 3600_000, dryRun: true }, later);
    expect(dry.items.map((i) => [i.id.split('/').pop(), i.action])).to.deep.equal([
      ['old', 'would delete'],
      ['crashed', 'would delete'],
    ]);
    await sweepGroups({ olderThanMs: 3600_000 }, later);
    expect(Object.keys((await ctx.store.read()).groups)).to.deep.equal(['young']);
    expect(fs.readdirSync(path.join(dir, 'groups'))).to.deep.equal(['young']);
  });
});
