import { inspect } from 'node:util';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { GerritSim, LaunchpadSim, OpenStackSimulator } from '@smokestack/testkit';
import { GerritHttpError, GerritRestClient } from '../../src/gerrit/rest.js';
import { LaunchpadClient } from '../../src/launchpad/client.js';
import { bugPriority } from '../../src/launchpad/priorities.js';
import { Logger } from '../../src/log/logger.js';
import { HttpClient, HttpNetworkError } from '../../src/net/http.js';
import { OpenStackApiError, OpenStackSession } from '../../src/providers/openstack-auth.js';
import { loadCloudConfig } from '../../src/providers/openstack-config.js';
import { NovaClient } from '../../src/providers/openstack-nova.js';

const fast = { baseMs: 1, maxMs: 10 };

describe('net/http: one client and one retry policy for Gerrit, Launchpad and OpenStack', function () {
  this.timeout(30_000);

  describe('Gerrit', () => {
    let sim: GerritSim;
    before(async () => {
      sim = await GerritSim.start();
      sim.createProject('nova');
      sim.createChange({ project: 'nova', subject: 'a change' });
    });
    afterEach(() => sim.setFaults({}));
    after(async () => sim.stop());

    const client = () => new GerritRestClient({ url: sim.httpUrl, username: 'smokestack', password: 'secret', retries: 3, backoff: fast });

    it('a review answered 503 is sent once and the error names the call: it may have landed, and posting twice would post it twice', async () => {
      const gerrit = client();
      const change = (await gerrit.getChange({ project: 'nova', number: 1 }))!;
      sim.setFaults({ errorRate: 1, errorStatuses: [503], faultMethods: ['POST'] });
      const before = sim.requestCount;
      const error = await gerrit.postReview(change, change.currentPatchSet.revision, { message: 'Build succeeded.', labels: { Verified: 1 } }).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error).to.be.instanceOf(GerritHttpError);
      expect(error!.message).to.match(/^gerrit: http:\/\/127\.0\.0\.1:\d+: POST \/changes\/nova~1\/revisions\/\w+\/review: HTTP 503/);
      expect(sim.requestCount - before).to.equal(1);
    });

    it('a review refused with 429 (not processed) is sent again, up to the configured tries', async () => {
      const gerrit = client();
      const change = (await gerrit.getChange({ project: 'nova', number: 1 }))!;
      sim.setFaults({ errorRate: 1, errorStatuses: [429], faultMethods: ['POST'] });
      const before = sim.requestCount;
      await gerrit.postReview(change, change.currentPatchSet.revision, { message: 'Build succeeded.' }).then(
        () => expect.fail('expected an error'),
        (err: Error) => expect(err.message).to.match(/\/review: HTTP 429/),
      );
      expect(sim.requestCount - before).to.equal(4);
    });

    it('a GET answered 500, 503 or 429 is retried up to the configured tries', async () => {
      sim.setFaults({ errorRate: 1, faultMethods: ['GET'] });
      const gerrit = client();
      await gerrit.getChange({ project: 'nova', number: 1 }).then(
        () => expect.fail('expected an error'),
        (err: Error) => expect(err.message).to.match(/: GET \/changes\/nova~1: HTTP (500|503|429)/),
      );
      expect(gerrit.requestCount).to.equal(4);
    });

    it('a connection failure never carries the password or the Authorization header', async () => {
      const password = 'pw-very-secret-123';
      const gerrit = new GerritRestClient({ url: 'http://127.0.0.1:1', username: 'smokestack', password, retries: 1, backoff: fast });
      const error = await gerrit.getChange('nova~1').then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error?.message).to.match(/^gerrit: http:\/\/127\.0\.0\.1:1: GET \/changes\/nova~1: ECONNREFUSED \(after 2 tries\)$/);
      const everything = `${String(error)} ${error?.stack} ${inspect(error, { depth: 10, showHidden: true })}`;
      expect(everything).not.to.include(password);
      expect(everything).not.to.include(Buffer.from(`smokestack:${password}`).toString('base64'));
    });
  });

  describe('Launchpad', () => {
    let sim: LaunchpadSim;
    beforeEach(async () => {
      sim = new LaunchpadSim().addBug({ id: 100, tasks: [{ target: 'nova', importance: 'High' }] });
      await sim.start();
    });
    afterEach(async () => sim.stop());

    it('a passing 503 or reset connection is asked again, and the answer is found', async () => {
      for (const failure of ['error', 'reset'] as const) {
        sim.requests.length = 0;
        sim.failNext(failure);
        const lp = new LaunchpadClient({ url: sim.url, timeoutMs: 5000 });
        expect(await bugPriority(lp, 100, 'nova'), failure).to.include({ status: 'found', importance: 'High' });
        expect(sim.requests.filter((r) => r.endsWith('/bugs/100/bug_tasks')), failure).to.have.length(2);
      }
    });

    it('a 429 waits at least its Retry-After before asking again', async () => {
      sim.failNext('rate-limit');
      const waits: number[] = [];
      const http = new HttpClient({ timeoutMs: 5000, retry: { retries: 2, backoff: fast }, onRetry: (_why, delay) => waits.push(delay) });
      const response = await http.send({ method: 'GET', url: `${sim.url}/bugs/100` });
      expect(response.status).to.equal(200);
      expect(response.tries).to.equal(2);
      expect(waits).to.have.length(1);
      expect(waits[0]).to.be.at.least(1000);
    });

    it('a call with no answer before its deadline is tried again only when it is safe to send twice', async () => {
      sim.failure = 'hang';
      const http = new HttpClient({ timeoutMs: 200, retry: { retries: 2, backoff: fast } });
      for (const method of ['POST', 'GET'] as const) {
        sim.requests.length = 0;
        const error = await http.send({ method, url: `${sim.url}/bugs/100` }).then(
          () => undefined,
          (err: Error) => err,
        );
        expect((error as HttpNetworkError).timedOut, method).to.equal(true);
        expect((error as HttpNetworkError).tries, method).to.equal(method === 'POST' ? 1 : 3);
      }
    });

    it('an abort during the wait between tries ends the call without another try', async () => {
      sim.failure = 'error';
      const stop = new AbortController();
      const http = new HttpClient({ timeoutMs: 5000, retry: { retries: 3, backoff: { baseMs: 600_000, maxMs: 600_000 } }, onRetry: () => stop.abort() });
      const error = await http.send({ method: 'GET', url: `${sim.url}/bugs/100`, signal: stop.signal }).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error).to.be.instanceOf(HttpNetworkError);
      expect((error as HttpNetworkError).aborted).to.equal(true);
      expect(sim.requests).to.have.length(1);
    });
  });

  describe('OpenStack', () => {
    let sim: OpenStackSimulator;
    let output: string;
    let logger: Logger;
    beforeEach(async () => {
      sim = await OpenStackSimulator.start();
      output = '';
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
      logger = new Logger({ stream, verbose: true, tty: false });
    });
    afterEach(async () => sim.stop());

    const session = () =>
      new OpenStackSession(
        loadCloudConfig({
          env: { OS_AUTH_URL: sim.authUrl, OS_USERNAME: 'demo', OS_PASSWORD: 'demo-secret', OS_PROJECT_NAME: 'demo', OS_REGION_NAME: 'RegionOne' },
        }),
        { logger, now: () => new Date(), backoff: fast },
      );

    it('a read answered 503, 429 or dropped is retried; Keystone’s token request too', async () => {
      sim.failNext({ status: 503, path: /auth\/tokens/ }, { status: 503, method: 'GET' }, { drop: true, method: 'GET' }, { status: 429, retryAfterSeconds: 0, method: 'GET' });
      const res = await session().request('compute', { method: 'GET', path: '/flavors', operation: 'listing flavors' });
      expect(res.status).to.equal(200);
      expect(sim.requests.map((r) => `${r.service}:${r.status}`)).to.deep.equal(['identity:503', 'identity:201', 'compute:503', 'compute:0', 'compute:429', 'compute:200']);
      expect(output).to.match(/openstack: listing flavors: HTTP 503; retrying in \d+ ms/);
    });

    it('a server create answered 503 is not sent again: a second request could make a second server', async () => {
      sim.failNext({ status: 503, method: 'POST', path: /^\/servers$/ });
      const nova = new NovaClient(session());
      const request = { name: 'g1-web', imageRef: 'i', flavorRef: 'f', key_name: 'k', user_data: '', networks: 'auto' as const, metadata: {}, tags: [] };
      const error = await nova.createServer(request).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error).to.be.instanceOf(OpenStackApiError);
      expect(error!.message).to.equal('openstack: creating server g1-web: injected fault (HTTP 503)');
      expect(sim.requests.filter((r) => r.method === 'POST' && r.path === '/servers')).to.have.length(1);
    });

    it('an unreachable Keystone is named without the password', async () => {
      const cloud = session();
      await sim.stop();
      const error = await cloud.authenticate().then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error?.message).to.match(/^openstack: Keystone at http:\/\/127\.0\.0\.1:\d+\/\S*v3\/auth\/tokens is unreachable: ECONNREFUSED$/);
      expect(`${error?.stack} ${inspect(error, { depth: 10, showHidden: true })} ${output}`).not.to.include('demo-secret');
    });
  });
});
