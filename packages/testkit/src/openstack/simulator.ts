import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A user Keystone accepts for password auth. */
export interface SimUser {
  name: string;
  password: string;
  domain?: string;
  project: string;
  projectDomain?: string;
}

/** An application credential Keystone accepts (auth_type v3applicationcredential). */
export interface SimApplicationCredential {
  id: string;
  name?: string;
  secret: string;
  user: string;
  project: string;
}

export interface SimFault {
  code: number;
  message: string;
}

/** A passing failure of one request: an error status (with Retry-After on 429) or a connection dropped unanswered. */
export interface SimTransientFault {
  status?: 429 | 500 | 502 | 503 | 504;
  retryAfterSeconds?: number;
  drop?: boolean;
  /** Only a request of this method (default any). */
  method?: string;
  /** Only a request whose path below its service matches (default any). */
  path?: RegExp;
}

export interface SimAddresses {
  fixed?: string;
  fixed6?: string;
  floating?: string;
}

export interface OpenStackSimulatorOptions {
  users?: SimUser[];
  applicationCredentials?: SimApplicationCredential[];
  /** Regions in the catalog; each has public and internal compute, image and network endpoints. */
  regions?: string[];
  tokenTtlMs?: number;
  /** How long a server stays in BUILD before going ACTIVE (or ERROR). */
  buildDelayMs?: number;
  /** How long a deleted server still answers GET before 404. */
  deleteDelayMs?: number;
  /** Delay before answering POST /servers (the server exists from the moment the request arrives). */
  createLatencyMs?: number | ((name: string) => number);
  /** Servers whose name matches go to ERROR after the build delay. */
  errorServers?: Array<{ pattern: RegExp | string; fault?: SimFault }>;
  /** Instance quota: creating more live servers than this answers 403. */
  maxServers?: number;
  /** Addresses per server (index counts servers created); defaults to 10.0.0.x, fd00::x and 172.24.4.x. */
  addresses?: (name: string, index: number) => SimAddresses;
  /** Attach a floating IP to every server (default true). */
  floatingIps?: boolean;
  maxMicroversion?: string;
  /** The console log `os-getConsoleOutput` returns (cloud-init prints SSH host keys there); default a boot log without keys. */
  consoleOutput?: (server: SimServer) => string;
}

export interface SimServer {
  id: string;
  name: string;
  region: string;
  imageRef: string;
  flavorRef: string;
  keyName?: string;
  userData?: string;
  metadata: Record<string, string>;
  tags: string[];
  network: string;
  createdAt: Date;
  ip: SimAddresses;
  fault?: SimFault;
  deleteRequestedAt?: Date;
  /** Set once the server answers 404. */
  deletedAt?: Date;
}

export interface SimKeypair {
  name: string;
  publicKey: string;
  fingerprint: string;
  createdAt: Date;
  deletedAt?: Date;
}

export interface SimRequest {
  method: string;
  /** Path below the service endpoint, e.g. /servers/ID (or /v3/auth/tokens for Keystone). */
  path: string;
  query: Record<string, string>;
  service: 'identity' | 'compute' | 'image' | 'network' | 'unknown';
  region?: string;
  interface?: string;
  microversion?: string;
  status: number;
  startedAt: number;
  finishedAt: number;
  /** The parsed JSON body; Keystone secrets are replaced by "***". */
  body?: unknown;
}

interface Token {
  id: string;
  expiresAt: Date;
  user: string;
  project: string;
}

/** One Nova call: what each collection's handler reads. */
interface ComputeCall {
  method: string;
  parts: string[];
  query: Record<string, string>;
  json: unknown;
  version: string;
  region: string;
  headers: Record<string, string>;
}

interface Route {
  service: SimRequest['service'];
  region?: string;
  iface?: string;
  rest: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

const FLAVORS = [
  { id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1 },
  { id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20 },
  { id: '3', name: 'm1.medium', ram: 4096, vcpus: 2, disk: 40 },
];

const IMAGES = [
  { id: 'a1b2c3d4-0000-4000-8000-000000000012', name: 'debian-12' },
  { id: 'a1b2c3d4-0000-4000-8000-000000000011', name: 'debian-11' },
];

const NETWORKS = [
  { id: 'c0ffee00-0000-4000-8000-000000000001', name: 'private' },
  { id: 'c0ffee00-0000-4000-8000-000000000002', name: 'ci-net' },
];

const ERROR_FAULT: SimFault = { code: 500, message: 'No valid host was found. There are not enough hosts available.' };

function parseVersion(v: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function versionAtLeast(v: string, min: string): boolean {
  const a = parseVersion(v)!;
  const b = parseVersion(min)!;
  return a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);
}

function keystoneTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function novaTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * An OpenStack cloud on 127.0.0.1 for tests: Keystone v3 tokens and catalog, Nova servers,
 * keypairs, flavors and images, Glance images, Neutron networks. Servers go BUILD → ACTIVE
 * (or ERROR) on a timer; deleted servers answer 404 after a delay. Everything is inspectable.
 */
export class OpenStackSimulator extends EventEmitter {
  readonly requests: SimRequest[] = [];
  private readonly tokens = new Map<string, Token>();
  private readonly faults: SimTransientFault[] = [];
  private readonly serverList: SimServer[] = [];
  private readonly keypairList: SimKeypair[] = [];
  private readonly options: Required<Omit<OpenStackSimulatorOptions, 'maxServers' | 'addresses' | 'createLatencyMs' | 'consoleOutput'>> &
    Pick<OpenStackSimulatorOptions, 'maxServers' | 'addresses' | 'createLatencyMs' | 'consoleOutput'>;
  private server?: http.Server;
  private port = 0;
  private created = 0;

  private constructor(options: OpenStackSimulatorOptions) {
    super();
    this.options = {
      users: options.users ?? [{ name: 'demo', password: 'demo-secret', domain: 'Default', project: 'demo', projectDomain: 'Default' }],
      applicationCredentials: options.applicationCredentials ?? [],
      regions: options.regions ?? ['RegionOne', 'RegionTwo'],
      tokenTtlMs: options.tokenTtlMs ?? 3_600_000,
      buildDelayMs: options.buildDelayMs ?? 200,
      deleteDelayMs: options.deleteDelayMs ?? 100,
      errorServers: options.errorServers ?? [],
      floatingIps: options.floatingIps ?? true,
      maxMicroversion: options.maxMicroversion ?? '2.96',
      maxServers: options.maxServers,
      addresses: options.addresses,
      createLatencyMs: options.createLatencyMs,
      consoleOutput: options.consoleOutput,
    };
  }

  static async start(options: OpenStackSimulatorOptions = {}): Promise<OpenStackSimulator> {
    const sim = new OpenStackSimulator(options);
    sim.server = http.createServer((req, res) => void sim.handle(req, res));
    await new Promise<void>((resolve) => sim.server!.listen(0, '127.0.0.1', resolve));
    sim.port = (sim.server.address() as AddressInfo).port;
    return sim;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The Keystone auth_url for clouds.yaml / OS_AUTH_URL. */
  get authUrl(): string {
    return `${this.url}/identity/v3`;
  }

  /** The URL a catalog endpoint has, e.g. endpointUrl('compute', 'RegionOne', 'public'). */
  endpointUrl(type: 'compute' | 'image' | 'network', region: string, iface: 'public' | 'internal' | 'admin' = 'public'): string {
    const suffix = type === 'compute' ? '/v2.1' : '';
    return `${this.url}/${region}/${iface}/${type}${suffix}`;
  }

  /** Every server ever created, including deleted ones (deletedAt set once they answer 404). */
  servers(): SimServer[] {
    this.settle();
    return [...this.serverList];
  }

  /** Servers that still exist. */
  liveServers(): SimServer[] {
    return this.servers().filter((s) => !s.deletedAt);
  }

  keypairs(): SimKeypair[] {
    return [...this.keypairList];
  }

  liveKeypairs(): SimKeypair[] {
    return this.keypairList.filter((k) => !k.deletedAt);
  }

  /** Invalidates every issued token (the next call with one answers 401). */
  expireTokens(): void {
    for (const token of this.tokens.values()) token.expiresAt = new Date(0);
  }

  /** Adds a server directly, e.g. one created by hand or by another tool, optionally backdated. */
  addServer(init: { name: string; tags?: string[]; metadata?: Record<string, string>; createdAt?: Date; region?: string }): SimServer {
    const server = this.newServer({
      name: init.name,
      region: init.region ?? this.options.regions[0]!,
      imageRef: IMAGES[0]!.id,
      flavorRef: FLAVORS[0]!.id,
      metadata: init.metadata ?? {},
      tags: init.tags ?? [],
      network: NETWORKS[0]!.name,
    });
    if (init.createdAt) server.createdAt = init.createdAt;
    return server;
  }

  /** Adds a keypair directly (optionally backdated). */
  addKeypair(name: string, createdAt = new Date()): SimKeypair {
    const keypair = { name, publicKey: 'ssh-ed25519 AAAA sim', fingerprint: fingerprint(), createdAt };
    this.keypairList.push(keypair);
    return keypair;
  }

  private newServer(init: Omit<SimServer, 'id' | 'createdAt' | 'ip'>): SimServer {
    const index = this.created++;
    const n = (index % 240) + 10;
    const defaults: SimAddresses = {
      fixed: `10.0.0.${n}`,
      fixed6: `fd00::${n.toString(16)}`,
      floating: this.options.floatingIps ? `172.24.4.${n}` : undefined,
    };
    const custom = this.options.addresses?.(init.name, index) ?? {};
    const server: SimServer = { ...init, id: randomUUID(), createdAt: new Date(), ip: { ...defaults, ...custom } };
    if (!this.options.floatingIps && !custom.floating) delete server.ip.floating;
    this.serverList.push(server);
    return server;
  }

  /** Marks servers whose delete delay has passed as gone. */
  private settle(): void {
    const now = Date.now();
    for (const s of this.serverList) {
      if (s.deleteRequestedAt && !s.deletedAt && now - s.deleteRequestedAt.getTime() >= this.options.deleteDelayMs) {
        s.deletedAt = new Date(s.deleteRequestedAt.getTime() + this.options.deleteDelayMs);
      }
    }
  }

  private status(server: SimServer): 'BUILD' | 'ACTIVE' | 'ERROR' {
    if (Date.now() - server.createdAt.getTime() < this.options.buildDelayMs) return 'BUILD';
    return server.fault ? 'ERROR' : 'ACTIVE';
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams.entries());
    const route = this.route(url.pathname);
    const entry: SimRequest = {
      method: req.method ?? 'GET',
      path: route.rest,
      query,
      service: route.service,
      region: route.region,
      interface: route.iface,
      status: 0,
      startedAt: Date.now(),
      finishedAt: 0,
    };
    const fault = this.takeFault(entry);
    if (fault?.drop) {
      req.socket.destroy();
      entry.finishedAt = Date.now();
      this.requests.push(entry);
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (fault?.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
    const [status, body] = fault?.status ? [fault.status, { computeFault: { code: fault.status, message: 'injected fault' } }] : await this.serve(req, route, query, entry, headers);
    entry.status = status;
    const text = body === undefined ? '' : JSON.stringify(body);
    if (text === '') delete headers['content-type'];
    res.writeHead(status, headers);
    res.end(text, () => {
      entry.finishedAt = Date.now();
      this.requests.push(entry);
      this.emit('request', entry, body);
    });
  }

  /** Answers one request from the simulated services; errors become their API's error bodies. */
  private async serve(req: http.IncomingMessage, route: Route, query: Record<string, string>, entry: SimRequest, headers: Record<string, string>): Promise<[number, unknown]> {
    try {
      const raw = await readBody(req);
      let json: unknown;
      if (raw.length > 0) {
        try {
          json = JSON.parse(raw);
        } catch {
          throw new HttpError(400, { badRequest: { code: 400, message: 'Malformed request body' } });
        }
      }
      entry.body = route.service === 'identity' ? redactAuth(json) : json;
      if (route.service === 'identity') return this.identity(entry.method, route.rest, json, headers);
      this.authenticate(req);
      if (route.service === 'compute') {
        const version = this.microversion(req);
        entry.microversion = version;
        headers['openstack-api-version'] = `compute ${version}`;
        headers['x-openstack-nova-api-version'] = version;
        headers['vary'] = 'OpenStack-API-Version, X-OpenStack-Nova-API-Version';
        return await this.compute(entry.method, route.rest, query, json, version, route.region!, headers);
      }
      if (route.service === 'image') return this.image(entry.method, route.rest, query);
      if (route.service === 'network') return this.network(entry.method, route.rest, query);
      throw notFound('Not Found');
    } catch (err) {
      if (err instanceof HttpError) return [err.status, err.body];
      return [500, { computeFault: { code: 500, message: String(err) } }];
    }
  }

  /** The first injected fault this request matches, consumed. */
  private takeFault(entry: SimRequest): SimTransientFault | undefined {
    const index = this.faults.findIndex((f) => (!f.method || f.method === entry.method) && (!f.path || f.path.test(entry.path)));
    return index < 0 ? undefined : this.faults.splice(index, 1)[0];
  }

  /** The next requests that match fail once each, as given (a passing outage). */
  failNext(...faults: SimTransientFault[]): this {
    this.faults.push(...faults);
    return this;
  }


  private route(pathname: string): Route {
    if (pathname.startsWith('/identity/')) return { service: 'identity', rest: pathname.slice('/identity'.length) };
    const m = /^\/([^/]+)\/(public|internal|admin)\/(compute|image|network)(\/.*)?$/.exec(pathname);
    if (!m || !this.options.regions.includes(m[1]!)) return { service: 'unknown', rest: pathname };
    let rest = m[4] ?? '/';
    if (m[3] === 'compute') {
      if (!rest.startsWith('/v2.1')) return { service: 'unknown', rest: pathname };
      rest = rest.slice('/v2.1'.length) || '/';
    }
    return { service: m[3] as Route['service'], region: m[1], iface: m[2], rest };
  }

  private authenticate(req: http.IncomingMessage): Token {
    const id = req.headers['x-auth-token'];
    const token = typeof id === 'string' ? this.tokens.get(id) : undefined;
    if (!token || token.expiresAt.getTime() <= Date.now()) {
      throw new HttpError(401, {
        error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
      });
    }
    return token;
  }

  private microversion(req: http.IncomingMessage): string {
    const header = req.headers['openstack-api-version'];
    const legacy = req.headers['x-openstack-nova-api-version'];
    let requested: string | undefined;
    if (typeof header === 'string') {
      const m = /(?:^|,)\s*compute\s+([^,\s]+)/i.exec(header);
      requested = m?.[1];
    } else if (typeof legacy === 'string') requested = legacy.trim();
    if (!requested) return '2.1';
    if (requested === 'latest') return this.options.maxMicroversion;
    const parsed = parseVersion(requested);
    if (!parsed || !versionAtLeast(requested, '2.1') || !versionAtLeast(this.options.maxMicroversion, requested)) {
      throw new HttpError(406, {
        computeFault: {
          code: 406,
          message: `Version ${requested} is not supported by the API. Minimum is 2.1 and maximum is ${this.options.maxMicroversion}.`,
        },
      });
    }
    return requested;
  }

  // --- Keystone -----------------------------------------------------------------------------

  private identity(method: string, rest: string, json: unknown, headers: Record<string, string>): [number, unknown] {
    if (rest === '/v3' || rest === '/v3/') {
      return [200, { version: { id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: this.authUrl }] } }];
    }
    if (rest !== '/v3/auth/tokens' || method !== 'POST') throw notFound('The resource could not be found.');
    const auth = (json as { auth?: AuthRequest } | undefined)?.auth;
    const methods = auth?.identity?.methods ?? [];
    let user: string | undefined;
    let project: string | undefined;
    if (methods.includes('password')) {
      const u = auth?.identity?.password?.user;
      const domain = u?.domain?.name ?? u?.domain?.id ?? 'Default';
      const match = this.options.users.find(
        (c) => c.name === u?.name && c.password === u?.password && (c.domain ?? 'Default') === domain,
      );
      if (match) {
        const scope = auth?.scope?.project;
        const scopeDomain = scope?.domain?.name ?? scope?.domain?.id ?? 'Default';
        if (!scope || scope.name !== match.project || scopeDomain !== (match.projectDomain ?? 'Default')) {
          throw new HttpError(401, {
            error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
          });
        }
        [user, project] = [match.name, match.project];
      }
    } else if (methods.includes('application_credential')) {
      const c = auth?.identity?.application_credential;
      const match = this.options.applicationCredentials.find((a) => (a.id === c?.id || (c?.name && a.name === c.name)) && a.secret === c?.secret);
      if (match) [user, project] = [match.user, match.project];
    }
    if (!user || !project) {
      throw new HttpError(401, {
        error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
      });
    }
    const token: Token = {
      id: `gAAAAA${randomBytes(24).toString('base64url')}`,
      expiresAt: new Date(Date.now() + this.options.tokenTtlMs),
      user,
      project,
    };
    this.tokens.set(token.id, token);
    headers['x-subject-token'] = token.id;
    return [
      201,
      {
        token: {
          methods,
          expires_at: keystoneTime(token.expiresAt),
          issued_at: keystoneTime(new Date()),
          user: { id: `u-${user}`, name: user, domain: { id: 'default', name: 'Default' } },
          project: { id: `p-${project}`, name: project, domain: { id: 'default', name: 'Default' } },
          roles: [{ id: 'r-member', name: 'member' }],
          catalog: this.catalog(),
        },
      },
    ];
  }

  private catalog(): unknown[] {
    const endpoints = (type: 'compute' | 'image' | 'network') =>
      this.options.regions.flatMap((region) =>
        (['public', 'internal'] as const).map((iface) => ({
          id: `${type}-${region}-${iface}`,
          interface: iface,
          region_id: region,
          region,
          url: this.endpointUrl(type, region, iface),
        })),
      );
    return [
      // A look-alike service listed first, so only an exact type match picks Nova.
      {
        type: 'compute_legacy',
        name: 'nova_legacy',
        id: 'svc-nova-legacy',
        endpoints: [{ id: 'legacy', interface: 'public', region_id: this.options.regions[0], region: this.options.regions[0], url: `${this.url}/legacy/v2` }],
      },
      { type: 'identity', name: 'keystone', id: 'svc-keystone', endpoints: this.options.regions.map((r) => ({ id: `id-${r}`, interface: 'public', region_id: r, region: r, url: this.authUrl })) },
      { type: 'compute', name: 'nova', id: 'svc-nova', endpoints: endpoints('compute') },
      { type: 'image', name: 'glance', id: 'svc-glance', endpoints: endpoints('image') },
      { type: 'network', name: 'neutron', id: 'svc-neutron', endpoints: endpoints('network') },
    ];
  }

  // --- Nova ---------------------------------------------------------------------------------

  private async compute(
    method: string,
    rest: string,
    query: Record<string, string>,
    json: unknown,
    version: string,
    region: string,
    headers: Record<string, string>,
  ): Promise<[number, unknown]> {
    this.settle();
    const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
    const call: ComputeCall = { method, parts, query, json, version, region, headers };
    switch (parts[0]) {
      case 'servers':
        return this.serverCalls(call);
      case 'os-keypairs':
        return this.keypairCalls(call);
      case 'flavors':
        return this.flavorCalls(call);
      case 'images':
        return this.imageCalls(call);
      default:
        throw notFound('The resource could not be found.');
    }
  }

  private async serverCalls({ method, parts, query, json, version, region, headers }: ComputeCall): Promise<[number, unknown]> {
    const [, id, sub] = parts;
    if (method === 'POST' && parts.length === 1) return this.createServer(json, version, region, headers);
    if (method === 'GET' && parts.length === 1) return [200, { servers: this.filterServers(query).map((s) => this.serverSummary(s)) }];
    if (method === 'GET' && id === 'detail') return [200, { servers: this.filterServers(query).map((s) => this.serverDetail(s, version)) }];
    const server = this.serverList.find((s) => s.id === id && !s.deletedAt);
    if (!server) throw notFound(`Instance ${id} could not be found.`);
    if (method === 'GET' && parts.length === 2) return [200, { server: this.serverDetail(server, version) }];
    if (method === 'DELETE' && parts.length === 2) {
      server.deleteRequestedAt ??= new Date();
      return [204, undefined];
    }
    if (method === 'GET' && sub === 'tags' && versionAtLeast(version, '2.26')) return [200, { tags: server.tags }];
    if (method === 'POST' && sub === 'action' && (json as Record<string, unknown> | undefined)?.['os-getConsoleOutput'] !== undefined) {
      const output = this.options.consoleOutput?.(server) ?? `[    0.000000] Linux version 6.1.0-18-cloud-amd64\nCloud-init v. 22.4.2 running 'init' at ${server.createdAt.toUTCString()}\n`;
      return [200, { output }];
    }
    throw notFound('The resource could not be found.');
  }

  private keypairCalls({ method, parts, json }: ComputeCall): [number, unknown] {
    const id = parts[1];
    if (method === 'POST' && parts.length === 1) return this.createKeypair(json);
    if (method === 'GET' && parts.length === 1) {
      return [200, { keypairs: this.liveKeypairs().map((k) => ({ keypair: { name: k.name, public_key: k.publicKey, fingerprint: k.fingerprint, type: 'ssh' } })) }];
    }
    const keypair = this.liveKeypairs().find((k) => k.name === id);
    if (!keypair) throw notFound(`Keypair ${id} not found for user u-demo`);
    if (method === 'GET') {
      return [200, { keypair: { name: keypair.name, public_key: keypair.publicKey, fingerprint: keypair.fingerprint, type: 'ssh', created_at: novaTime(keypair.createdAt).replace('Z', '.000000'), deleted: false, id: 1, user_id: 'u-demo' } }];
    }
    if (method === 'DELETE') {
      keypair.deletedAt = new Date();
      return [202, undefined];
    }
    throw notFound('The resource could not be found.');
  }

  private flavorCalls({ method, parts }: ComputeCall): [number, unknown] {
    const id = parts[1];
    if (method === 'GET' && parts.length === 1) return [200, { flavors: FLAVORS.map((f) => ({ id: f.id, name: f.name, links: [] })) }];
    if (method === 'GET' && id === 'detail') return [200, { flavors: FLAVORS.map((f) => ({ ...f, links: [], 'OS-FLV-EXT-DATA:ephemeral': 0, swap: 0, 'os-flavor-access:is_public': true })) }];
    const flavor = FLAVORS.find((f) => f.id === id);
    if (flavor && method === 'GET') return [200, { flavor: { ...flavor, links: [] } }];
    throw notFound(`Flavor ${id} could not be found.`);
  }

  private imageCalls({ method, parts, query, version }: ComputeCall): [number, unknown] {
    const id = parts[1];
    // The image proxy API is gone from microversion 2.36 on; Glance answers instead.
    if (versionAtLeast(version, '2.36')) throw notFound('The resource could not be found.');
    const list = IMAGES.filter((i) => !query.name || i.name === query.name);
    if (method === 'GET' && (parts.length === 1 || id === 'detail')) return [200, { images: list.map((i) => ({ ...i, status: 'ACTIVE', links: [] })) }];
    const image = IMAGES.find((i) => i.id === id);
    if (image) return [200, { image: { ...image, status: 'ACTIVE', links: [] } }];
    throw notFound('Image not found.');
  }

  private async createServer(json: unknown, version: string, region: string, headers: Record<string, string>): Promise<[number, unknown]> {
    const { body, metadata, network } = validServerRequest(json, version, this.liveKeypairs());
    this.checkInstanceQuota();
    const server = this.newServer({
      name: body.name,
      region,
      imageRef: body.imageRef,
      flavorRef: body.flavorRef,
      keyName: body.key_name as string | undefined,
      userData: body.user_data as string | undefined,
      metadata: metadata as Record<string, string>,
      tags: (body.tags as string[] | undefined) ?? [],
      network,
    });
    const error = this.options.errorServers.find((e) => (typeof e.pattern === 'string' ? server.name.includes(e.pattern) : e.pattern.test(server.name)));
    if (error) server.fault = error.fault ?? ERROR_FAULT;
    this.emit('server-created', server);
    const latency = typeof this.options.createLatencyMs === 'function' ? this.options.createLatencyMs(server.name) : (this.options.createLatencyMs ?? 0);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    const self = `${this.endpointUrl('compute', region)}/servers/${server.id}`;
    headers['location'] = self;
    return [
      202,
      {
        server: {
          id: server.id,
          links: [
            { rel: 'self', href: self },
            { rel: 'bookmark', href: self.replace('/v2.1', '') },
          ],
          adminPass: randomBytes(9).toString('base64url'),
          'OS-DCF:diskConfig': 'MANUAL',
          security_groups: [{ name: 'default' }],
        },
      },
    ];
  }

  /** Refuses a create beyond the instance quota, as Nova does with 403. */
  private checkInstanceQuota(): void {
    if (this.options.maxServers === undefined) return;
    const used = this.serverList.filter((s) => !s.deletedAt && !s.deleteRequestedAt).length;
    if (used + 1 > this.options.maxServers) {
      throw new HttpError(403, {
        forbidden: { message: `Quota exceeded for instances: Requested 1, but already used ${used} of ${this.options.maxServers} instances`, code: 403 },
      });
    }
  }

  private createKeypair(json: unknown): [number, unknown] {
    const body = (json as { keypair?: { name?: unknown; public_key?: unknown } } | undefined)?.keypair;
    if (!body || typeof body.name !== 'string' || !/^[A-Za-z0-9 _.@-]{1,255}$/.test(body.name)) {
      throw new HttpError(400, { badRequest: { code: 400, message: 'Keypair data is invalid: Keypair name contains unsafe characters' } });
    }
    if (typeof body.public_key !== 'string' || !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) [A-Za-z0-9+/=]+/.test(body.public_key)) {
      throw new HttpError(400, { badRequest: { code: 400, message: 'Keypair data is invalid: failed to generate fingerprint' } });
    }
    if (this.liveKeypairs().some((k) => k.name === body.name)) {
      throw new HttpError(409, { conflictingRequest: { code: 409, message: `Key pair '${body.name}' already exists.` } });
    }
    const keypair: SimKeypair = { name: body.name, publicKey: body.public_key, fingerprint: fingerprint(), createdAt: new Date() };
    this.keypairList.push(keypair);
    return [200, { keypair: { name: keypair.name, public_key: keypair.publicKey, fingerprint: keypair.fingerprint, user_id: 'u-demo', type: 'ssh' } }];
  }

  private filterServers(query: Record<string, string>): SimServer[] {
    return this.serverList.filter((s) => {
      if (s.deletedAt) return false;
      if (query.name && !new RegExp(query.name).test(s.name)) return false;
      if (query.tags && !query.tags.split(',').every((t) => s.tags.includes(t))) return false;
      if (query['tags-any'] && !query['tags-any'].split(',').some((t) => s.tags.includes(t))) return false;
      if (query.status && this.status(s) !== query.status.toUpperCase()) return false;
      return true;
    });
  }

  private serverSummary(s: SimServer): unknown {
    return { id: s.id, name: s.name, links: [{ rel: 'self', href: `${this.endpointUrl('compute', s.region)}/servers/${s.id}` }] };
  }

  private serverDetail(s: SimServer, version: string): Record<string, unknown> {
    const status = this.status(s);
    const addresses: Record<string, unknown[]> = {};
    if (status !== 'BUILD' && status !== 'ERROR') {
      const mac = 'fa:16:3e:00:00:01';
      const list: unknown[] = [];
      if (s.ip.fixed) list.push({ addr: s.ip.fixed, version: 4, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': mac });
      if (s.ip.fixed6) list.push({ addr: s.ip.fixed6, version: 6, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': mac });
      if (s.ip.floating) list.push({ addr: s.ip.floating, version: 4, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': mac });
      addresses[s.network] = list;
    }
    const detail: Record<string, unknown> = {
      id: s.id,
      name: s.name,
      status,
      'OS-EXT-STS:vm_state': status === 'BUILD' ? 'building' : status === 'ERROR' ? 'error' : 'active',
      'OS-EXT-STS:task_state': s.deleteRequestedAt ? 'deleting' : status === 'BUILD' ? 'spawning' : null,
      created: novaTime(s.createdAt),
      updated: novaTime(new Date()),
      tenant_id: 'p-demo',
      user_id: 'u-demo',
      key_name: s.keyName ?? null,
      metadata: s.metadata,
      addresses,
      image: { id: s.imageRef, links: [] },
      flavor: { id: s.flavorRef, links: [] },
      accessIPv4: '',
      accessIPv6: '',
      links: [{ rel: 'self', href: `${this.endpointUrl('compute', s.region)}/servers/${s.id}` }],
      'OS-EXT-AZ:availability_zone': 'nova',
    };
    if (versionAtLeast(version, '2.26')) detail.tags = s.tags;
    if (status === 'ERROR' && s.fault) detail.fault = { code: s.fault.code, message: s.fault.message, created: novaTime(new Date()) };
    return detail;
  }

  // --- Glance and Neutron -------------------------------------------------------------------

  private image(method: string, rest: string, query: Record<string, string>): [number, unknown] {
    if (method === 'GET' && rest === '/v2/images') {
      const list = IMAGES.filter((i) => (!query.name || i.name === query.name) && (!query.id || i.id === query.id));
      return [200, { images: list.map((i) => ({ ...i, status: 'active', visibility: 'public' })), first: '/v2/images', schema: '/v2/schemas/images' }];
    }
    const m = /^\/v2\/images\/([^/]+)$/.exec(rest);
    const image = m && IMAGES.find((i) => i.id === m[1]);
    if (method === 'GET' && image) return [200, { ...image, status: 'active', visibility: 'public' }];
    throw new HttpError(404, { message: 'Not Found' });
  }

  private network(method: string, rest: string, query: Record<string, string>): [number, unknown] {
    if (method === 'GET' && rest === '/v2.0/networks') {
      const list = NETWORKS.filter((n) => (!query.name || n.name === query.name) && (!query.id || n.id === query.id));
      return [200, { networks: list.map((n) => ({ ...n, status: 'ACTIVE', admin_state_up: true, subnets: [] })) }];
    }
    throw new HttpError(404, { NeutronError: { type: 'HTTPNotFound', message: 'The resource could not be found.', detail: '' } });
  }
}

interface AuthRequest {
  identity?: {
    methods?: string[];
    password?: { user?: { name?: string; password?: string; domain?: { name?: string; id?: string } } };
    application_credential?: { id?: string; name?: string; secret?: string };
  };
  scope?: { project?: { name?: string; domain?: { name?: string; id?: string } } };
}

function notFound(message: string): HttpError {
  return new HttpError(404, { itemNotFound: { code: 404, message } });
}

function fingerprint(): string {
  return [...randomBytes(16)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function isBase64(value: string): boolean {
  return value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
}

function redactAuth(json: unknown): unknown {
  return JSON.parse(JSON.stringify(json ?? null, (key, value) => (key === 'password' || key === 'secret') && typeof value === 'string' ? '***' : value));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The body of POST /servers as Nova checks it at the given microversion; 400 with Nova's words otherwise. */
function validServerRequest(json: unknown, version: string, keypairs: SimKeypair[]): { body: Record<string, unknown> & { name: string; imageRef: string; flavorRef: string }; metadata: Record<string, unknown>; network: string } {
  const body = (json as { server?: Record<string, unknown> } | undefined)?.server;
  const bad = (message: string) => new HttpError(400, { badRequest: { code: 400, message } });
  if (!body || typeof body.name !== 'string' || body.name.length === 0) throw bad("Invalid input for field/attribute server. Value: None. 'name' is a required property");
  if (typeof body.flavorRef !== 'string' || !FLAVORS.some((f) => f.id === body.flavorRef)) throw bad(`Flavor ${String(body.flavorRef)} could not be found.`);
  if (typeof body.imageRef !== 'string' || !IMAGES.some((i) => i.id === body.imageRef)) throw bad(`Can not find requested image`);
  if (body.key_name !== undefined && !keypairs.some((k) => k.name === body.key_name)) throw bad('Invalid key_name provided.');
  if (body.user_data !== undefined) {
    if (typeof body.user_data !== 'string' || !isBase64(body.user_data)) throw bad('User data needs to be valid base 64.');
  }
  if (body.personality !== undefined && versionAtLeast(version, '2.57')) {
    throw bad("Invalid input for field/attribute server. Additional properties are not allowed ('personality' was unexpected)");
  }
  if (body.tags !== undefined) {
    if (!versionAtLeast(version, '2.52')) throw bad("Invalid input for field/attribute server. Additional properties are not allowed ('tags' was unexpected)");
    const tags = body.tags;
    if (!Array.isArray(tags) || tags.length > 50 || tags.some((t) => typeof t !== 'string' || t.length === 0 || t.length > 60 || /[/,]/.test(t))) {
      throw bad('Invalid input for field/attribute tags.');
    }
  }
  const metadata = (body.metadata ?? {}) as Record<string, unknown>;
  if (typeof metadata !== 'object' || Object.values(metadata).some((v) => typeof v !== 'string' || v.length > 255)) {
    throw bad('Invalid input for field/attribute metadata.');
  }
  let network = NETWORKS[0]!.name;
  if (body.networks === undefined && versionAtLeast(version, '2.37')) throw bad("Invalid input for field/attribute server. 'networks' is a required property");
  if (Array.isArray(body.networks)) {
    const uuid = (body.networks[0] as { uuid?: string } | undefined)?.uuid;
    const match = NETWORKS.find((n) => n.id === uuid);
    if (uuid !== undefined && !match) throw bad(`Network ${uuid} could not be found.`);
    if (match) network = match.name;
  }
  return { body: body as Record<string, unknown> & { name: string; imageRef: string; flavorRef: string }, metadata, network };
}
