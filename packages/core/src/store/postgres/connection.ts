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
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
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

/** Runs `fn` in a transaction on one pooled connection; rolls back on any error. */
export async function inTransaction<T>(pool: Pool, begin: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await checkout(pool);
  let broken = false;
  try {
    await client.query(begin);
    const result = await fn(client);
    await commit(client, pool);
    return result;
  } catch (err) {
    broken = isConnectionError(err) || err instanceof CommitInDoubt;
    if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
    throw err;
  } finally {
    client.done(broken);
  }
}

/** The connection was lost during COMMIT and the server could not say whether the transaction committed. */
export class CommitInDoubt extends Error {
  override readonly name = 'CommitInDoubt';
}

/** How long to ask a server whose answer to COMMIT was lost whether the transaction committed. */
const COMMIT_STATUS_WAIT_MS = 60_000;

/**
 * Commits the transaction open on `client`. When the connection is lost during COMMIT, the
 * transaction's id (taken just before) is looked up on a new connection: committed, it returns as
 * if the answer had arrived; rolled back, the connection error is thrown (the caller may run the
 * transaction again: nothing of it was applied); unknown, CommitInDoubt. A transaction that wrote
 * nothing has nothing to lose.
 */
export async function commit(client: PoolClient, pool: Pool): Promise<void> {
  const { rows } = await client.query<{ xid: string | null }>('SELECT txid_current_if_assigned()::text AS xid');
  const xid = rows[0]?.xid ?? null;
  try {
    await client.query('COMMIT');
  } catch (err) {
    if (!isConnectionError(err) || xid === null) throw err;
    const status = await transactionStatus(pool, xid);
    if (status === 'aborted') throw err;
    if (status !== 'committed') throw new CommitInDoubt(`transaction ${xid} is ${status ?? 'unknown to the server'} after its connection was lost`, { cause: err });
  }
}

async function transactionStatus(pool: Pool, xid: string): Promise<string | null> {
  const deadline = Date.now() + COMMIT_STATUS_WAIT_MS;
  for (;;) {
    const { rows } = await retryConnection(() => pool.query<{ status: string | null }>('SELECT txid_status($1::bigint) AS status', [xid]), COMMIT_STATUS_WAIT_MS);
    const status = rows[0]?.status ?? null;
    // A server that has not yet noticed the lost connection may still be committing.
    if (status !== 'in progress' || Date.now() > deadline) return status;
    await sleep(200);
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
