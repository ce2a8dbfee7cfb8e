import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  CONTAINER_BRIDGE,
  CONTAINER_SUBNET,
  ContainerProvider,
  NspawnRuntime,
  PROVIDERS,
  GroupDefinitionSchema,
  Logger,
  StateStore,
  createGroup,
  deleteGroup,
  execOnGroup,
  groupKnownHostsFile,
  listContainerRecords,
  silentLogger,
  type ContainerRecord,
  type ContainerRuntime,
  type FoundContainer,
  type ProviderContext,
  type ServerGroup,
} from '@smokestack/core';
import {
  bridgeExists,
  canRunContainers,
  containerGroupDefinition,
  containerIdsOfStore,
  containerLeftovers,
  ensureDefaultImage,
  requireContainers,
  removeContainersOfStore,
} from '@smokestack/testkit';

/** A bridge standing for another test network on the machine. */
const OTHER_NETWORK = 'ss-test-other';

// Real containers: systemd-nspawn hosts booted from the shared default image (built once per
// machine, with progress, by the first test that needs it). Needs root.
describe('container provider (real containers on this machine: needs root, systemd-container, debootstrap)', function () {
  this.timeout(40 * 60_000);
  let dir: string;
  let ctx: ProviderContext;
  let alpha: ServerGroup;
  let beta: ServerGroup;

  const run = async (group: ServerGroup, host: string, script: string): Promise<string> => {
    const result = await execOnGroup(group, { host }, script, ctx);
    const r = result.results[0]!;
    if (r.code !== 0) throw new Error(`${host}: exit ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const ids = (group: ServerGroup) => group.hosts.map((h) => h.resourceId!);

  before(async function () {
    await requireContainers(this);
    await ensureDefaultImage(new Logger({ tty: false }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-container-'));
    ctx = { store: new StateStore(path.join(dir, 'state.json')), logger: silentLogger(), now: () => new Date(), env: process.env };
    // Another test network in the upper half of 10.213.0.0/24, as other test suites on the machine make.
    execFileSync('ip', ['link', 'add', OTHER_NETWORK, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', '10.213.0.193/28', 'dev', OTHER_NETWORK]);
    // Two groups at once, from two "jobs": they share the bridge, nothing else.
    [alpha, beta] = await Promise.all([
      createGroup(GroupDefinitionSchema.parse(containerGroupDefinition('alpha', [{ name: 'gw', roles: ['build'] }, { name: 'web1', roles: ['web'] }, { name: 'db1', roles: ['db'] }])), {}, ctx),
      createGroup(GroupDefinitionSchema.parse(containerGroupDefinition('beta', [{ name: 'solo1' }, { name: 'solo2' }])), {}, ctx),
    ]);
  });

  after(async () => {
    if (!ctx) return;
    spawnSync('ip', ['link', 'del', OTHER_NETWORK]);
    for (const name of ['alpha', 'beta']) await deleteGroup(name, ctx).catch(() => undefined);
    await removeContainersOfStore(ctx.store.location);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('each host is its own machine: its hostname, its address on the bridge range, its own init and pinned sshd key', async () => {
    const seen = await Promise.all(alpha.hosts.map(async (h) => ({ host: h, out: (await run(alpha, h.name, 'hostname; ip -4 -o addr show dev eth0 | awk \'{print $4}\'; cat /proc/1/comm; cat /etc/ssh/ssh_host_ed25519_key.pub')).split('\n') })));
    for (const { host, out } of seen) {
      expect(out[0], 'hostname').to.equal(host.name);
      expect(out[1], 'address').to.equal(`${host.address}/${CONTAINER_SUBNET.bits}`);
      expect(out[2], 'pid 1').to.equal('systemd');
      const pinned = fs.readFileSync(groupKnownHostsFile(ctx.store, 'alpha'), 'utf8');
      expect(pinned, 'the key sshd presents is the one pinned at creation').to.contain(`${host.address} ${out[3]!.split(' ').slice(0, 2).join(' ')}`);
    }
    const addresses = [...alpha.hosts, ...beta.hosts].map((h) => h.address);
    expect(new Set(addresses).size, 'addresses across both groups').to.equal(5);
    for (const a of addresses) expect(a).to.match(/^10\.213\.0\.(\d+)$/);
  });

  it('Facter on a host skips the augeas fact (a second of every Puppet apply) and resolves the others', async () => {
    const facts = JSON.parse(await run(alpha, 'db1', 'facter --json augeas os.family networking.hostname'));
    expect(facts).to.deep.equal({ augeas: null, 'os.family': 'Debian', 'networking.hostname': 'db1' });
  });

  it("Puppet on a host starts through the image's launcher: Ruby's code compiled at image build, modules' own types loaded and applied twice (one through a symlink), a broken one failing with Puppet's message", async () => {
    // The launcher's speed is measured by bench/demo.mjs; here, that it is the Puppet a job runs and that it still behaves as Puppet.
    const module = [
      'set -e',
      'm=$(mktemp -d); mkdir -p "$m/probe/lib/puppet/type" "$m/probe/lib/puppet/provider/probe_marker"',
      `printf 'Puppet::Type.newtype(:probe_marker) do\\n  ensurable\\n  newparam(:path, namevar: true)\\nend\\n' > "$m/probe/lib/puppet/type/probe_marker.rb"`,
      `printf 'Puppet::Type.type(:probe_marker).provide(:touch) do\\n  def exists?; File.exist?(resource[:path]); end\\n  def create; File.write(resource[:path], "made by probe_marker"); end\\n  def destroy; File.delete(resource[:path]); end\\nend\\n' > "$m/probe/lib/puppet/provider/probe_marker/touch.rb"`,
      `echo 'raise "this type is broken"' > "$m/probe/lib/puppet/type/probe_broken.rb"`,
      // A module reached through a symlink (as Debian's puppet-module-* packages link theirs), whose provider loads its type by its real path.
      'r=$(mktemp -d); mkdir -p "$r/linked/lib/puppet/type" "$r/linked/lib/puppet/provider/probe_linked"; ln -s "$r" "$m.link"',
      `printf 'Puppet::Type.newtype(:probe_linked) do\\n  ensurable\\n  newparam(:path, namevar: true)\\nend\\n' > "$r/linked/lib/puppet/type/probe_linked.rb"`,
      `printf 'require_relative "../../type/probe_linked"\\nPuppet::Type.type(:probe_linked).provide(:touch) do\\n  def exists?; File.exist?(resource[:path]); end\\n  def create; File.write(resource[:path], "linked"); end\\n  def destroy; File.delete(resource[:path]); end\\nend\\n' > "$r/linked/lib/puppet/provider/probe_linked/touch.rb"`,
      'echo "$m"',
    ].join('\n');
    const m = await run(alpha, 'web1', module);
    const cached = 'find /var/cache/smokestack/bootsnap -type f | wc -l';
    const before = Number(await run(alpha, 'web1', cached));
    expect(await run(alpha, 'web1', 'command -v puppet'), 'the puppet a job finds on PATH').to.equal('/usr/local/bin/puppet');
    const manifest = `probe_marker { '/tmp/probe-marker': ensure => present } probe_linked { '/tmp/probe-linked': ensure => present } package { 'dpkg': ensure => installed }`;
    const apply = (text: string) =>
      execOnGroup(alpha, { host: 'web1' }, `puppet apply --detailed-exitcodes --color=false --modulepath ${m}:${m}.link -e "${text}"`, ctx).then((r) => r.results[0]!);
    const first = await apply(manifest);
    expect(first.code, `first apply: ${first.stderr}`).to.equal(2);
    expect(first.stdout).to.contain('Probe_marker[/tmp/probe-marker]/ensure: created');
    const second = await apply(manifest);
    expect(second.code, `second apply changes nothing: ${second.stdout}${second.stderr}`).to.equal(0);
    expect(await run(alpha, 'web1', 'cat /tmp/probe-marker; echo; cat /tmp/probe-linked')).to.equal('made by probe_marker\nlinked');
    // Puppet's and Facter's own files were compiled when the image was built: only the modules' four files are new.
    expect(Number(await run(alpha, 'web1', cached)) - before, 'files compiled by the applies').to.equal(4);
    const broken = await apply("probe_broken { 'x': }");
    expect(broken.code).to.equal(1);
    expect(broken.stderr).to.contain('Could not autoload puppet/type/probe_broken: this type is broken');
  });

  it('hosts of a group reach each other by name across the bridge, and do not know the other group', async () => {
    const resolved = await run(alpha, 'web1', 'getent hosts gw db1 | awk \'{print $2 "=" $1}\' | sort');
    const byName = Object.fromEntries(alpha.hosts.map((h) => [h.name, h.address]));
    expect(resolved.split('\n')).to.deep.equal([`db1=${byName.db1}`, `gw=${byName.gw}`]);
    const banner = await run(alpha, 'web1', 'timeout 10 bash -c \'exec 3<>/dev/tcp/db1/22; head -c 7 <&3\'');
    expect(banner).to.equal('SSH-2.0');
    const other = await execOnGroup(alpha, { host: 'web1' }, 'getent hosts solo1', ctx);
    expect(other.results[0]!.code, 'a host of the other group is unknown').to.not.equal(0);
  });

  it('a package installed on one host is absent on the others, in the other group and on this machine', async () => {
    const pkg = `ss-probe-${randomBytes(3).toString('hex')}`;
    await run(
      alpha,
      'web1',
      [
        'set -e',
        `d=$(mktemp -d); mkdir -p "$d/DEBIAN" "$d/usr/share/${pkg}"`,
        `printf 'Package: ${pkg}\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@example.org>\\nDescription: probe\\n' > "$d/DEBIAN/control"`,
        `echo here > "$d/usr/share/${pkg}/marker"`,
        `dpkg-deb -b "$d" /tmp/${pkg}.deb >/dev/null && dpkg -i /tmp/${pkg}.deb >/dev/null`,
      ].join('\n'),
    );
    expect(await run(alpha, 'web1', `dpkg-query -W -f='\${Status}' ${pkg}`)).to.equal('install ok installed');
    for (const [group, host] of [[alpha, 'gw'], [alpha, 'db1'], [beta, 'solo1']] as const) {
      const r = (await execOnGroup(group, { host }, `dpkg-query -W ${pkg} || test -e /usr/share/${pkg}`, ctx)).results[0]!;
      expect(r.code, `${pkg} on ${group.name}/${host}`).to.not.equal(0);
    }
    expect(() => execFileSync('dpkg-query', ['-W', pkg], { stdio: 'pipe' }), 'on this machine').to.throw();
    expect(fs.existsSync(`/usr/share/${pkg}`)).to.equal(false);
  });

  it('jobs on two groups run at the same time, each seeing only its own files and processes', async () => {
    const script = (me: string) =>
      [`echo ${me} > /tmp/marker-${me}`, 'date +%s.%N', 'sleep 2 &', 'ps -e -o comm= | grep -c "^sleep$"', 'wait', 'date +%s.%N', 'ls /tmp | grep ^marker-'].join('\n');
    const [a, b] = (
      await Promise.all([execOnGroup(alpha, { host: 'gw' }, script('alpha'), ctx), execOnGroup(beta, { host: 'solo1' }, script('beta'), ctx)])
    ).map((r) => r.results[0]!.stdout.trim().split('\n'));
    const [aStart, aEnd, bStart, bEnd] = [a![0], a![2], b![0], b![2]].map(Number);
    expect(aStart! < bEnd! && bStart! < aEnd!, `alpha ${aStart}-${aEnd}, beta ${bStart}-${bEnd} overlap`).to.equal(true);
    expect([a![1], a![3]], 'alpha sees one sleep (its own) and its own marker').to.deep.equal(['1', 'marker-alpha']);
    expect([b![1], b![3]], 'beta sees one sleep (its own) and its own marker').to.deep.equal(['1', 'marker-beta']);
  });

  it("a host given the address of a container just deleted starts with no neighbour entry naming the old container's MAC (which held first SSH contact ~20 s)", async () => {
    // While other groups keep the bridge, this machine's neighbour (ARP) table keeps the deleted container's MAC for
    // its address; a new container given that address would get the first SYN sent to a MAC no one has any more.
    const neighbour = (address: string) => execFileSync('ip', ['neigh', 'show', 'to', address, 'dev', CONTAINER_BRIDGE], { encoding: 'utf8' }).trim();
    const seenAtStart: string[] = [];
    const real = new NspawnRuntime();
    const runtime: ContainerRuntime = {
      name: 'nspawn',
      unavailable: () => real.unavailable(),
      start: async (spec) => {
        const record = await real.start(spec);
        seenAtStart.push(neighbour(record.address));
        return record;
      },
      remove: (id) => real.remove(id),
      list: () => real.list(),
      strayBridge: () => real.strayBridge(),
      removeBridgeIfUnused: () => real.removeBridgeIfUnused(),
    };
    const withRuntime = { ...ctx, providers: { ...PROVIDERS, container: () => new ContainerProvider(runtime) } };
    const first = await createGroup(GroupDefinitionSchema.parse(containerGroupDefinition('gamma', [{ name: 'once' }])), {}, withRuntime);
    const address = first.hosts[0]!.address;
    const oldMac = /lladdr (\S+)/.exec(neighbour(address))?.[1];
    expect(oldMac, `a neighbour entry for ${address} once SSH reached it`).to.match(/^[0-9a-f:]{17}$/);
    await deleteGroup('gamma', withRuntime);
    expect(bridgeExists(), 'alpha and beta keep the bridge').to.equal(true);
    // The entry usually outlives the container (the demo's case) but the kernel may drop it sooner; put it back as it was.
    execFileSync('ip', ['neigh', 'replace', address, 'lladdr', oldMac!, 'dev', CONTAINER_BRIDGE, 'nud', 'reachable']);
    expect(neighbour(address), 'the deleted container\'s entry').to.contain(oldMac);
    seenAtStart.length = 0;
    const second = await createGroup(GroupDefinitionSchema.parse(containerGroupDefinition('delta', [{ name: 'again' }])), {}, withRuntime);
    try {
      expect(second.hosts[0]!.address, 'the lowest free address again').to.equal(address);
      expect(seenAtStart).to.have.length(1);
      expect(seenAtStart[0], 'the neighbour entry when the new container started').to.not.contain(oldMac);
    } finally {
      await deleteGroup('delta', withRuntime);
    }
  });

  it('delete removes containers, layers, mounts, namespaces and links, and the bridge with the last group', async () => {
    const alphaIds = ids(alpha);
    const betaIds = ids(beta);
    expect(await containerLeftovers(alphaIds), 'alpha is running').to.have.length.above(0);
    await deleteGroup('alpha', ctx);
    expect(await containerLeftovers(alphaIds)).to.deep.equal([]);
    expect(bridgeExists(), 'beta still uses the bridge').to.equal(true);
    await deleteGroup('beta', ctx);
    expect(await containerLeftovers(betaIds)).to.deep.equal([]);
    expect(containerIdsOfStore(ctx.store.location)).to.deep.equal([]);
    // Containers of another store (a demo running beside the tests) would rightly keep it.
    if (listContainerRecords().length === 0) expect(bridgeExists(), 'bridge after the last group').to.equal(false);
  });
});

// Which containers a sweep may take is decided from records alone; an in-memory runtime holds them.
describe('container provider: what a sweep may take', () => {
  const storeFile = path.join(os.tmpdir(), 'smokestack-sweep-owner', 'state.json');
  const record = (id: string, store: string, group: string): ContainerRecord => ({
    id,
    store,
    storeDir: path.dirname(store),
    group,
    host: 'h1',
    address: '10.213.0.9',
    image: { name: 'default', key: 'k', rootfs: '/i' },
    runtime: 'nspawn',
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  const runtime = (found: FoundContainer[], bridge?: string) => {
    const removed: string[] = [];
    const fake: ContainerRuntime = {
      name: 'nspawn',
      unavailable: async () => undefined,
      start: async () => {
        throw new Error('not used');
      },
      remove: async (id) => void removed.push(id),
      list: async () => found,
      strayBridge: async () => bridge,
      removeBridgeIfUnused: async () => void removed.push('bridge'),
    };
    return { fake, removed };
  };

  it('lists this store\'s containers and those of stores that are gone, never another live store\'s', async function () {
    if (!canRunContainers()) this.skip();
    fs.mkdirSync(path.dirname(storeFile), { recursive: true });
    const other = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-other-')), 'state.json');
    fs.writeFileSync(other, '{}');
    const { fake } = runtime(
      [
        record('ss-00000001', storeFile, 'mine'),
        record('ss-00000002', other, 'theirs'),
        record('ss-00000003', '/nonexistent/state.json', 'orphan'),
        { id: 'ss-00000004', broken: true, createdAt: '2026-01-01T00:00:00.000Z' },
      ],
      'smokestack0',
    );
    const ctx: ProviderContext = { store: new StateStore(storeFile), logger: silentLogger(), now: () => new Date(), env: process.env };
    const owned = await new ContainerProvider(fake).listOwned(ctx);
    expect(owned.map((r) => [r.kind, r.id, r.group])).to.deep.equal([
      ['container', 'ss-00000001', 'mine'],
      ['container', 'ss-00000003', undefined],
      ['container', 'ss-00000004', undefined],
      ['bridge', 'smokestack0', undefined],
    ]);
    fs.rmSync(path.dirname(other), { recursive: true, force: true });
    fs.rmSync(path.dirname(storeFile), { recursive: true, force: true });
  });

  it('a runtime that cannot run here stops group creation with its one-line reason, before anything exists', async () => {
    const { fake } = runtime([]);
    fake.unavailable = async () => 'systemd-nspawn is not installed: install the systemd-container package';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-noruntime-'));
    const ctx: ProviderContext = {
      store: new StateStore(path.join(dir, 'state.json')),
      logger: silentLogger(),
      now: () => new Date(),
      env: process.env,
      providers: { container: () => new ContainerProvider(fake) },
    };
    try {
      const definition = GroupDefinitionSchema.parse(containerGroupDefinition('nort', [{ name: 'h1' }]));
      const err = await createGroup(definition, {}, ctx).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.name).to.equal('UserError');
      expect(err?.message).to.match(/container provider: systemd-nspawn is not installed: install the systemd-container package/);
      expect((await ctx.store.read()).groups.nort).to.include({ state: 'deleted' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
