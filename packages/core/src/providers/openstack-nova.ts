import { UserError } from '../errors.js';
import type { OpenStackSession } from './openstack-auth.js';

export interface NovaAddress {
  addr: string;
  version: number;
  'OS-EXT-IPS:type'?: 'fixed' | 'floating' | string;
}

export interface NovaServer {
  id: string;
  name: string;
  status: string;
  created?: string;
  addresses?: Record<string, NovaAddress[]>;
  metadata?: Record<string, string>;
  tags?: string[];
  key_name?: string | null;
  fault?: { code?: number; message?: string; details?: string };
}

export interface NovaKeypair {
  name: string;
  public_key?: string;
  fingerprint?: string;
  created_at?: string;
}

export interface NovaFlavor {
  id: string;
  name: string;
}

export interface ServerCreateRequest {
  name: string;
  imageRef: string;
  flavorRef: string;
  key_name: string;
  /** Already base64-encoded. */
  user_data: string;
  networks: 'auto' | 'none' | Array<{ uuid: string }>;
  metadata: Record<string, string>;
  tags: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Nova (plus the Glance and Neutron look-ups a server create needs) over an authenticated session. */
export class NovaClient {
  constructor(private readonly session: OpenStackSession) {}

  async createServer(server: ServerCreateRequest, signal?: AbortSignal): Promise<{ id: string }> {
    const { body } = await this.session.request<{ server?: { id?: string } }>('compute', {
      method: 'POST',
      path: '/servers',
      body: { server },
      operation: `creating server ${server.name}`,
      signal,
    });
    const id = body?.server?.id;
    if (!id) throw new UserError(`openstack: creating server ${server.name}: Nova answered without a server id`);
    return { id };
  }

  /** The server, or undefined once it is gone (404). */
  async getServer(id: string, signal?: AbortSignal): Promise<NovaServer | undefined> {
    const { status, body } = await this.session.request<{ server: NovaServer }>('compute', {
      method: 'GET',
      path: `/servers/${encodeURIComponent(id)}`,
      operation: `reading server ${id}`,
      signal,
    });
    return status === 404 ? undefined : body.server;
  }

  /** Requests deletion; false when the server was already gone. */
  async deleteServer(id: string, signal?: AbortSignal): Promise<boolean> {
    const { status } = await this.session.request('compute', {
      method: 'DELETE',
      path: `/servers/${encodeURIComponent(id)}`,
      operation: `deleting server ${id}`,
      signal,
    });
    return status !== 404;
  }

  async listServers(query: { tags?: string; name?: string } = {}, signal?: AbortSignal): Promise<NovaServer[]> {
    const { body } = await this.session.request<{ servers?: NovaServer[] }>('compute', {
      method: 'GET',
      path: '/servers/detail',
      query: query as Record<string, string>,
      operation: 'listing servers',
      signal,
    });
    return body?.servers ?? [];
  }

  /** The server's console log (cloud-init prints the SSH host keys there). */
  async getConsoleOutput(id: string, signal?: AbortSignal): Promise<string | undefined> {
    const { status, body } = await this.session.request<{ output?: string }>('compute', {
      method: 'POST',
      path: `/servers/${encodeURIComponent(id)}/action`,
      body: { 'os-getConsoleOutput': { length: 500 } },
      operation: `reading the console of server ${id}`,
      idempotent: true,
      signal,
    });
    return status === 404 ? undefined : body?.output;
  }

  async createKeypair(name: string, publicKey: string, signal?: AbortSignal): Promise<void> {
    await this.session.request('compute', {
      method: 'POST',
      path: '/os-keypairs',
      body: { keypair: { name, public_key: publicKey } },
      operation: `uploading keypair ${name}`,
      signal,
    });
  }

  async deleteKeypair(name: string, signal?: AbortSignal): Promise<boolean> {
    const { status } = await this.session.request('compute', {
      method: 'DELETE',
      path: `/os-keypairs/${encodeURIComponent(name)}`,
      operation: `deleting keypair ${name}`,
      signal,
    });
    return status !== 404;
  }

  async listKeypairs(signal?: AbortSignal): Promise<NovaKeypair[]> {
    const { body } = await this.session.request<{ keypairs?: Array<{ keypair: NovaKeypair }> }>('compute', {
      method: 'GET',
      path: '/os-keypairs',
      operation: 'listing keypairs',
      signal,
    });
    return (body?.keypairs ?? []).map((k) => k.keypair);
  }

  async getKeypair(name: string, signal?: AbortSignal): Promise<NovaKeypair | undefined> {
    const { status, body } = await this.session.request<{ keypair: NovaKeypair }>('compute', {
      method: 'GET',
      path: `/os-keypairs/${encodeURIComponent(name)}`,
      operation: `reading keypair ${name}`,
      signal,
    });
    return status === 404 ? undefined : body.keypair;
  }

  /** A flavor id from a name or id. */
  async resolveFlavor(ref: string, signal?: AbortSignal): Promise<string> {
    const { body } = await this.session.request<{ flavors?: NovaFlavor[] }>('compute', {
      method: 'GET',
      path: '/flavors/detail',
      operation: 'listing flavors',
      signal,
    });
    const flavors = body?.flavors ?? [];
    const match = flavors.find((f) => f.id === ref) ?? flavors.find((f) => f.name === ref);
    if (!match) throw new UserError(`openstack: flavor "${ref}" does not exist`, { hint: `flavors: ${flavors.map((f) => f.name).join(', ')}` });
    return match.id;
  }

  /** An image id from a name (looked up in Glance) or an id. */
  async resolveImage(ref: string, signal?: AbortSignal): Promise<string> {
    const query: Record<string, string> = UUID.test(ref) ? { id: ref } : { name: ref };
    const { body } = await this.session.request<{ images?: Array<{ id: string; name: string }> }>('image', {
      method: 'GET',
      path: '/v2/images',
      query,
      operation: `looking up image ${ref}`,
      signal,
    });
    const images = body?.images ?? [];
    if (images.length === 0) throw new UserError(`openstack: image "${ref}" does not exist`);
    if (images.length > 1) throw new UserError(`openstack: image name "${ref}" is ambiguous (${images.length} images)`, { hint: 'use the image id' });
    return images[0]!.id;
  }

  /** A network's id and name from a name or id (looked up in Neutron). */
  async resolveNetwork(ref: string, signal?: AbortSignal): Promise<{ id: string; name: string }> {
    const query: Record<string, string> = UUID.test(ref) ? { id: ref } : { name: ref };
    const { body } = await this.session.request<{ networks?: Array<{ id: string; name: string }> }>('network', {
      method: 'GET',
      path: '/v2.0/networks',
      query,
      operation: `looking up network ${ref}`,
      signal,
    });
    const networks = body?.networks ?? [];
    if (networks.length === 0) throw new UserError(`openstack: network "${ref}" does not exist`);
    if (networks.length > 1) throw new UserError(`openstack: network name "${ref}" is ambiguous (${networks.length} networks)`, { hint: 'use the network id' });
    return networks[0]!;
  }
}

export interface AddressChoice {
  /** fixed or floating; without it a floating address is preferred. */
  addressType?: 'fixed' | 'floating';
  /** 4 or 6; without it IPv4 is preferred. */
  ipVersion?: 4 | 6;
  /** Only addresses on this network (by name). */
  network?: string;
}

/** Picks the address to reach a server by, as the group definition asks. Undefined when none fits. */
export function pickServerAddress(addresses: Record<string, NovaAddress[]> | undefined, choice: AddressChoice = {}): string | undefined {
  const entries = Object.entries(addresses ?? {}).filter(([net]) => !choice.network || net === choice.network);
  const all = entries.flatMap(([, list]) => list);
  const typeOf = (a: NovaAddress) => a['OS-EXT-IPS:type'] ?? 'fixed';
  const candidates = all.filter((a) => (!choice.addressType || typeOf(a) === choice.addressType) && (!choice.ipVersion || a.version === choice.ipVersion));
  const rank = (a: NovaAddress) => (typeOf(a) === 'floating' ? 0 : 2) + (a.version === 4 ? 0 : 1);
  return [...candidates].sort((x, y) => rank(x) - rank(y))[0]?.addr;
}

/** Host keys cloud-init printed between its BEGIN/END SSH HOST KEY KEYS markers. */
export function parseConsoleHostKeys(output: string): Array<{ type: string; key: string }> {
  const begin = output.lastIndexOf('-----BEGIN SSH HOST KEY KEYS-----');
  if (begin < 0) return [];
  const end = output.indexOf('-----END SSH HOST KEY KEYS-----', begin);
  if (end < 0) return [];
  const keys: Array<{ type: string; key: string }> = [];
  for (const line of output.slice(begin, end).split('\n').slice(1)) {
    const m = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com)\s+([A-Za-z0-9+/]+={0,2})(?:\s|$)/.exec(line.trim());
    if (m) keys.push({ type: m[1]!, key: m[2]! });
  }
  return keys;
}
