import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { cleanUpOnExit } from './exit.js';

const run = promisify(execFile);

/** One "machine" of a test network: a network namespace with its own address on the test bridge. */
export interface TestMachine {
  name: string;
  namespace: string;
  address: string;
  /**
   * The argv that runs `argv` inside this machine: its network namespace and a UTS namespace of its
   * own whose host name is the machine's name (the process keeps the pid it is given: every step execs).
   */
  command(argv: string[]): string[];
}

export interface TestNetwork {
  bridge: string;
  /** This host's address on the bridge: what the machines reach this host's servers at. */
  hostAddress: string;
  /** The network in CIDR notation (for a server's trusted networks). */
  cidr: string;
  machines: TestMachine[];
  /** Removes every namespace and the bridge (the machines' processes must be stopped first). */
  remove(): Promise<void>;
}

export interface TestNetworkOptions {
  machines: number;
  /**
   * The first three octets and the block of 10.213.0.0/24 to use (default 10.213.0.224/28: host .225,
   * machines from .226). A block narrower than the /24 routes past other tests' use of the rest of it.
   */
  prefix?: string;
  firstOctet?: number;
  bits?: number;
}

/** Creating namespaces and bridges needs root and iproute2. */
export function canCreateTestNetwork(): boolean {
  return process.getuid?.() === 0 && fs.existsSync('/usr/sbin/ip') && fs.existsSync('/usr/bin/unshare');
}

const ip = (...args: string[]) => run('ip', args);

/**
 * A bridge on this host and one network namespace per machine, each joined to the bridge by a veth
 * pair, all on a block of 10.213.0.0/24. Everything is removed by `remove()`, and when the test
 * process exits or is stopped by a signal, so a failing test leaves no namespace or bridge behind.
 */
export async function createTestNetwork(options: TestNetworkOptions): Promise<TestNetwork> {
  const prefix = options.prefix ?? '10.213.0';
  const base = options.firstOctet ?? 224;
  const bits = options.bits ?? 28;
  if (options.machines < 1 || options.machines > 2 ** (32 - bits) - 3) throw new Error(`createTestNetwork: ${options.machines} machines do not fit a /${bits}`);
  const tag = randomBytes(4).toString('hex');
  const bridge = `ssf${tag}`;
  const hostAddress = `${prefix}.${base + 1}`;
  const namespaces: string[] = [];
  const removeNow = () => {
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  };
  const cancelCleanup = cleanUpOnExit(removeNow);
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${hostAddress}/${bits}`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    const machines: TestMachine[] = [];
    for (let i = 0; i < options.machines; i++) machines.push(await addMachine(tag, i, bridge, `${prefix}.${base + 2 + i}`, bits, namespaces));
    return {
      bridge,
      hostAddress,
      cidr: `${prefix}.${base}/${bits}`,
      machines,
      async remove() {
        cancelCleanup();
        removeNow();
      },
    };
  } catch (err) {
    cancelCleanup();
    removeNow();
    throw err;
  }
}

async function addMachine(tag: string, index: number, bridge: string, address: string, bits: number, namespaces: string[]): Promise<TestMachine> {
  const name = `machine${index + 1}`;
  const namespace = `ssf-${tag}-${index + 1}`;
  const outside = `sfv${tag}${index + 1}`;
  const inside = `sfi${tag}${index + 1}`;
  await ip('netns', 'add', namespace);
  namespaces.push(namespace);
  await ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
  await ip('link', 'set', inside, 'netns', namespace);
  await ip('link', 'set', outside, 'master', bridge, 'up');
  await ip('-n', namespace, 'link', 'set', 'lo', 'up');
  await ip('-n', namespace, 'link', 'set', inside, 'name', 'eth0');
  await ip('-n', namespace, 'addr', 'add', `${address}/${bits}`, 'dev', 'eth0');
  await ip('-n', namespace, 'link', 'set', 'eth0', 'up');
  return {
    name,
    namespace,
    address,
    command: (argv) => ['ip', 'netns', 'exec', namespace, 'unshare', '--uts', '--', '/bin/sh', '-c', 'hostname "$0" && exec "$@"', name, ...argv],
  };
}
