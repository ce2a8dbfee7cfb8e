import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { OpenStackSimulator } from '@smokestack/testkit';
import { UserError } from '../../src/errors.js';
import { Logger } from '../../src/log/logger.js';
import { OpenStackSession, selectEndpoint, type CatalogService } from '../../src/providers/openstack-auth.js';
import { loadCloudConfig } from '../../src/providers/openstack-config.js';

const catalog: CatalogService[] = [
  { type: 'compute_legacy', endpoints: [{ interface: 'public', region_id: 'R1', url: 'https://legacy/v2' }] },
  {
    type: 'compute',
    name: 'nova',
    endpoints: [
      { interface: 'internal', region_id: 'R1', url: 'https://r1-internal/v2.1' },
      { interface: 'public', region_id: 'R1', url: 'https://r1-public/v2.1/' },
      { interface: 'public', region: 'R2', url: 'https://r2-public/v2.1' },
    ],
  },
];

describe('openstack Keystone endpoint selection', () => {
  it('matches the service type exactly, then the interface, then the region', () => {
    expect(selectEndpoint(catalog, { type: 'compute', interface: 'public', region: 'R1' })).to.equal('https://r1-public/v2.1');
    expect(selectEndpoint(catalog, { type: 'compute', interface: 'internal', region: 'R1' })).to.equal('https://r1-internal/v2.1');
    expect(selectEndpoint(catalog, { type: 'compute', interface: 'public', region: 'R2' })).to.equal('https://r2-public/v2.1');
    expect(selectEndpoint(catalog, { type: 'compute_legacy', interface: 'public' })).to.equal('https://legacy/v2');
  });

  it('explains what is missing or ambiguous', () => {
    expect(() => selectEndpoint(catalog, { type: 'image', interface: 'public' })).to.throw(UserError, /no "image" service/);
    expect(() => selectEndpoint(catalog, { type: 'compute', interface: 'admin' })).to.throw(UserError, /no admin endpoint/);
    expect(() => selectEndpoint(catalog, { type: 'compute', interface: 'internal', region: 'R2' })).to.throw(UserError, /region R2/);
    expect(() => selectEndpoint(catalog, { type: 'compute', interface: 'public' })).to.throw(UserError, /several regions \(R1, R2\)/);
  });
});

describe('openstack Keystone session against the simulator', () => {
  let sim: OpenStackSimulator;
  let output: string;
  let logger: Logger;

  beforeEach(async () => {
    sim = await OpenStackSimulator.start({ applicationCredentials: [{ id: 'ac-1', secret: 'ac-very-secret', user: 'ci', project: 'demo' }] });
    output = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    logger = new Logger({ stream, verbose: true, tty: false });
  });

  afterEach(async () => {
    await sim.stop();
  });

  const env = (extra: Record<string, string> = {}) => ({
    OS_AUTH_URL: sim.authUrl,
    OS_USERNAME: 'demo',
    OS_PASSWORD: 'demo-secret',
    OS_PROJECT_NAME: 'demo',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_REGION_NAME: 'RegionTwo',
    ...extra,
  });

  it('calls the compute endpoint of the configured region and interface, with the microversion header', async () => {
    const session = new OpenStackSession(loadCloudConfig({ env: env({ OS_INTERFACE: 'internal' }) }), { logger, now: () => new Date(), computeMicroversion: '2.79' });
    expect(await session.endpoint('compute')).to.equal(sim.endpointUrl('compute', 'RegionTwo', 'internal'));
    const res = await session.request('compute', { method: 'GET', path: '/flavors', operation: 'listing flavors' });
    expect(res.status).to.equal(200);
    expect(res.headers['openstack-api-version']).to.equal('compute 2.79');
    expect(sim.requests.at(-1)).to.include({ service: 'compute', region: 'RegionTwo', interface: 'internal', microversion: '2.79' });
  });

  it('reuses the token until it expires, then authenticates again', async () => {
    let now = new Date();
    const session = new OpenStackSession(loadCloudConfig({ env: env() }), { logger, now: () => now });
    for (let i = 0; i < 3; i++) await session.request('compute', { method: 'GET', path: '/flavors', operation: 'listing flavors' });
    const auths = () => sim.requests.filter((r) => r.service === 'identity').length;
    expect(auths()).to.equal(1);
    // The clock passes the token's expires_at: a fresh token is fetched before the call.
    now = new Date(Date.now() + 2 * 3_600_000);
    await session.request('compute', { method: 'GET', path: '/flavors', operation: 'listing flavors' });
    expect(auths()).to.equal(2);
    expect(sim.requests.filter((r) => r.service === 'compute').every((r) => r.status === 200)).to.equal(true);
  });

  it('re-authenticates once when the cloud revokes or expires the token early (401)', async () => {
    const session = new OpenStackSession(loadCloudConfig({ env: env() }), { logger, now: () => new Date() });
    await session.request('compute', { method: 'GET', path: '/flavors', operation: 'listing flavors' });
    sim.expireTokens();
    const res = await session.request('compute', { method: 'GET', path: '/flavors', operation: 'listing flavors' });
    expect(res.status).to.equal(200);
    expect(sim.requests.map((r) => `${r.service}:${r.status}`)).to.deep.equal(['identity:201', 'compute:200', 'compute:401', 'identity:201', 'compute:200']);
  });

  it('authenticates with an application credential and never logs secrets or tokens', async () => {
    const cloud = loadCloudConfig({ env: { OS_AUTH_URL: sim.authUrl, OS_APPLICATION_CREDENTIAL_ID: 'ac-1', OS_APPLICATION_CREDENTIAL_SECRET: 'ac-very-secret', OS_REGION_NAME: 'RegionOne' } });
    const session = new OpenStackSession(cloud, { logger, now: () => new Date() });
    const token = await session.authenticate();
    logger.info(`debugging: ${token.id} ac-very-secret`);
    expect(output).to.contain('authenticating');
    expect(output).not.to.contain('ac-very-secret');
    expect(output).not.to.contain(token.id);
  });

  it('turns refused credentials into a one-line user error naming the cloud', async () => {
    const session = new OpenStackSession(loadCloudConfig({ env: env({ OS_PASSWORD: 'wrong-password' }) }), { logger, now: () => new Date() });
    try {
      await session.authenticate();
      expect.fail('expected a refusal');
    } catch (err) {
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.equal('openstack: Keystone refused the credentials of cloud "envvars" (environment) (HTTP 401)');
    }
    expect(output).not.to.contain('wrong-password');
  });
});
