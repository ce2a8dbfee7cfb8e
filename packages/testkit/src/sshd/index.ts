import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** One SSH test host: a real /usr/sbin/sshd on 127.0.0.1 with its own host key and working directory. */
export interface SshTestHost {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile: string;
  workDir: string;
  /** HOME of every session: a directory of this host's own, never the account's home with its shell start-up files. */
  home: string;
  hostPublicKey: string;
  /** `[127.0.0.1]:port ssh-ed25519 AAAA...`, as ssh-keyscan would print it. */
  knownHostsLine: string;
  /** sshd's own log (LogLevel VERBOSE). */
  logFile: string;
  /** A private /etc/hosts bind-mounted for this sshd's sessions (root only), else undefined. */
  etcHostsFile?: string;
  /** Starts sshd now (after a delayed start, or again after stop). */
  start(): Promise<void>;
  /** Kills sshd and everything it started at once, like a host that vanishes. */
  stop(): Promise<void>;
  /** SSH logins accepted so far, counted from the sshd log. */
  acceptedLogins(): number;
  /** Authorizes the client key (for hosts started with `authorize: false`). */
  authorize(): void;
  readonly running: boolean;
}

export interface SshTestHostOptions {
  name?: string;
  /** Start sshd this many seconds after startSshHosts returns (a booting host). */
  startDelaySeconds?: number;
  /** Never start sshd on its own (a host that never comes up, or one started later with start()). */
  noStart?: boolean;
  /** Start without the client key authorized ("auth refused" while a host boots); authorize() later. */
  authorize?: boolean;
  /** Authorize the client key this many seconds after start. */
  authorizeAfterSeconds?: number;
}

export interface StartSshHostsOptions {
  /** Number of hosts when `hosts` is not given (named host1..hostN). */
  count?: number;
  hosts?: SshTestHostOptions[];
  /** Give every sshd a private /etc/hosts via a mount namespace (default: when running as root). */
  isolateEtcHosts?: boolean;
  /**
   * Sessions find this directory where the account's home directory is (bind-mounted over it in
   * sshd's mount namespace; root only): lets a test give the account shell start-up files.
   */
  accountHome?: string;
  /** Listen here instead of 127.0.0.1: e.g. a bridge address on 10.213.0.0/24 that machines in network namespaces reach. */
  listenAddress?: string;
}

export interface SshTestHosts {
  hosts: SshTestHost[];
  /** known_hosts naming every host's key. */
  knownHostsFile: string;
  /** The generated client key, authorized on every host. */
  identityFile: string;
  rootDir: string;
  host(name: string): SshTestHost;
  /** Stops every sshd and removes every generated file. */
  stop(): Promise<void>;
}

/**
 * An `ssh` provider group definition over these hosts: the first is the gateway; `roles(i)` gives the
 * i-th host's roles. What a test, a benchmark or the demo writes under `templates.<name>.group`.
 */
export function sshGroupDefinition(sshd: SshTestHosts, roles: (index: number) => string[] = () => []): Record<string, unknown> {
  return {
    provider: 'ssh',
    identityFile: sshd.identityFile,
    knownHosts: sshd.knownHostsFile,
    hosts: sshd.hosts.map((h, i) => ({ name: h.name, address: h.address, port: h.port, user: h.user, workDir: h.workDir, gateway: i === 0, roles: roles(i) })),
  };
}

const SSHD = '/usr/sbin/sshd';

function keygen(file: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
}

export async function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, alive: () => boolean, address: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`sshd on port ${port} exited during start`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, address);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd on port ${port} did not start listening within ${timeoutMs} ms`);
}

/** Every process descended from `pid` (from /proc), so sessions die with their sshd. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

function canIsolateEtcHosts(): boolean {
  if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/unshare')) return false;
  try {
    execFileSync('/usr/bin/unshare', ['--mount', '/bin/true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** sshd in its own mount namespace, with its private /etc/hosts and the account's home bind-mounted in place. */
function namespacedSshd(config: string, etcHosts: string | undefined, home: { from: string; over: string } | undefined): string[] {
  const script = [
    '[ -z "$1" ] || mount --bind "$1" /etc/hosts || exit 1',
    '[ -z "$2" ] || mount --bind "$2" "$3" || exit 1',
    'exec "$4" -D -e -f "$5"',
  ].join('\n');
  return ['/usr/bin/unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c', script, 'sh', etcHosts ?? '', home?.from ?? '', home?.over ?? '', SSHD, config];
}

/**
 * Starts N real sshd instances on random 127.0.0.1 ports, each with a generated host key, its own
 * working directory and the generated client key authorized for the current user (root or not).
 */
export async function startSshHosts(options: StartSshHostsOptions = {}): Promise<SshTestHosts> {
  const listenAddress = options.listenAddress ?? '127.0.0.1';
  const specs: SshTestHostOptions[] = options.hosts ?? Array.from({ length: options.count ?? 1 }, () => ({}));
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-sshd-'));
  fs.chmodSync(rootDir, 0o755);
  const identityFile = path.join(rootDir, 'client_key');
  keygen(identityFile, 'smokestack-test-client');
  const clientPublic = fs.readFileSync(`${identityFile}.pub`, 'utf8');
  const user = userName();
  const isolate = options.isolateEtcHosts ?? canIsolateEtcHosts();
  if (options.accountHome && !canIsolateEtcHosts()) throw new Error('startSshHosts: accountHome needs root and unshare(1)');
  const accountHome = options.accountHome ? { from: options.accountHome, over: os.userInfo().homedir } : undefined;
  // sshd running as root insists on its privilege separation directory.
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const setup: HostSetup = { rootDir, identityFile, clientPublic, user, isolate, accountHome, listenAddress, timers: [] };
  const timers = setup.timers;
  const hosts: SshTestHost[] = [];
  for (const [i, spec] of specs.entries()) {
    const host = await prepareHost(spec.name ?? `host${i + 1}`, spec, setup);
    hosts.push(host);
    if (!spec.noStart && spec.startDelaySeconds === undefined) await host.start();
  }
  const knownHostsFile = path.join(rootDir, 'known_hosts');
  fs.writeFileSync(knownHostsFile, hosts.map((h) => `${h.knownHostsLine}\n`).join(''));

  for (const [i, spec] of specs.entries()) {
    if (spec.startDelaySeconds !== undefined && !spec.noStart) {
      timers.push(setTimeout(() => void hosts[i]!.start().catch(() => undefined), spec.startDelaySeconds * 1000));
    }
  }

  return {
    hosts,
    knownHostsFile,
    identityFile,
    rootDir,
    host(name: string) {
      const found = hosts.find((h) => h.name === name);
      if (!found) throw new Error(`no SSH test host named ${name}`);
      return found;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      await Promise.all(hosts.map((h) => h.stop()));
      fs.rmSync(rootDir, { recursive: true, force: true });
    },
  };
}

/** What every test host of one startSshHosts shares. */
interface HostSetup {
  rootDir: string;
  identityFile: string;
  clientPublic: string;
  user: string;
  isolate: boolean;
  accountHome: { from: string; over: string } | undefined;
  listenAddress: string;
  timers: NodeJS.Timeout[];
}

/** One host's directory, keys and sshd configuration, with start and stop (not yet started). */
async function prepareHost(name: string, spec: SshTestHostOptions, setup: HostSetup): Promise<SshTestHost> {
  const dir = path.join(setup.rootDir, name);
  const workDir = path.join(dir, 'work');
  fs.mkdirSync(workDir, { recursive: true });
  const home = path.join(dir, 'home');
  fs.mkdirSync(home, { recursive: true });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  keygen(hostKey, `${name}-host-key`);
  const hostPublicKey = fs.readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const port = await freePort(setup.listenAddress);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  fs.writeFileSync(authorizedKeys, spec.authorize === false || spec.authorizeAfterSeconds !== undefined ? '' : setup.clientPublic, { mode: 0o600 });
  const logFile = path.join(dir, 'sshd.log');
  const etcHostsFile = setup.isolate ? path.join(dir, 'etc_hosts') : undefined;
  if (etcHostsFile) fs.copyFileSync('/etc/hosts', etcHostsFile);
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(config, sshdConfig(setup.listenAddress, port, hostKey, authorizedKeys, home));

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const alive = () => Boolean(child && child.exitCode === null && child.signalCode === null);
  const start = async (): Promise<void> => {
    if (alive()) return;
    const log = fs.openSync(logFile, 'a');
    const argv = etcHostsFile || setup.accountHome ? namespacedSshd(config, etcHostsFile, setup.accountHome) : [SSHD, '-D', '-e', '-f', config];
    const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    child = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await waitForPort(port, 10_000, alive, setup.listenAddress);
    if (spec.authorizeAfterSeconds !== undefined) {
      setup.timers.push(setTimeout(() => fs.writeFileSync(authorizedKeys, setup.clientPublic), spec.authorizeAfterSeconds * 1000));
    }
  };
  return {
    name,
    address: setup.listenAddress,
    port,
    user: setup.user,
    identityFile: setup.identityFile,
    workDir,
    home,
    hostPublicKey,
    knownHostsLine: `[${setup.listenAddress}]:${port} ${hostPublicKey}`,
    logFile,
    etcHostsFile,
    start,
    stop: async () => {
      if (child && alive() && child.pid !== undefined) await killTree(child.pid, exited);
    },
    acceptedLogins: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('Accepted publickey')).length : 0),
    authorize: () => fs.writeFileSync(authorizedKeys, setup.clientPublic),
    get running() {
      return alive();
    },
  };
}

function sshdConfig(listenAddress: string, port: number, hostKey: string, authorizedKeys: string, home: string): string {
  return [
    `Port ${port}`,
    `ListenAddress ${listenAddress}`,
    `HostKey ${hostKey}`,
    'PidFile none',
    `AuthorizedKeysFile ${authorizedKeys}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    'MaxStartups 100',
    'MaxSessions 20',
    // sshd runs every command through the account's login shell, which reads start-up files from
    // $HOME (~/.bashrc for bash started by sshd): a home of the host's own keeps them out.
    `SetEnv "HOME=${home}"`,
    '',
  ].join('\n');
}

/**
 * Like a host that vanishes: freezes sshd and everything it started (re-reading the tree until
 * nothing new appears), then kills them all, so no process gets to report or clean up first.
 */
async function killTree(root: number, exited: Promise<void>): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  const frozen = new Set<number>([root]);
  signal(root, 'SIGSTOP');
  for (let fresh = descendants(root); fresh.some((p) => !frozen.has(p)); fresh = descendants(root)) {
    for (const pid of fresh.filter((p) => !frozen.has(p))) {
      frozen.add(pid);
      signal(pid, 'SIGSTOP');
    }
  }
  for (const pid of frozen) signal(pid, 'SIGKILL');
  await exited;
}
