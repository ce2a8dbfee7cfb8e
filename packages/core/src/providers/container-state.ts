import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InfraError, UserError, isUserError } from '../errors.js';
import { acquireLock } from '../store/lock.js';

/**
 * Machine-wide: every container of every store and user on this machine is recorded here, because
 * they share one bridge and one address range. A container's directory is written before any of
 * its pieces exists and removed after the last is gone, so a crash at any point leaves a record.
 */
export const CONTAINER_ROOT = '/var/lib/smokestack/containers';

/**
 * The lower half of 10.213.0.0/24, the one range these machines may use: the machine keeps .1 on
 * the bridge, hosts get .2-.126. The upper half stays free for other test networks on the machine.
 */
export const CONTAINER_SUBNET = { prefix: '10.213.0', network: '10.213.0.0', bits: 25, bridgeAddress: '10.213.0.1', first: 2, last: 126 } as const;
export const CONTAINER_BRIDGE = 'smokestack0';

/** What `container.json` records about one container host. */
export interface ContainerRecord {
  id: string;
  /** The store it belongs to (its location: a file or a database URL), and the store's directory on this machine. */
  store: string;
  storeDir: string;
  group: string;
  host: string;
  address: string;
  image: { name: string; key: string; rootfs: string };
  runtime: 'nspawn';
  createdAt: string;
  /** The runtime's supervisor process, once started. */
  pid?: number;
}

/** The kernel and file-system objects of one container, all derived from its id. */
export interface ContainerNames {
  dir: string;
  /** Network namespace, nspawn machine name. */
  netns: string;
  /** Host side of the veth pair (at most 15 characters). */
  veth: string;
  upper: string;
  work: string;
  rootfs: string;
  console: string;
}

const ID = /^ss-[0-9a-f]{8}$/;

export function newContainerId(): string {
  return `ss-${randomBytes(4).toString('hex')}`;
}

export function isContainerId(id: string): boolean {
  return ID.test(id);
}

export function containerNames(id: string, root = CONTAINER_ROOT): ContainerNames {
  if (!isContainerId(id)) throw new InfraError(`not a container id: ${JSON.stringify(id)}`);
  const dir = path.join(root, id);
  return {
    dir,
    netns: id,
    veth: `ssv${id.slice(3)}`,
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    rootfs: path.join(dir, 'rootfs'),
    console: path.join(dir, 'console.log'),
  };
}

/** Pure: the lowest free address of the range, or undefined when all are taken. */
export function pickAddress(used: Iterable<string>): string | undefined {
  const taken = new Set(used);
  for (let n = CONTAINER_SUBNET.first; n <= CONTAINER_SUBNET.last; n++) {
    const address = `${CONTAINER_SUBNET.prefix}.${n}`;
    if (!taken.has(address)) return address;
  }
  return undefined;
}

/** Pure: the devices other than the bridge whose IPv4 networks overlap the containers' range, from `ip -4 -o addr show` lines. */
export function overlappingDevices(lines: readonly string[]): string[] {
  const ours = { start: ipv4(CONTAINER_SUBNET.network), bits: CONTAINER_SUBNET.bits };
  const found = new Set<string>();
  for (const line of lines) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (!m || m[1] === CONTAINER_BRIDGE) continue;
    const bits = Number(m[3]);
    // Two CIDR blocks overlap exactly when the shorter prefix contains the other's network address.
    const shorter = Math.min(bits, ours.bits);
    if (network(ipv4(m[2]!), shorter) === network(ours.start, shorter)) found.add(`${m[1]} (${m[2]}/${bits})`);
  }
  return [...found];
}

function ipv4(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function network(address: number, bits: number): number {
  return bits === 0 ? 0 : Math.floor(address / 2 ** (32 - bits));
}

/** The container records on this machine (directories without a readable record are listed with what is known). */
export function listContainerRecords(root = CONTAINER_ROOT): Array<ContainerRecord | { id: string; broken: true; createdAt: string }> {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isContainerId(e.name))
    .map((e) => readContainerRecord(e.name, root) ?? { id: e.name, broken: true as const, createdAt: fs.statSync(path.join(root, e.name)).mtime.toISOString() });
}

export function readContainerRecord(id: string, root = CONTAINER_ROOT): ContainerRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(containerNames(id, root).dir, 'container.json'), 'utf8')) as ContainerRecord;
  } catch {
    return undefined;
  }
}

export function writeContainerRecord(record: ContainerRecord, root = CONTAINER_ROOT): void {
  const { dir } = containerNames(record.id, root);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'container.json');
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * Serialises address allocation and bridge creation and removal across every process on the
 * machine; a holder that died (SIGKILL) is recognised at once and its lock taken over.
 */
export async function withNetworkLock<T>(fn: () => Promise<T>, root = CONTAINER_ROOT): Promise<T> {
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  let release: () => void;
  try {
    release = await acquireLock(path.join(root, 'network'), { timeoutMs: 120_000 });
  } catch (err) {
    if (!isUserError(err)) throw err;
    throw new UserError(`the container network of this machine is locked by another process`, { hint: `if no firestack is running, remove ${path.join(root, 'network.lock')}` });
  }
  try {
    return await fn();
  } finally {
    release();
  }
}

/** The image root file systems containers on this machine run on (an image in use must not be removed). */
export function imageRootfsInUse(root = CONTAINER_ROOT): string[] {
  try {
    return listContainerRecords(root).flatMap((c) => ('image' in c ? [c.image.rootfs] : []));
  } catch {
    return [];
  }
}
