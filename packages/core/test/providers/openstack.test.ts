import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { OpenStackSimulator, startSshHosts, type OpenStackSimulatorOptions, type SimRequest, type SshTestHosts } from '@smokestack/testkit';
import { GroupDefinitionSchema, type GroupDefinition } from '../../src/config/schema.js';
import { InfraError } from '../../src/errors.js';
import { silentLogger } from '../../src/log/logger.js';
import { sweepGroups } from '../../src/providers/group-sweep.js';
import { OpenStackProvider, openstackKeyFile } from '../../src/providers/openstack.js';
import { groupKnownHostsFile } from '../../src/providers/record.js';
import { pickServerAddress, type NovaAddress } from '../../src/providers/openstack-nova.js';
import type { ProviderContext } from '../../src/providers/types.js';
import { StateStore } from '../../src/store/store.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'openstack-create.ts');

function definition(extra: Partial<Record<string, unknown>> = {}): GroupDefinition {
  return GroupDefinitionSchema.parse({
    provider: 'openstack',
    image: 'debian-12',
    flavor: 'm1.small',
    hosts: [
      { name: 'gw', gateway: true, roles: ['gateway'] },
      { name: 'web', roles: ['web'] },
      { name: 'db', roles: ['db'] },
    ],
    ...extra,
  });
}

describe('openstack provider against the simulator', function () {
  this.timeout(20_000);
  let dir: string;
  let sim: OpenStackSimulator | undefined;
  let store: StateStore;
  let child: ChildProcess | undefined;

  const provider = () => new OpenStackProvider({ pollIntervalMs: 20, maxPollIntervalMs: 50, createTimeoutMs: 10_000, deleteTimeoutMs: 5_000 });

  async function start(options: OpenStackSimulatorOptions = {}): Promise<OpenStackSimulator> {
    sim = await OpenStackSimulator.start({ buildDelayMs: 150, deleteDelayMs: 80, ...options });
    return sim;
  }

  function env(): Record<string, string> {
    return {
      OS_AUTH_URL: sim!.authUrl,
      OS_USERNAME: 'demo',
      OS_PASSWORD: 'demo-secret',
      OS_PROJECT_NAME: 'demo',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'RegionOne',
    };
  }

  function ctx(extra: Partial<ProviderContext> = {}): ProviderContext {
    return { store, logger: silentLogger(), now: () => new Date(), env: env(), ...extra };
  }

  const posts = (s: OpenStackSimulator): SimRequest[] => s.requests.filter((r) => r.method === 'POST' && r.path === '/servers');

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-openstack-'));
    store = new StateStore(path.join(dir, 'state.json'));
  });

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
    await sim?.stop();
    sim = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates a 3-server group in parallel, recording everything, and deletes it leaving nothing behind', async () => {
    const s = await start({ createLatencyMs: 150, buildDelayMs: 400 });
    const p = provider();
    const group = await p.create('g1', definition(), ctx());

    // Given three hosts, when the group is created, then the three POSTs were in flight together.
    const creates = posts(s);
    expect(creates).to.have.length(3);
    const firstAnswer = Math.min(...creates.map((r) => r.finishedAt));
    expect(creates.every((r) => r.startedAt < firstAnswer)).to.equal(true);
    expect(creates.every((r) => r.microversion === '2.79')).to.equal(true);

    expect(group.hosts.map((h) => [h.name, h.gateway, h.roles[0]])).to.deep.equal([
      ['gw', true, 'gateway'],
      ['web', false, 'web'],
      ['db', false, 'db'],
    ]);
    const servers = s.liveServers();
    expect(servers.map((x) => x.name).sort()).to.deep.equal(['g1-db', 'g1-gw', 'g1-web']);
    for (const server of servers) {
      const host = group.hosts.find((h) => server.name === `g1-${h.name}`)!;
      expect(host.resourceId).to.equal(server.id);
      expect(host.address).to.equal(server.ip.floating);
      expect(host.port).to.equal(22);
      expect(server.keyName).to.equal('smokestack-g1');
      expect(server.tags).to.deep.equal(['smokestack', 'smokestack-group-g1']);
      expect(server.metadata.smokestack_group).to.equal('g1');
      expect(Date.parse(server.metadata.smokestack_created!)).to.be.closeTo(Date.now(), 60_000);
      expect(Buffer.from(server.userData!, 'base64').toString()).to.match(/^#cloud-config\nhostname: /);
    }
    // Only our own ids were polled; nothing listed the whole project while creating.
    const ids = new Set(servers.map((x) => x.id));
    const polls = s.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/servers'));
    expect(polls.length).to.be.greaterThan(3);
    expect(polls.every((r) => ids.has(r.path.split('/')[2]!))).to.equal(true);

    // The keypair is the group's own: private key 0600 beside the store, public key uploaded.
    const keyFile = openstackKeyFile({ store }, 'g1');
    expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
    expect(s.liveKeypairs().map((k) => k.name)).to.deep.equal(['smokestack-g1']);
    expect(s.liveKeypairs()[0]!.publicKey).to.equal(fs.readFileSync(`${keyFile}.pub`, 'utf8').trim());
    expect(group.hosts.every((h) => h.identityFile === keyFile)).to.equal(true);

    const stored = (await store.read()).groups.g1!;
    expect(stored.resources!.map((r) => r.kind).sort()).to.deep.equal(['keypair', 'server', 'server', 'server']);
    expect(stored.hosts).to.have.length(3);
    expect(JSON.stringify(await store.read())).not.to.contain('demo-secret');

    expect((await p.describe(stored, ctx())).error).to.equal(undefined);

    await p.delete(stored, ctx());
    expect(s.liveServers()).to.deep.equal([]);
    expect(s.servers().every((x) => x.deletedAt)).to.equal(true);
    expect((await p.describe(stored, ctx())).error).to.equal('server(s) not ACTIVE on the cloud: gw, web, db');
    expect(s.liveKeypairs()).to.deep.equal([]);
    expect((await store.read()).groups.g1!.resources).to.deep.equal([]);
    expect(fs.existsSync(keyFile)).to.equal(false);
    // Delete waited for each server to answer 404.
    for (const id of ids) {
      expect(s.requests.some((r) => r.method === 'GET' && r.path === `/servers/${id}` && r.status === 404)).to.equal(true);
    }
  });

  it('fails create when a server goes to ERROR, deletes everything already created, and says which server and why', async () => {
    const s = await start({ errorServers: [{ pattern: /-db$/ }] });
    let error: Error | undefined;
    try {
      await provider().create('g2', definition(), ctx());
    } catch (err) {
      error = err as Error;
    }
    expect(error).to.be.instanceOf(InfraError);
    expect(error!.message).to.equal(
      'openstack: server g2-db (host db) went to ERROR: No valid host was found. There are not enough hosts available. (fault 500)',
    );
    expect(error!.message).not.to.contain('\n');
    expect(s.servers()).to.have.length(3);
    expect(s.servers().every((x) => x.deletedAt)).to.equal(true);
    expect(s.liveKeypairs()).to.deep.equal([]);
    const stored = (await store.read()).groups.g2!;
    expect(stored.resources).to.deep.equal([]);
  });

  it('reports an exceeded quota naming the server and the limit, and cleans up the servers that were created', async () => {
    const s = await start({ maxServers: 2 });
    let error: Error | undefined;
    try {
      await provider().create('g3', definition(), ctx());
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.match(/^openstack: creating server g3-(gw|web|db): Quota exceeded for instances: Requested 1, but already used 2 of 2 instances \(HTTP 403\)$/);
    expect(s.liveServers()).to.deep.equal([]);
    expect(s.liveKeypairs()).to.deep.equal([]);
  });

  it('gives up on servers stuck in BUILD after the create timeout, and deletes them', async () => {
    const s = await start({ buildDelayMs: 60_000 });
    const p = new OpenStackProvider({ pollIntervalMs: 20, maxPollIntervalMs: 100, createTimeoutMs: 1_000 });
    let error: Error | undefined;
    try {
      await p.create('slow', definition({ hosts: [{ name: 'only' }] }), ctx());
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.equal('openstack: server slow-only (host only) still BUILD after 1 s');
    expect(s.liveServers()).to.deep.equal([]);
  });

  it('picks the address the definition asks for: fixed or floating, IPv4 or IPv6, on a named network', async () => {
    const s = await start({ addresses: () => ({ fixed: '127.0.0.1' }) });
    const group = await provider().create('g4', definition({ addressType: 'fixed', network: 'ci-net', hosts: [{ name: 'solo' }] }), ctx());
    expect(group.hosts[0]).to.include({ name: 'solo', address: '127.0.0.1', gateway: true });
    expect(s.liveServers()[0]!.network).to.equal('ci-net');

    const addresses: Record<string, NovaAddress[]> = {
      private: [
        { addr: '10.0.0.5', version: 4, 'OS-EXT-IPS:type': 'fixed' },
        { addr: 'fd00::5', version: 6, 'OS-EXT-IPS:type': 'fixed' },
        { addr: '172.24.4.5', version: 4, 'OS-EXT-IPS:type': 'floating' },
      ],
      other: [{ addr: '192.168.9.9', version: 4, 'OS-EXT-IPS:type': 'fixed' }],
    };
    expect(pickServerAddress(addresses)).to.equal('172.24.4.5');
    expect(pickServerAddress(addresses, { addressType: 'fixed', network: 'private' })).to.equal('10.0.0.5');
    expect(pickServerAddress(addresses, { ipVersion: 6 })).to.equal('fd00::5');
    expect(pickServerAddress(addresses, { network: 'other' })).to.equal('192.168.9.9');
    expect(pickServerAddress(addresses, { addressType: 'floating', network: 'other' })).to.equal(undefined);
  });

  it('records each server id the moment Nova answers: a CLI killed mid-create leaves nothing unrecorded, and delete removes it all', async () => {
    // The fast server answers at once; the two slow ones exist on the cloud but their POSTs answer only later.
    const s = await start({ buildDelayMs: 5_000, createLatencyMs: (name) => (name.endsWith('-gw') ? 0 : 3_000) });
    fs.writeFileSync(store.file, JSON.stringify({ schemaVersion: 1, configs: {}, jobs: {}, votes: {}, groups: {}, sync: {}, seenEvents: [], nextJobId: 1 }));
    const killed = new Promise<string>((resolve) => {
      s.on('request', (entry: SimRequest) => {
        // The first poll comes right after the POST answered: kill the CLI there.
        if (entry.method === 'GET' && /^\/servers\/[0-9a-f-]{36}$/.test(entry.path) && child) {
          child.kill('SIGKILL');
          resolve(entry.path.split('/')[2]!);
        }
      });
    });
    child = spawn(process.execPath, ['--import', 'tsx/esm', '--conditions=smokestack-source', FIXTURE, store.file, 'crash', JSON.stringify(definition())], {
      env: { ...process.env, ...env() },
      stdio: 'ignore',
    });
    const fastId = await killed;
    await new Promise((resolve) => child!.once('exit', resolve));

    const stored = (await store.read()).groups.crash!;
    expect(stored.resources!.filter((r) => r.kind === 'server').map((r) => r.id)).to.deep.equal([fastId]);
    expect(stored.resources!.some((r) => r.kind === 'keypair' && r.id === 'smokestack-crash')).to.equal(true);
    // The slow servers exist on the cloud without their ids in the store: the group tag finds them.
    expect(s.liveServers()).to.have.length(3);
    const owned = await provider().listOwned(ctx());
    expect(owned.filter((r) => r.kind === 'server' && r.group === 'crash')).to.have.length(3);

    await provider().delete(stored, ctx());
    expect(s.liveServers()).to.deep.equal([]);
    expect(s.liveKeypairs()).to.deep.equal([]);
    expect(await provider().listOwned(ctx())).to.deep.equal([]);
  });

  it('sweep deletes only tagged servers and keypairs older than the age, never untagged or new ones', async () => {
    const s = await start();
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    const old = s.addServer({ name: 'old-gw', tags: ['smokestack', 'smokestack-group-old'], metadata: { smokestack_group: 'old' }, createdAt: hoursAgo(5) });
    const fresh = s.addServer({ name: 'new-gw', tags: ['smokestack', 'smokestack-group-new'], metadata: { smokestack_group: 'new' } });
    const pet = s.addServer({ name: 'pet', createdAt: hoursAgo(50) });
    s.addKeypair('smokestack-old', hoursAgo(5));
    s.addKeypair('smokestack-new');
    s.addKeypair('my-own-key', hoursAgo(50));

    const p = provider();
    const owned = await p.listOwned(ctx());
    expect(owned.map((r) => `${r.kind}:${r.name}`).sort()).to.deep.equal(['keypair:smokestack-new', 'keypair:smokestack-old', 'server:new-gw', 'server:old-gw']);
    expect(owned.find((r) => r.id === old.id)).to.include({ group: 'old' });

    const result = await sweepGroups({ olderThanMs: 3_600_000 }, ctx({ providers: { openstack: () => p } }));
    expect(result.items.filter((i) => i.action === 'deleted').map((i) => i.name).sort()).to.deep.equal(['old-gw', 'smokestack-old']);
    expect(s.liveServers().map((x) => x.id).sort()).to.deep.equal([fresh.id, pet.id].sort());
    expect(s.liveKeypairs().map((k) => k.name).sort()).to.deep.equal(['my-own-key', 'smokestack-new']);
  });

  it('uses the cloud named in the definition from clouds.yaml, with the password from secure.yaml', async () => {
    const s = await start();
    const cloudsDir = path.join(dir, 'openstack');
    fs.mkdirSync(cloudsDir);
    fs.writeFileSync(
      path.join(cloudsDir, 'clouds.yaml'),
      `clouds:\n  sim:\n    auth:\n      auth_url: ${s.authUrl}\n      username: demo\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionTwo\n    interface: internal\n`,
    );
    fs.writeFileSync(path.join(cloudsDir, 'secure.yaml'), 'clouds:\n  sim:\n    auth:\n      password: demo-secret\n');
    const group = await provider().create('g5', definition({ cloud: 'sim', hosts: [{ name: 'one' }] }), ctx({ env: { OS_CLIENT_CONFIG_FILE: path.join(cloudsDir, 'clouds.yaml') } }));
    expect(group.hosts).to.have.length(1);
    expect(posts(s)[0]).to.include({ region: 'RegionTwo', interface: 'internal' });
    // Delete finds the cloud again from the stored definition.
    await provider().delete((await store.read()).groups.g5!, ctx({ env: { OS_CLIENT_CONFIG_FILE: path.join(cloudsDir, 'clouds.yaml') } }));
    expect(s.liveServers()).to.deep.equal([]);
  });
});

describe('openstack provider: reaching the servers over SSH', function () {
  this.timeout(30_000);
  let dir: string;
  let sim: OpenStackSimulator | undefined;
  let ssh: SshTestHosts | undefined;
  let store: StateStore;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-openstack-ssh-'));
    store = new StateStore(path.join(dir, 'state.json'));
  });

  afterEach(async () => {
    await sim?.stop();
    await ssh?.stop();
    sim = undefined;
    ssh = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A one-server group whose server is a real sshd on 127.0.0.1; the console prints `consoleKey` like cloud-init. */
  async function createGroup(name: string, consoleKey: (hostKey: string) => string | undefined) {
    ssh = await startSshHosts({ count: 1 });
    const host = ssh.hosts[0]!;
    sim = await OpenStackSimulator.start({
      buildDelayMs: 50,
      deleteDelayMs: 20,
      addresses: () => ({ fixed: '127.0.0.1', floating: '127.0.0.1' }),
      consoleOutput: () => {
        const key = consoleKey(host.hostPublicKey);
        return key ? `boot...\n-----BEGIN SSH HOST KEY KEYS-----\n${key} root@${name}\n-----END SSH HOST KEY KEYS-----\nlogin:` : 'boot...\nlogin:';
      },
    });
    const ctx: ProviderContext = {
      store,
      logger: silentLogger(),
      now: () => new Date(),
      env: { ...process.env, OS_AUTH_URL: sim.authUrl, OS_USERNAME: 'demo', OS_PASSWORD: 'demo-secret', OS_PROJECT_NAME: 'demo', OS_REGION_NAME: 'RegionOne' },
      reachableTimeoutMs: 10_000,
    };
    const provider = new OpenStackProvider({ pollIntervalMs: 20, maxPollIntervalMs: 50 });
    const group = await provider.create(name, GroupDefinitionSchema.parse({ provider: 'openstack', image: 'debian-12', flavor: 'm1.tiny', user: host.user, hosts: [{ name: 'gw', port: host.port }] }), ctx);
    // Cloud-init would install the keypair's public key; the test host gets it here.
    fs.appendFileSync(path.join(ssh.rootDir, host.name, 'authorized_keys'), fs.readFileSync(`${group.hosts[0]!.identityFile}.pub`));
    return { provider, group, ctx, host };
  }

  it('trusts the host key cloud-init printed on the console, then runs commands with the group key', async () => {
    const { provider, group, ctx, host } = await createGroup('con', (key) => key);
    await provider.waitReachable(group, ctx);
    const knownHosts = fs.readFileSync(groupKnownHostsFile(store, 'con'), 'utf8');
    expect(knownHosts).to.equal(`${host.knownHostsLine}\n`);
    const conn = await provider.connect(group, group.hosts[0]!, ctx);
    try {
      const result = await conn.exec('echo "hello from $(hostname)"');
      expect(result.code).to.equal(0);
      expect(result.stdout).to.match(/^hello from /);
    } finally {
      await conn.close();
    }
  });

  it('refuses a server whose SSH host key differs from the one on its console', async () => {
    const { provider, group, ctx } = await createGroup('evil', () => 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOw0bR9Tq1bqG3tq3pBe1rUJm5Gu5fJQ3z1rQ9vWm6Tb');
    let error: Error | undefined;
    const started = Date.now();
    try {
      await provider.waitReachable(group, ctx);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.match(/HOST KEY MISMATCH/);
    // A wrong key is never retried.
    expect(Date.now() - started).to.be.lessThan(5_000);
  });

  it('pins the host key on first contact when the console shows none, and holds the server to it afterwards', async () => {
    const { provider, group, ctx, host } = await createGroup('pin', () => undefined);
    await provider.waitReachable(group, ctx);
    expect(fs.readFileSync(groupKnownHostsFile(store, 'pin'), 'utf8')).to.equal(`${host.knownHostsLine}\n`);
    // Later contact is strict: a different pinned key is refused.
    fs.writeFileSync(groupKnownHostsFile(store, 'pin'), `[127.0.0.1]:${host.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOw0bR9Tq1bqG3tq3pBe1rUJm5Gu5fJQ3z1rQ9vWm6Tb\n`);
    let error: Error | undefined;
    try {
      await provider.connect(group, group.hosts[0]!, ctx);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.match(/HOST KEY MISMATCH/);
  });
});
