import fs from 'node:fs';
import https from 'node:https';
import { InfraError, UserError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { HttpClient, type HttpResponse } from '../net/http.js';
import type { BackoffOptions } from '../net/retry.js';
import { cloudSecrets, type CloudConfig, type EndpointInterface } from './openstack-config.js';

export interface CatalogEndpoint {
  id?: string;
  interface: string;
  region_id?: string;
  region?: string;
  url: string;
}

export interface CatalogService {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

export interface KeystoneToken {
  id: string;
  expiresAt: Date;
  catalog: CatalogService[];
  projectId?: string;
}

export interface EndpointChoice {
  type: string;
  interface: EndpointInterface;
  region?: string;
}

/**
 * Picks the endpoint URL from a Keystone catalog: exact service `type`, then `interface`,
 * then region (`region_id` or the older `region`). Without a region there must be one match.
 */
export function selectEndpoint(catalog: CatalogService[], choice: EndpointChoice): string {
  const services = catalog.filter((s) => s.type === choice.type);
  if (services.length === 0) {
    const types = [...new Set(catalog.map((s) => s.type))].join(', ');
    throw new UserError(`the cloud's catalog has no "${choice.type}" service`, { hint: `catalog types: ${types || 'none'}` });
  }
  const endpoints = services.flatMap((s) => s.endpoints).filter((e) => e.interface.replace(/URL$/, '') === choice.interface);
  if (endpoints.length === 0) throw new UserError(`the cloud's "${choice.type}" service has no ${choice.interface} endpoint`);
  const regionOf = (e: CatalogEndpoint) => e.region_id ?? e.region;
  if (choice.region) {
    const match = endpoints.find((e) => regionOf(e) === choice.region);
    if (!match) {
      const regions = [...new Set(endpoints.map(regionOf))].join(', ');
      throw new UserError(`the cloud's "${choice.type}" service has no ${choice.interface} endpoint in region ${choice.region}`, {
        hint: `regions: ${regions}`,
      });
    }
    return match.url.replace(/\/+$/, '');
  }
  const regions = [...new Set(endpoints.map(regionOf))];
  if (regions.length > 1) {
    throw new UserError(`the cloud's "${choice.type}" service has endpoints in several regions (${regions.join(', ')})`, {
      hint: 'set region_name in clouds.yaml or OS_REGION_NAME',
    });
  }
  return endpoints[0]!.url.replace(/\/+$/, '');
}

/** The message an OpenStack API put in an error body, whatever the service's wrapper key. */
export function apiErrorMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim().split('\n')[0] || undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  if (typeof record.message === 'string') return record.message;
  for (const value of Object.values(record)) {
    if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
      return (value as { message: string }).message;
    }
  }
  return undefined;
}

/** An OpenStack API answered with an error status. */
export class OpenStackApiError extends InfraError {
  constructor(
    readonly status: number,
    readonly apiMessage: string,
    readonly operation: string,
  ) {
    super(`${operation}: ${apiMessage} (HTTP ${status})`);
  }
}

export interface SessionOptions {
  logger: Logger;
  now: () => Date;
  requestTimeoutMs?: number;
  /** Refresh a token this long before Keystone says it expires. */
  expiryMarginMs?: number;
  /** Compute microversion sent on every Nova call, e.g. "2.79". */
  computeMicroversion?: string;
  /** Tries after the first on a connection error, 429 or 5xx of an idempotent call (default 4). */
  retries?: number;
  backoff?: BackoffOptions;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the service endpoint, e.g. /servers/ID. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** What the call does, for error messages (e.g. "creating server g1-web"). */
  operation: string;
  signal?: AbortSignal;
  /** A POST that is safe to send twice (a read such as the console log). */
  idempotent?: boolean;
}

/**
 * A Keystone v3 session for one cloud: authenticates with a password or an application
 * credential, reuses the token until shortly before it expires, re-authenticates once on 401,
 * and sends requests to catalog endpoints chosen by type, interface and region.
 */
export class OpenStackSession {
  private readonly http: HttpClient;
  private token?: KeystoneToken;
  private pending?: Promise<KeystoneToken>;

  constructor(
    readonly cloud: CloudConfig,
    private options: SessionOptions,
  ) {
    for (const secret of cloudSecrets(cloud)) options.logger.addSecret(secret);
    const tls: https.AgentOptions = cloud.verify ? { ca: cloud.cacert ? fs.readFileSync(cloud.cacert) : undefined } : { rejectUnauthorized: false };
    this.http = new HttpClient({
      timeoutMs: options.requestTimeoutMs ?? 30_000,
      retry: { retries: options.retries ?? 4, backoff: options.backoff ?? { baseMs: 500, maxMs: 10_000 }, maxRetryAfterMs: 60_000 },
      httpsAgent: new https.Agent({ keepAlive: true, ...tls }),
      headers: { Accept: 'application/json' },
      maxRedirects: 0,
      onRetry: (why, delay) => this.options.logger.debug(`openstack: ${why}; retrying in ${delay} ms`),
    });
  }

  /** Points the session's logging and clock at the current caller (sessions outlive one call). */
  attach(logger: Logger, now: () => Date): void {
    this.options.logger = logger;
    this.options.now = now;
    for (const secret of cloudSecrets(this.cloud)) logger.addSecret(secret);
    if (this.token) logger.addSecret(this.token.id);
  }

  private get identityUrl(): string {
    const base = this.cloud.auth.authUrl.replace(/\/+$/, '');
    return /\/v3$/.test(base) ? base : `${base}/v3`;
  }

  /** A valid token, authenticating when there is none or it is about to expire. */
  async authenticate(signal?: AbortSignal): Promise<KeystoneToken> {
    const margin = this.options.expiryMarginMs ?? 60_000;
    if (this.token && this.token.expiresAt.getTime() - margin > this.options.now().getTime()) return this.token;
    this.pending ??= this.issueToken(signal).finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets the token, e.g. after a 401. */
  invalidate(): void {
    this.token = undefined;
  }

  private async issueToken(signal?: AbortSignal): Promise<KeystoneToken> {
    const a = this.cloud.auth;
    const domain = (name?: string, id?: string) => (id ? { id } : { name: name ?? 'Default' });
    let auth: Record<string, unknown>;
    if (this.cloud.authType === 'v3applicationcredential') {
      const credential: Record<string, unknown> = { secret: a.applicationCredentialSecret };
      if (a.applicationCredentialId) credential.id = a.applicationCredentialId;
      else {
        credential.name = a.applicationCredentialName;
        credential.user = a.userId ? { id: a.userId } : { name: a.username, domain: domain(a.userDomainName, a.userDomainId) };
      }
      auth = { identity: { methods: ['application_credential'], application_credential: credential } };
    } else {
      const user = a.userId
        ? { id: a.userId, password: a.password }
        : { name: a.username, domain: domain(a.userDomainName, a.userDomainId), password: a.password };
      const project = a.projectId ? { id: a.projectId } : { name: a.projectName, domain: domain(a.projectDomainName, a.projectDomainId) };
      auth = { identity: { methods: ['password'], password: { user } }, scope: { project } };
    }
    const url = `${this.identityUrl}/auth/tokens`;
    this.options.logger.debug(`openstack: authenticating to ${url} as ${a.username ?? a.userId ?? a.applicationCredentialId ?? a.applicationCredentialName} (cloud ${this.cloud.name})`);
    let response: HttpResponse;
    try {
      // Issuing a token twice only leaves one unused: safe to retry.
      response = await this.http.send({ method: 'POST', url, body: { auth }, signal, idempotent: true, label: `POST ${url}` });
    } catch (err) {
      throw new InfraError(`openstack: Keystone at ${url} is unreachable: ${errorMessage(err)}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new UserError(`openstack: Keystone refused the credentials of cloud "${this.cloud.name}" (${this.cloud.source}) (HTTP ${response.status})`, {
        hint: 'check the user, project, domains and password or application credential',
      });
    }
    const data = jsonBody(response);
    const id = response.headers['x-subject-token'];
    const token = (data as { token?: { expires_at?: string; catalog?: CatalogService[]; project?: { id?: string } } } | undefined)?.token;
    if (response.status !== 201 || typeof id !== 'string' || !token) {
      throw new InfraError(`openstack: Keystone at ${url} answered HTTP ${response.status}: ${apiErrorMessage(data) ?? 'no token'}`);
    }
    this.options.logger.addSecret(id);
    const expiresAt = token.expires_at ? new Date(token.expires_at) : new Date(this.options.now().getTime() + 3_600_000);
    this.token = { id, expiresAt, catalog: token.catalog ?? [], projectId: token.project?.id };
    return this.token;
  }

  /** The URL of a service endpoint chosen by the cloud's interface and region. */
  async endpoint(type: string, signal?: AbortSignal): Promise<string> {
    const token = await this.authenticate(signal);
    return selectEndpoint(token.catalog, { type, interface: this.cloud.interface, region: this.cloud.regionName });
  }

  /**
   * Calls a service; answers with the status and body. 404 is returned, other error statuses
   * throw OpenStackApiError. A 401 re-authenticates once.
   */
  async request<T = unknown>(service: string, req: ApiRequest): Promise<{ status: number; body: T; headers: Record<string, unknown> }> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.authenticate(req.signal);
      const base = selectEndpoint(token.catalog, { type: service, interface: this.cloud.interface, region: this.cloud.regionName });
      const headers: Record<string, string> = { 'X-Auth-Token': token.id };
      if (service === 'compute' && this.options.computeMicroversion) {
        headers['OpenStack-API-Version'] = `compute ${this.options.computeMicroversion}`;
        headers['X-OpenStack-Nova-API-Version'] = this.options.computeMicroversion;
      }
      let response: HttpResponse;
      try {
        response = await this.http.send({ method: req.method, url: `${base}${req.path}`, query: req.query, body: req.body, headers, signal: req.signal, idempotent: req.idempotent, label: req.operation });
      } catch (err) {
        if (req.signal?.aborted) throw new InfraError(`openstack: ${req.operation}: stopped`);
        throw new InfraError(`openstack: ${req.operation}: ${service} endpoint ${base} is unreachable: ${errorMessage(err)}`);
      }
      const data = jsonBody(response);
      if (response.status === 401 && attempt === 0) {
        this.options.logger.debug(`openstack: token refused by ${service}; authenticating again`);
        if (this.token?.id === token.id) this.invalidate();
        continue;
      }
      if (response.status >= 400 && response.status !== 404) {
        throw new OpenStackApiError(response.status, apiErrorMessage(data) ?? `HTTP ${response.status}`, `openstack: ${req.operation}`);
      }
      return { status: response.status, body: data as T, headers: response.headers };
    }
  }
}

/** The answer's JSON, or its text when it is not JSON (an HTML error page from a proxy). */
function jsonBody(response: HttpResponse): unknown {
  if (response.text === '') return undefined;
  try {
    return JSON.parse(response.text);
  } catch {
    return response.text;
  }
}
