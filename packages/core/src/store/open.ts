import path from 'node:path';
import { xdgStateHome, type Env } from '../paths.js';
import { isPostgresUrl } from './postgres/connection.js';
import { PostgresStore } from './postgres/store.js';
import { StateStore, resolveStatePath } from './store.js';
import type { Store } from './types.js';

export interface StoreLocation {
  /** --state */
  flag?: string;
  /** the config's `state:` */
  configState?: string;
  /** the config's `dataDir:` (job logs and group keys of a database store) */
  configDataDir?: string;
  configDir?: string;
  env?: Env;
  cwd?: string;
}

/** Where a database store keeps this machine's files: SMOKESTACK_DATA_DIR, then `dataDir:`, then $XDG_STATE_HOME/smokestack. */
export function resolveDataDir(options: StoreLocation): string {
  const env = options.env ?? process.env;
  if (env.SMOKESTACK_DATA_DIR) return path.resolve(options.cwd ?? process.cwd(), env.SMOKESTACK_DATA_DIR);
  if (options.configDataDir) return path.resolve(options.configDir ?? options.cwd ?? process.cwd(), options.configDataDir);
  return path.join(xdgStateHome(env), 'smokestack');
}

/**
 * The store the flag, SMOKESTACK_STATE or `state:` names: a `postgresql://` URL opens the
 * PostgreSQL store (node-postgres loads on its first query), anything else is a JSON file path.
 */
export function openStore(options: StoreLocation): Store {
  const env = options.env ?? process.env;
  const named = options.flag ?? env.SMOKESTACK_STATE ?? options.configState;
  if (named && isPostgresUrl(named)) return new PostgresStore(named, { dataDir: resolveDataDir(options), env });
  return new StateStore(resolveStatePath(options));
}
