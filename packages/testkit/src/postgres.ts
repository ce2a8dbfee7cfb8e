import { execFile, spawnSync, type ExecFileOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cleanUpOnExit } from './exit.js';

const run = promisify(execFile);

/** Where Debian's postgresql-15 puts its server binaries (override with SMOKESTACK_PG_BIN). */
export const POSTGRES_BIN = process.env.SMOKESTACK_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  /** postgresql://smokestack@127.0.0.1:PORT/smokestack (no password: the cluster trusts loopback). */
  url: string;
  port: number;
  dir: string;
  /** A new empty database on this cluster; answers its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server as a crash would (immediate), for tests of what survives. */
  kill(): Promise<void>;
  /** Starts it again after kill() or stop. */
  start(): Promise<void>;
  /** Restarts the server (immediate stop, then start): connections drop, committed data stays. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Extra server settings (`-c name=value`), e.g. `{ fsync: 'off' }` for throwaway test clusters. */
  settings?: Record<string, string>;
  /** Addresses to listen on besides 127.0.0.1 (e.g. a test bridge's 10.213.0.1), for workers in network namespaces. */
  listen?: string[];
  /** Networks whose connections are trusted like loopback's (CIDR, e.g. 10.213.0.0/24). */
  trustNetworks?: string[];
}

/** Debian's server refuses to run as root: as root the cluster belongs to the `postgres` system user. */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('startPostgres: running as root needs the postgres system user (install postgresql-15 with scripts/install-system-packages.sh)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A PostgreSQL cluster of its own for a test: initdb in a temporary directory, listening on a
 * loopback port and a socket in that directory, trusting local connections. `stop()` removes it;
 * it is also stopped when the test process exits, so a failing test leaves nothing running.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  if (!fs.existsSync(path.join(POSTGRES_BIN, 'initdb'))) {
    throw new Error(`startPostgres: ${POSTGRES_BIN}/initdb not found (install postgresql-15 with scripts/install-system-packages.sh)`);
  }
  const account = serverAccount();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-pg-'));
  const data = path.join(dir, 'data');
  const exec: ExecFileOptions = { cwd: dir, ...(account ?? {}), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' } };
  if (account) fs.chownSync(dir, account.uid, account.gid);
  await run(path.join(POSTGRES_BIN, 'initdb'), ['-D', data, '-U', 'smokestack', '--auth=trust', '-E', 'UTF8', '--no-instructions', '--no-sync'], exec);
  for (const network of options.trustNetworks ?? []) {
    if (!/^[0-9a-f.:]+\/\d+$/i.test(network)) throw new Error(`startPostgres: "${network}" is not a CIDR network`);
    fs.appendFileSync(path.join(data, 'pg_hba.conf'), `host all all ${network} trust\n`);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: ['127.0.0.1', ...(options.listen ?? [])].join(','),
    port: String(port),
    unix_socket_directories: dir,
    max_connections: '100',
    ...options.settings,
  };
  const serverOptions = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const pgCtl = (args: string[]) => run(path.join(POSTGRES_BIN, 'pg_ctl'), ['-D', data, ...args], exec);
  const start = async () => {
    await pgCtl(['-w', '-t', '60', '-l', path.join(dir, 'server.log'), '-o', serverOptions, 'start']);
  };
  const stopNow = () => pgCtl(['-w', '-m', 'immediate', 'stop']).then(() => undefined);
  await start();
  // A test process that dies or forgets stop() takes its cluster with it.
  const onExit = () => {
    spawnSync(path.join(POSTGRES_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop'], { ...(account ?? {}), stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const cancelCleanup = cleanUpOnExit(onExit);
  const url = `postgresql://smokestack@127.0.0.1:${port}/smokestack`;
  let databases = 0;
  const psql = (sql: string) => run(path.join(POSTGRES_BIN, 'psql'), ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'smokestack', '-d', 'postgres', '-c', sql], exec);
  await psql('CREATE DATABASE smokestack');
  return {
    url,
    port,
    dir,
    async createDatabase(name = `test_${process.pid}_${++databases}`) {
      await psql(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      return `postgresql://smokestack@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    kill: stopNow,
    start,
    async restart() {
      await stopNow();
      await start();
    },
    async stop() {
      cancelCleanup();
      await stopNow().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
