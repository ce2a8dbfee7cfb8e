import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError, UserError } from '../errors.js';
import { findProgram, runChecked, runCommand, spawnDetached } from '../machine/command.js';
import {
  CONTAINER_BRIDGE,
  CONTAINER_ROOT,
  CONTAINER_SUBNET,
  containerNames,
  listContainerRecords,
  overlappingDevices,
  pickAddress,
  readContainerRecord,
  withNetworkLock,
  writeContainerRecord,
  type ContainerRecord,
} from './container-state.js';

/** A file written into a container's own layer before it boots. */
export interface ContainerFile {
  path: string;
  content: string;
  mode: number;
}

export interface ContainerStart {
  id: string;
  store: string;
  storeDir: string;
  group: string;
  host: string;
  image: { name: string; key: string; rootfs: string };
  files: ContainerFile[];
  createdAt: string;
}

/** A container as `list` finds it: its record, or only its id when the record is unreadable. */
export type FoundContainer = ContainerRecord | { id: string; broken: true; createdAt: string };

/**
 * How container hosts are run. Each host is a booted Linux system with its own root file system
 * (copy-on-write over an image), processes, hostname and network namespace on the group bridge.
 * `nspawn` is the one there is; a rootless runtime (podman) would implement the same calls.
 */
export interface ContainerRuntime {
  readonly name: 'nspawn';
  /** Why containers cannot run here (one line naming what to install or do), or undefined. */
  unavailable(): Promise<string | undefined>;
  /** Creates and boots one container; its record is written before any piece of it exists. */
  start(spec: ContainerStart): Promise<ContainerRecord>;
  /** Removes every piece of a container, and the bridge with the last one; idempotent. */
  remove(id: string): Promise<void>;
  /** Every container on this machine, whoever made it. */
  list(): Promise<FoundContainer[]>;
  /** The bridge when no container uses it (a remove that was killed before it got there). */
  strayBridge(): Promise<string | undefined>;
  removeBridgeIfUnused(): Promise<void>;
}

/**
 * systemd-nspawn (package systemd-container): the container manager built for booting an OS tree
 * in namespaces — it sets up /dev, /proc, /sys, the console and capability limits that a hand-made
 * unshare+chroot would have to reproduce. Run with `--register=no --keep-unit`, it needs no systemd
 * on the machine itself; the overlay layer and network namespace are ours, so everything it runs
 * on is visible to `list` and `remove` even after the process that made it was killed.
 */
export class NspawnRuntime implements ContainerRuntime {
  readonly name = 'nspawn' as const;

  constructor(private readonly root = CONTAINER_ROOT) {}

  async unavailable(): Promise<string | undefined> {
    if (process.getuid?.() !== 0) return 'systemd-nspawn needs root: run firestack as root (rootless podman is not supported yet)';
    for (const [tool, pkg] of [
      ['systemd-nspawn', 'systemd-container'],
      ['ip', 'iproute2'],
    ] as const) {
      if (!findProgram(tool)) return `${tool} is not installed: install the ${pkg} package (Debian, Ubuntu: apt-get install ${pkg}; Fedora: dnf install ${pkg})`;
    }
    if (!/\boverlay\b/.test(readOr('/proc/filesystems'))) return 'the kernel has no overlay file system: load it with modprobe overlay';
    return undefined;
  }

  async start(spec: ContainerStart): Promise<ContainerRecord> {
    const names = containerNames(spec.id, this.root);
    const record = await withNetworkLock(async () => {
      const used = (await this.list()).flatMap((c) => ('address' in c ? [c.address] : []));
      const address = pickAddress(used);
      if (!address) throw new InfraError(`no free address left in ${CONTAINER_SUBNET.network}/${CONTAINER_SUBNET.bits}: delete unused groups (firestack group sweep)`);
      const made: ContainerRecord = { id: spec.id, store: spec.store, storeDir: spec.storeDir, group: spec.group, host: spec.host, address, image: spec.image, runtime: 'nspawn', createdAt: spec.createdAt };
      writeContainerRecord(made, this.root);
      await ensureBridge();
      return made;
    }, this.root);
    await this.plugIn(record);
    await mountLayer(spec.image.rootfs, names);
    for (const file of spec.files) writeInto(names.rootfs, file);
    const pid = await spawnDetached(nspawnArgs(record, names.rootfs), names.console);
    const started = { ...record, pid };
    writeContainerRecord(started, this.root);
    return started;
  }

  /**
   * The container's network namespace, with its end of a veth pair on the bridge (two `ip -batch` runs).
   * This machine may still hold a neighbour (ARP) entry for the address, naming the MAC of a container
   * removed moments ago while other containers kept the bridge: until it expired, SSH's first packets
   * went to that MAC and nowhere (first contact took about 20 s instead of 2). It is flushed first, on its
   * own: a flush can fail when the kernel expires the entry between listing and deleting it, and the
   * container is no worse off for that.
   */
  private async plugIn(record: ContainerRecord): Promise<void> {
    const { netns, veth } = containerNames(record.id, this.root);
    await runCommand(['ip', 'neigh', 'flush', 'to', record.address, 'dev', CONTAINER_BRIDGE]);
    await ipBatch([], [
      ['netns', 'add', netns],
      ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns],
      ['link', 'set', veth, 'master', CONTAINER_BRIDGE, 'up'],
    ]);
    await ipBatch(['-n', netns], [
      ['addr', 'add', `${record.address}/${CONTAINER_SUBNET.bits}`, 'dev', 'eth0'],
      ['link', 'set', 'eth0', 'up'],
      ['link', 'set', 'lo', 'up'],
    ]);
  }

  async remove(id: string): Promise<void> {
    const names = containerNames(id, this.root);
    const record = readContainerRecord(id, this.root);
    await killContainer(names.netns, record?.pid);
    await unmount(names.rootfs);
    if (fs.existsSync(path.join('/run/netns', names.netns))) await runChecked(['ip', 'netns', 'del', names.netns]);
    if (fs.existsSync(path.join('/sys/class/net', names.veth))) await runCommand(['ip', 'link', 'del', names.veth]);
    fs.rmSync(path.join('/run/systemd/nspawn/propagate', names.netns), { recursive: true, force: true });
    // In one step: a directory half removed would list as a broken container to this process meanwhile.
    fs.rmSync(names.dir, { recursive: true, force: true });
    await this.removeBridgeIfUnused();
  }

  async list(): Promise<FoundContainer[]> {
    return listContainerRecords(this.root);
  }

  async strayBridge(): Promise<string | undefined> {
    return fs.existsSync(path.join('/sys/class/net', CONTAINER_BRIDGE)) && listContainerRecords(this.root).length === 0 ? CONTAINER_BRIDGE : undefined;
  }

  async removeBridgeIfUnused(): Promise<void> {
    await withNetworkLock(async () => {
      if (listContainerRecords(this.root).length > 0) return;
      if (fs.existsSync(path.join('/sys/class/net', CONTAINER_BRIDGE))) await runChecked(['ip', 'link', 'del', CONTAINER_BRIDGE]);
    }, this.root);
  }
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The machine's side of the container network: one bridge holding the range's first address. */
async function ensureBridge(): Promise<void> {
  const range = `${CONTAINER_SUBNET.network}/${CONTAINER_SUBNET.bits}`;
  const shown = (await runChecked(['ip', '-4', '-o', 'addr', 'show'])).split('\n').filter(Boolean);
  const taken = overlappingDevices(shown);
  if (taken.length > 0) throw new UserError(`${range} is already in use on this machine by ${taken.join(', ')}`, { hint: 'container groups need that range to themselves' });
  const ready = shown.some((l) => l.includes(` ${CONTAINER_BRIDGE} `) && l.includes(` ${CONTAINER_SUBNET.bridgeAddress}/${CONTAINER_SUBNET.bits} `));
  if (ready && readOr(path.join('/sys/class/net', CONTAINER_BRIDGE, 'operstate')).trim() !== 'down') return;
  const exists = fs.existsSync(path.join('/sys/class/net', CONTAINER_BRIDGE));
  await ipBatch([], [
    ...(exists ? [] : [['link', 'add', CONTAINER_BRIDGE, 'type', 'bridge']]),
    // A bridge an older version left with the whole /24 is given the range's address anew.
    ...(exists && !ready ? [['addr', 'flush', 'dev', CONTAINER_BRIDGE]] : []),
    ...(ready ? [] : [['addr', 'add', `${CONTAINER_SUBNET.bridgeAddress}/${CONTAINER_SUBNET.bits}`, 'dev', CONTAINER_BRIDGE]]),
    ['link', 'set', CONTAINER_BRIDGE, 'up'],
  ]);
}

/** Several `ip` commands in one process; any that fails fails the whole (`ip -batch` stops at the first error). */
async function ipBatch(options: string[], commands: string[][]): Promise<void> {
  // Every word is a name or an address of our own making: no quoting is ever needed in a batch line.
  const input = `${commands.map((c) => c.join(' ')).join('\n')}\n`;
  const result = await runCommand(['ip', ...options, '-batch', '-'], { stdin: input });
  if (result.code !== 0) throw new InfraError(`ip ${[...options, '-batch'].join(' ')} failed: ${result.stderr.trim().split('\n').pop() ?? `exit ${result.code}`}`);
}

/** The container's root: an overlay whose lower layer is the image, whose changes go to its own upper layer. */
async function mountLayer(image: string, names: ReturnType<typeof containerNames>): Promise<void> {
  for (const dir of [names.upper, names.work, names.rootfs]) fs.mkdirSync(dir, { recursive: true });
  await runChecked(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${image},upperdir=${names.upper},workdir=${names.work}`, names.rootfs]);
}

function writeInto(rootfs: string, file: ContainerFile): void {
  const target = path.join(rootfs, path.posix.normalize(`/${file.path}`));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.rmSync(target, { force: true });
  fs.writeFileSync(target, file.content, { mode: file.mode });
  fs.chmodSync(target, file.mode);
}

function nspawnArgs(record: ContainerRecord, rootfs: string): string[] {
  return [
    'systemd-nspawn',
    '--quiet',
    '--register=no',
    '--keep-unit',
    `--directory=${rootfs}`,
    `--machine=${record.id}`,
    `--hostname=${record.host}`,
    `--network-namespace-path=/run/netns/${record.id}`,
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    '--console=read-only',
    '--boot',
  ];
}

/**
 * Kills the supervisor and every process in the container's network namespace (its init first:
 * the kernel then ends the rest of its pid namespace), and waits until none is left.
 */
async function killContainer(netns: string, supervisor: number | undefined): Promise<void> {
  if (supervisor && isSupervisorOf(supervisor, netns)) killPid(supervisor);
  if (!fs.existsSync(path.join('/run/netns', netns))) return;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const pids = pidsInNamespace(netns);
    if (pids.length === 0) return;
    for (const pid of pids) killPid(pid);
    if (Date.now() > deadline) throw new InfraError(`container ${netns}: processes ${pids.join(', ')} survive SIGKILL`);
    await sleep(50);
  }
}

/**
 * The processes in a named network namespace, as `ip netns pids` finds them (the namespace file's device
 * and inode against each process's), without starting a program every time the teardown polls.
 */
export function pidsInNamespace(netns: string): number[] {
  let target: fs.Stats;
  try {
    target = fs.statSync(path.join('/run/netns', netns));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ns = fs.statSync(`/proc/${entry}/ns/net`);
      if (ns.ino === target.ino && ns.dev === target.dev) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

/** Only ever kill a pid that is still our nspawn for this container (pids are reused). */
function isSupervisorOf(pid: number, machine: string): boolean {
  const argv = readOr(`/proc/${pid}/cmdline`).split('\0');
  return argv[0]?.endsWith('systemd-nspawn') === true && argv.includes(`--machine=${machine}`);
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Unmounts the container's root, retrying while the last of its processes are still exiting. */
async function unmount(dir: string): Promise<void> {
  for (let attempt = 1; isMountPoint(dir); attempt++) {
    const result = await runCommand(['umount', dir]);
    if (result.code === 0) continue;
    if (attempt >= 50) throw new InfraError(`umount ${dir}: ${result.stderr.trim() || `exit ${result.code}`}`);
    await sleep(100);
  }
}

/** Whether a directory is a mount point of this mount namespace (the kernel's own table, not df). */
export function isMountPoint(dir: string): boolean {
  const escaped = dir.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return readOr('/proc/self/mountinfo')
    .split('\n')
    .some((line) => line.split(' ')[4] === escaped);
}
