import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { xdgCacheHome, type Env } from '../paths.js';
import type { LoadedConfig } from './load.js';

/**
 * The validated config of a file, kept between runs: a command whose config file has not changed since
 * the last run of the same build takes it from here, and loads neither the YAML parser nor the validator
 * (about a third of a short command's start-up). Keyed by the file's path, the SHA-256 of its text and the
 * identity of the code that validated it (the CLI bundle's meta.json: any change to the code is another
 * build); only a config that passed validation is kept. Loses nothing: any doubt is a miss, and a miss
 * validates the file as always.
 */

const FORMAT = 1;
/** Larger files are never taken from the cache: the loader refuses them with its own message. */
const MAX_TEXT_BYTES = 512 * 1024;

export interface ConfigCacheOptions {
  /** Identity of the code that validates; no caching without one (development runs from source). */
  codeId: string;
  env?: Env;
}

interface CachedConfig {
  format: number;
  codeId: string;
  path: string;
  sha256: string;
  config: LoadedConfig['config'];
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The code identity of a CLI: the SHA-256 of its bundle's meta.json, or undefined when it runs from source. */
export function bundleCodeId(cliRoot: string): string | undefined {
  try {
    return sha256Text(fs.readFileSync(path.join(cliRoot, 'dist', 'bundle', 'meta.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function entryFile(configFile: string, env: Env): string {
  return path.join(xdgCacheHome(env), 'smokestack', 'config', `${sha256Text(path.resolve(configFile)).slice(0, 24)}.json`);
}

/** The config kept for `file` as it is now; undefined on any miss or doubt. */
export function readCachedConfig(file: string, options: ConfigCacheOptions): LoadedConfig | undefined {
  try {
    const resolved = path.resolve(file);
    if (fs.statSync(resolved).size > MAX_TEXT_BYTES) return undefined;
    const text = fs.readFileSync(resolved, 'utf8');
    const entry = JSON.parse(fs.readFileSync(entryFile(resolved, options.env ?? process.env), 'utf8')) as CachedConfig;
    const current = entry?.format === FORMAT && entry.codeId === options.codeId && entry.path === resolved && entry.sha256 === sha256Text(text);
    if (!current || entry.config === null || typeof entry.config !== 'object') return undefined;
    return { path: resolved, dir: path.dirname(resolved), config: entry.config };
  } catch {
    return undefined;
  }
}

/**
 * Keeps a config the loader validated from a text with digest `sha256`, when it survives JSON unchanged;
 * failing to write only costs the next run a validation.
 */
export function writeCachedConfig(loaded: LoadedConfig, sha256: string, options: ConfigCacheOptions): void {
  if (!loaded.path) return;
  try {
    const config = JSON.parse(JSON.stringify(loaded.config)) as LoadedConfig['config'];
    if (!isDeepStrictEqual(config, loaded.config)) return;
    const resolved = path.resolve(loaded.path);
    const file = entryFile(resolved, options.env ?? process.env);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const entry: CachedConfig = { format: FORMAT, codeId: options.codeId, path: resolved, sha256, config };
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
      fs.renameSync(temp, file);
    } finally {
      fs.rmSync(temp, { force: true });
    }
  } catch {
    // Only a cache.
  }
}
