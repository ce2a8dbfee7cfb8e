import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import { UserError } from '../../errors.js';
import { corePackageDir } from '../../lazy.js';
import { inTransaction } from './connection.js';

/** Numbered SQL files, `NNN_name.sql`, in the core package (packages/core/sql). */
export const MIGRATIONS_DIR = path.join(corePackageDir(), 'sql');

// Held while migrating, so two processes starting at once apply each migration once.
const MIGRATION_LOCK = 0x736d6b31;

export interface Migration {
  version: number;
  name: string;
  file: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .map((name) => /^(\d+)_([\w-]+)\.sql$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[2]!, file: path.join(dir, m[0]) }))
    .sort((a, b) => a.version - b.version);
}

/** The schema version this SmokeStack knows: its newest migration. */
export function knownSchemaVersion(migrations = listMigrations()): number {
  return migrations.at(-1)?.version ?? 0;
}

async function appliedVersion(pool: Pool): Promise<number | undefined> {
  try {
    const { rows } = await pool.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    return rows[0]?.version ?? 0;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return undefined; // no table yet: a new database
    throw err;
  }
}

function refuseNewer(location: string, found: number, known: number): never {
  throw new UserError(`${location}: state store has schema version ${found}, newer than this SmokeStack understands (${known})`, {
    hint: 'upgrade SmokeStack; the database was left untouched',
  });
}

/**
 * Brings the database to the newest schema: each pending migration in its own transaction with
 * its version row; a database newer than the code is refused and left untouched.
 */
export async function migrate(pool: Pool, location: string, migrations = listMigrations()): Promise<number> {
  const known = knownSchemaVersion(migrations);
  const current = await appliedVersion(pool);
  if (current !== undefined && current > known) refuseNewer(location, current, known);
  if (current === known) return current;
  for (const migration of migrations) {
    await inTransaction(pool, 'BEGIN', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
      const applied = rows[0]?.version ?? 0;
      if (applied > known) refuseNewer(location, applied, known);
      if (applied >= migration.version) return;
      await client.query(fs.readFileSync(migration.file, 'utf8'));
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }, { lookup: false });
  }
  return known;
}
