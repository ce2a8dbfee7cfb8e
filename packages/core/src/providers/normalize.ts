import os from 'node:os';
import { UserError } from '../errors.js';
import type { GroupDefinition } from '../config/schema.js';

/** One host of a group definition after both shapes (ours and Kytoon's) are reduced to one. */
export interface HostSpec {
  name: string;
  roles: string[];
  gateway: boolean;
  address?: string;
  port?: number;
  user?: string;
  identityFile?: string;
  knownHosts?: string;
  resetCommand?: string;
  workDir?: string;
  cloud?: string;
  image?: string;
  flavor?: string;
  network?: string;
  userData?: string;
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;
export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Turns a group definition (our `hosts[]` or Kytoon's `servers[]`) into a list of hosts with
 * group-level defaults applied, exactly one gateway (a lone host is the gateway) and unique
 * names. Errors are one line: `where: key.path: problem`.
 */
export function normalizeGroupDefinition(definition: GroupDefinition, where = 'group definition'): HostSpec[] {
  const { hosts, key } = readHosts(definition, where);
  checkUniqueNames(hosts, key, where);
  chooseGateway(hosts, key, where);
  const defaultUser = definition.provider === 'ssh' ? currentUser() : undefined;
  return hosts.map((host, i) => {
    const merged: HostSpec = {
      ...host,
      user: host.user ?? definition.user ?? defaultUser,
      identityFile: host.identityFile ?? definition.identityFile,
      knownHosts: host.knownHosts ?? definition.knownHosts,
      workDir: host.workDir ?? definition.workDir,
      cloud: host.cloud ?? definition.cloud,
      image: host.image ?? definition.image,
      flavor: host.flavor ?? definition.flavor,
      network: host.network ?? definition.network,
    };
    if (definition.provider === 'ssh') {
      if (!merged.address) {
        throw new UserError(`${where}: ${key}[${i}].${key === 'servers' ? 'ip_address' : 'address'}: the ssh provider needs the address of host "${host.name}"`);
      }
      merged.port ??= 22;
    }
    return dropUndefined(merged);
  });
}

type HostsKey = 'hosts' | 'servers';

/** The hosts of either shape, as HostSpecs before defaults. */
function readHosts(definition: GroupDefinition, where: string): { hosts: HostSpec[]; key: HostsKey } {
  if (definition.hosts && definition.servers) {
    throw new UserError(`${where}: servers: use either hosts (SmokeStack) or servers (Kytoon), not both`);
  }
  if (definition.hosts) return { hosts: definition.hosts.map((h) => ({ ...h, roles: [...h.roles] })), key: 'hosts' };
  if (!definition.servers) throw new UserError(`${where}: hosts: expected at least one host`, { hint: 'list the group under hosts: [{name: ...}]' });
  const hosts = definition.servers.map((server, i): HostSpec => {
    if (!HOST_NAME.test(server.hostname)) {
      throw new UserError(`${where}: servers[${i}].hostname: expected a host name (letters, digits, dots, dashes), got "${server.hostname}"`);
    }
    return {
      name: server.hostname,
      roles: server.roles ?? [],
      gateway: server.gateway === true || server.gateway === 'true',
      address: server.ip_address,
      image: server.image_ref === undefined ? undefined : String(server.image_ref),
      flavor: server.flavor_ref === undefined ? undefined : String(server.flavor_ref),
    };
  });
  return { hosts, key: 'servers' };
}

function checkUniqueNames(hosts: readonly HostSpec[], key: HostsKey, where: string): void {
  const seen = new Map<string, number>();
  hosts.forEach((host, i) => {
    const earlier = seen.get(host.name);
    if (earlier !== undefined) {
      throw new UserError(`${where}: ${key}[${i}].${key === 'servers' ? 'hostname' : 'name'}: duplicate host name "${host.name}" (also ${key}[${earlier}])`);
    }
    seen.set(host.name, i);
  });
}

/** Exactly one gateway: the one marked, or a lone host. */
function chooseGateway(hosts: HostSpec[], key: HostsKey, where: string): void {
  const gateways = hosts.flatMap((h, i) => (h.gateway ? [i] : []));
  if (gateways.length > 1) {
    throw new UserError(`${where}: ${key}[${gateways[1]}].gateway: more than one gateway (also ${key}[${gateways[0]}])`, {
      hint: 'a group has exactly one gateway',
    });
  }
  if (gateways.length > 0) return;
  if (hosts.length > 1) throw new UserError(`${where}: ${key}: no gateway among ${hosts.length} hosts`, { hint: 'mark exactly one host with gateway: true' });
  hosts[0]!.gateway = true;
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Checks a group name given on the command line or derived for a job. */
export function assertGroupName(name: string, where = '--name'): string {
  if (!GROUP_NAME.test(name)) {
    throw new UserError(`${where}: "${name}" is not a valid group name`, { hint: 'use letters, digits, _ . - and start with a letter or digit' });
  }
  return name;
}
