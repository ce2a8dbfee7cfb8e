import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { readStoredSecret } from '../../config/credentials.js';
import { UserError } from '../../errors.js';
import { lazyRequire } from '../../lazy.js';
import type { Env } from '../../paths.js';

type PgModule = typeof import('pg');
// node-postgres is loaded the first time a PostgreSQL store connects: commands on the file store never load it.
const loadPg = lazyRequire<PgModule>('pg');

/** True when a `--state` / `SMOKESTACK_STATE` / `state:` value names a PostgreSQL database. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/**
 * Parses a PostgreSQL URL; a password in it is refused (it would end up in shell history, cron
 * mail and process lists): it comes from PGPASSWORD, ~/.pgpass or the credential store instead.
 */
export function parsePostgresUrl(url: string, where = 'state'): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`${where}: "${redactUrl(url)}" is not a valid PostgreSQL URL`, { hint: 'expected postgresql://USER@HOST:PORT/DATABASE' });
  }
  if (parsed.password) {
    throw new UserError(`${where}: the PostgreSQL URL carries a password; it is refused`, {
      hint: 'drop it from the URL and set PGPASSWORD, add it to ~/.pgpass, or store it with the credential store (key postgresql:HOST)',
    });
  }
  if (!parsed.pathname || parsed.pathname === '/') throw new UserError(`${where}: the PostgreSQL URL names no database`, { hint: 'expected postgresql://USER@HOST:PORT/DATABASE' });
  return parsed;
}

/** The URL for messages: never a password, never query parameters. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

/** Connection settings for node-postgres; the password (if any) from the credential store when PGPASSWORD is unset (pg reads PGPASSWORD and ~/.pgpass itself). */
export function poolConfig(url: URL, env: Env = process.env): PoolConfig {
  const stored = env.PGPASSWORD ? undefined : readStoredSecret(`postgresql:${url.hostname}`, { env });
  return {
    connectionString: url.toString(),
    ...(stored ? { password: stored } : {}),
    max: 4,
    // A cron command must exit when it is done, even if it forgot to close the pool.
    allowExitOnIdle: true,
    connectionTimeoutMillis: 10_000,
    // A session whose client vanished mid-transaction (a network partition) gives up its locks.
    idle_in_transaction_session_timeout: 300_000,
    application_name: 'smokestack',
  };
}

export function createPool(config: PoolConfig): Pool {
  const pg = loadPg();
  const pool = new pg.Pool(config);
  // An idle connection dropped by a server restart is replaced on the next query; it must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

export function createClient(config: PoolConfig): import('pg').Client {
  const pg = loadPg();
  return new pg.Client(config);
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03']);

/** A failure of the connection (server restarting, network), not of the statement: worth retrying. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string } | undefined;
  if (!e) return false;
  // Settling a lost COMMIT failed: running the transaction again could apply it twice.
  if (e.name === 'CommitInDoubt') return false;
  if (e.code && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection/i.test(e.message ?? '');
}

/** Two concurrent writers touched the same rows: the whole update runs again on fresh state. */
export function isConflict(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === '40001' || code === '40P01' || code === '23505' || err instanceof ConflictError;
}

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/**
 * A pooled connection for a transaction. A connection that breaks while it is checked out but not
 * in a query (the server restarting) emits 'error'; the next query fails instead of the process.
 */
export async function checkout(pool: Pool): Promise<PoolClient & { done(broken: boolean): void }> {
  const client = await pool.connect();
  const ignore = () => undefined;
  client.on('error', ignore);
  return Object.assign(client, {
    done(broken: boolean) {
      client.off('error', ignore);
      client.release(broken);
    },
  });
}

/**
 * Runs `fn` in a transaction on one pooled connection; rolls back on any error. Its COMMIT is
 * looked up when the answer is lost (see commit), except with `lookup: false` (the migrations,
 * which create the table that lookup needs).
 */
export async function inTransaction<T>(pool: Pool, begin: string, fn: (client: PoolClient) => Promise<T>, options: { lookup?: boolean } = {}): Promise<T> {
  const client = await checkout(pool);
  let broken = false;
  try {
    await client.query(begin);
    const result = await fn(client);
    if (options.lookup === false) await client.query('COMMIT');
    else await commit(client, pool);
    return result;
  } catch (err) {
    broken = isConnectionError(err) || err instanceof CommitInDoubt;
    if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
    throw err;
  } finally {
    client.done(broken);
  }
}

/** The connection was lost during COMMIT and whether the transaction committed could not be found out. */
export class CommitInDoubt extends Error {
  override readonly name = 'CommitInDoubt';
}

/** How long to find out whether a transaction whose COMMIT answer was lost committed. */
const COMMIT_LOOKUP_WAIT_MS = 60_000;

/**
 * Commits the transaction open on `client`, first writing a token of its own into commit_tokens
 * (only if it wrote anything: a transaction that wrote nothing has nothing to lose). When the
 * connection is lost during COMMIT, a connection of its own (outside the pool, which a restart may
 * have filled with broken ones) makes sure the old session is over (it ends it if the server still
 * runs it, so a COMMIT still on its way cannot land later and its locks are released) and then
 * looks the token up: there, the transaction committed and this returns as if the answer had
 * arrived; absent, it did not, and the connection error is thrown (the caller may run it again).
 * If that cannot be found out within a minute, CommitInDoubt, which is never retried.
 */
export async function commit(client: PoolClient, pool: Pool): Promise<void> {
  const token = randomUUID();
  const { rows } = await client.query<{ pid: number; started: string; marked: string }>(
    `WITH mark AS (INSERT INTO commit_tokens (token) SELECT $1 WHERE txid_current_if_assigned() IS NOT NULL RETURNING 1)
     SELECT pg_backend_pid() AS pid, (SELECT extract(epoch FROM backend_start)::text FROM pg_stat_activity WHERE pid = pg_backend_pid()) AS started,
       (SELECT count(*) FROM mark) AS marked`,
    [token],
  );
  const session = rows[0]!;
  const marked = Number(session.marked) > 0;
  try {
    await client.query('COMMIT');
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    let committed: boolean;
    try {
      committed = await retryConnection(() => lookUpCommit(pool, marked ? token : undefined, session.pid, session.started), COMMIT_LOOKUP_WAIT_MS);
    } catch (lookupErr) {
      throw new CommitInDoubt(`could not find out whether a transaction committed after its connection was lost (${(lookupErr as Error).message})`, { cause: err });
    }
    if (!committed) throw err;
    return;
  }
  // Old tokens go now and then, outside the transaction: a failure here costs nothing.
  if (marked && Math.random() < 0.01) await client.query("DELETE FROM commit_tokens WHERE at < now() - interval '1 day'").catch(() => undefined);
}

/**
 * On a connection of its own: ends the session that sent COMMIT if the server still runs it, waits
 * until it is gone, then reads the token (without one, the transaction wrote nothing: "committed").
 */
async function lookUpCommit(pool: Pool, token: string | undefined, pid: number, started: string): Promise<boolean> {
  const client = createClient(pool.options as PoolConfig);
  client.on('error', () => undefined);
  try {
    await client.connect();
    const alive = 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND extract(epoch FROM backend_start) = $2::numeric';
    for (let deadline = Date.now() + COMMIT_LOOKUP_WAIT_MS; ; ) {
      const { rows } = await client.query(alive, [pid, started]);
      if (rows.length === 0) break;
      if (Date.now() > deadline) throw new Error(`session ${pid} did not end`);
      await sleep(100);
    }
    if (token === undefined) return true;
    const { rows } = await client.query('SELECT 1 FROM commit_tokens WHERE token = $1', [token]);
    return rows.length > 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` again while the database is unreachable (a restart, a failover), up to `waitMs`,
 * with backoff: a worker rides out a database restart instead of dying. Only for steps that are
 * safe to repeat.
 */
export async function retryConnection<T>(attempt: () => Promise<T>, waitMs = 60_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConnectionError(err) || Date.now() + delay > deadline) throw err;
      await sleep(delay);
    }
  }
}
