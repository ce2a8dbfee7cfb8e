import { expect } from 'chai';
import { OpenStackSimulator } from '../../src/openstack/simulator.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(url: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers['X-Auth-Token'] = init.token;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

function passwordAuth(user = 'demo', password = 'demo-secret', project = 'demo') {
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
      scope: { project: { name: project, domain: { name: 'Default' } } },
    },
  };
}

describe('testkit OpenStack simulator', () => {
  let sim: OpenStackSimulator;
  let token: string;
  let nova: string;

  beforeEach(async () => {
    sim = await OpenStackSimulator.start({
      buildDelayMs: 80,
      deleteDelayMs: 60,
      errorServers: [{ pattern: /-broken$/ }],
      maxServers: 3,
      applicationCredentials: [{ id: 'ac-1', secret: 'ac-secret', user: 'ci', project: 'demo' }],
    });
    const auth = await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth() });
    token = auth.headers.get('x-subject-token')!;
    nova = sim.endpointUrl('compute', 'RegionOne');
    await call(`${nova}/os-keypairs`, { method: 'POST', token, body: { keypair: { name: 'k1', public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA k1' } } });
  });

  afterEach(async () => {
    await sim.stop();
  });

  const serverBody = (name: string, extra: Record<string, unknown> = {}) => ({
    server: { name, imageRef: 'a1b2c3d4-0000-4000-8000-000000000012', flavorRef: '1', key_name: 'k1', networks: 'auto', user_data: Buffer.from('#!/bin/sh\n').toString('base64'), tags: ['t1'], metadata: { a: 'b' }, ...extra },
  });
  const v = { 'OpenStack-API-Version': 'compute 2.79' };

  it('issues a token with a two-region catalog for password and application-credential auth, and refuses bad ones', async () => {
    const ok = await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth() });
    expect(ok.status).to.equal(201);
    expect(ok.headers.get('x-subject-token')).to.match(/^gAAAAA/);
    expect(Date.parse(ok.body.token.expires_at)).to.be.greaterThan(Date.now());
    const compute = ok.body.token.catalog.find((s: { type: string }) => s.type === 'compute');
    expect(compute.endpoints.map((e: { region_id: string; interface: string }) => `${e.region_id}/${e.interface}`)).to.have.members([
      'RegionOne/public',
      'RegionOne/internal',
      'RegionTwo/public',
      'RegionTwo/internal',
    ]);
    const app = await call(`${sim.authUrl}/auth/tokens`, {
      method: 'POST',
      body: { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac-1', secret: 'ac-secret' } } } },
    });
    expect(app.status).to.equal(201);
    expect(app.body.token.user.name).to.equal('ci');
    expect((await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth('demo', 'wrong') })).status).to.equal(401);
    expect((await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth('demo', 'demo-secret', 'other') })).status).to.equal(401);
    // Secrets never reach the request log.
    expect(JSON.stringify(sim.requests)).not.to.contain('demo-secret');
    expect(JSON.stringify(sim.requests)).not.to.contain('ac-secret');
  });

  it('answers 401 without a token, with an unknown one, and once tokens expire', async () => {
    expect((await call(`${nova}/servers/detail`)).status).to.equal(401);
    expect((await call(`${nova}/servers/detail`, { token: 'nope' })).status).to.equal(401);
    expect((await call(`${nova}/servers/detail`, { token })).status).to.equal(200);
    sim.expireTokens();
    const res = await call(`${nova}/servers/detail`, { token });
    expect(res.status).to.equal(401);
    expect(res.body.error.message).to.contain('requires authentication');
  });

  it('echoes the compute microversion and refuses unsupported ones', async () => {
    const res = await call(`${nova}/flavors`, { token, headers: v });
    expect(res.headers.get('openstack-api-version')).to.equal('compute 2.79');
    expect(res.headers.get('x-openstack-nova-api-version')).to.equal('2.79');
    const legacy = await call(`${nova}/flavors`, { token, headers: { 'X-OpenStack-Nova-API-Version': '2.10' } });
    expect(legacy.headers.get('openstack-api-version')).to.equal('compute 2.10');
    expect((await call(`${nova}/flavors`, { token })).headers.get('openstack-api-version')).to.equal('compute 2.1');
    expect((await call(`${nova}/flavors`, { token, headers: { 'OpenStack-API-Version': 'compute 2.500' } })).status).to.equal(406);
  });

  it('takes a server from BUILD to ACTIVE with tags, metadata and fixed/floating addresses, then deletes it (204, later 404)', async () => {
    const created = await call(`${nova}/servers`, { method: 'POST', token, headers: v, body: serverBody('s1') });
    expect(created.status).to.equal(202);
    expect(created.body.server.id).to.be.a('string');
    expect(created.body.server.adminPass).to.be.a('string');
    const id = created.body.server.id;
    const building = await call(`${nova}/servers/${id}`, { token, headers: v });
    expect(building.body.server.status).to.equal('BUILD');
    await sleep(100);
    const active = (await call(`${nova}/servers/${id}`, { token, headers: v })).body.server;
    expect(active.status).to.equal('ACTIVE');
    expect(active.tags).to.deep.equal(['t1']);
    expect(active.metadata).to.deep.equal({ a: 'b' });
    expect(active.key_name).to.equal('k1');
    expect(active.addresses.private.map((a: Record<string, unknown>) => `${a['OS-EXT-IPS:type']}/${a.version}`)).to.deep.equal(['fixed/4', 'fixed/6', 'floating/4']);
    const byTag = await call(`${nova}/servers/detail?tags=t1`, { token, headers: v });
    expect(byTag.body.servers.map((s: { id: string }) => s.id)).to.deep.equal([id]);
    expect((await call(`${nova}/servers/detail?tags=other`, { token, headers: v })).body.servers).to.deep.equal([]);
    expect((await call(`${nova}/servers/${id}`, { method: 'DELETE', token, headers: v })).status).to.equal(204);
    expect((await call(`${nova}/servers/${id}`, { token, headers: v })).status).to.equal(200);
    await sleep(80);
    expect((await call(`${nova}/servers/${id}`, { token, headers: v })).status).to.equal(404);
    expect(sim.servers()[0]!.deletedAt).to.be.instanceOf(Date);
    expect(sim.liveServers()).to.deep.equal([]);
  });

  it('puts servers matching the error pattern into ERROR with a fault', async () => {
    const id = (await call(`${nova}/servers`, { method: 'POST', token, headers: v, body: serverBody('g-broken') })).body.server.id;
    await sleep(100);
    const server = (await call(`${nova}/servers/${id}`, { token, headers: v })).body.server;
    expect(server.status).to.equal('ERROR');
    expect(server.fault).to.include({ code: 500, message: 'No valid host was found. There are not enough hosts available.' });
  });

  it('validates key_name, user_data, tags by microversion, and the instance quota', async () => {
    const bad = async (body: unknown, headers = v) => (await call(`${nova}/servers`, { method: 'POST', token, headers, body })).body;
    expect((await bad(serverBody('x', { key_name: 'missing' }))).badRequest.message).to.equal('Invalid key_name provided.');
    expect((await bad(serverBody('x', { user_data: 'not base64!' }))).badRequest.message).to.equal('User data needs to be valid base 64.');
    expect((await bad(serverBody('x'), { 'OpenStack-API-Version': 'compute 2.40' })).badRequest.message).to.contain("'tags' was unexpected");
    for (const n of [1, 2, 3]) expect((await call(`${nova}/servers`, { method: 'POST', token, headers: v, body: serverBody(`q${n}`) })).status).to.equal(202);
    const over = await call(`${nova}/servers`, { method: 'POST', token, headers: v, body: serverBody('q4') });
    expect(over.status).to.equal(403);
    expect(over.body.forbidden).to.deep.equal({ message: 'Quota exceeded for instances: Requested 1, but already used 3 of 3 instances', code: 403 });
  });

  it('keeps keypairs, flavors and images (Nova and Glance) in their documented shapes', async () => {
    const list = await call(`${nova}/os-keypairs`, { token, headers: v });
    expect(list.body.keypairs[0].keypair.name).to.equal('k1');
    expect((await call(`${nova}/os-keypairs`, { method: 'POST', token, headers: v, body: { keypair: { name: 'k1', public_key: 'ssh-ed25519 AAAA' } } })).status).to.equal(409);
    expect((await call(`${nova}/os-keypairs/k1`, { token, headers: v })).body.keypair.created_at).to.match(/^\d{4}-\d\d-\d\dT/);
    expect((await call(`${nova}/os-keypairs/k1`, { method: 'DELETE', token, headers: v })).status).to.equal(202);
    expect((await call(`${nova}/os-keypairs/k1`, { token, headers: v })).status).to.equal(404);
    expect(sim.keypairs()[0]!.deletedAt).to.be.instanceOf(Date);
    const flavors = (await call(`${nova}/flavors/detail`, { token, headers: v })).body.flavors;
    expect(flavors.map((f: { name: string }) => f.name)).to.include('m1.small');
    const glance = await call(`${sim.endpointUrl('image', 'RegionOne')}/v2/images?name=debian-12`, { token });
    expect(glance.body.images).to.have.length(1);
    expect((await call(`${nova}/images?name=debian-12`, { token, headers: { 'OpenStack-API-Version': 'compute 2.30' } })).body.images).to.have.length(1);
    expect((await call(`${nova}/images`, { token, headers: v })).status).to.equal(404);
  });

  it('logs every request with its service, region, interface, microversion and timing', async () => {
    await call(`${sim.endpointUrl('compute', 'RegionTwo', 'internal')}/flavors`, { token, headers: v });
    const entry = sim.requests.at(-1)!;
    expect(entry).to.include({ method: 'GET', path: '/flavors', service: 'compute', region: 'RegionTwo', interface: 'internal', microversion: '2.79', status: 200 });
    expect(entry.finishedAt).to.be.at.least(entry.startedAt);
  });
});
