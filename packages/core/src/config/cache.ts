import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { xdgCacheHome, type Env } from '../paths.js';
import type { LoadedConfig } from './load.js';

/**
 * The validated config of a file, kept between runs: a command of a built CLI whose config file has not
 * changed since the last run of the same build takes it from here, and loads neither the YAML parser nor
 * the validator (about a third of a short command's start-up). Keyed by the file's path, the SHA-256 of its
 * text and the build (`dist/bundle/build-id`, a digest of every bundled file and of the vendored zod and
 * yaml, written by scripts/bundle-clis.mjs) with the Node version; only a config that passed validation is
 * kept, only a regular file's, only in a directory of this user's that nobody else may write. Any doubt is
 * a miss, which validates the file as always. Code run from source (bin/dev.js, tests) never uses it.
 */

const FORMAT = 2;
/** The loader refuses larger files with its own message: never taken from the cache. */
const MAX_TEXT_BYTES = 512 * 1024;
/** Entries nobody read for this long are removed when another is written. */
const KEEP_MS = 30 * 86_400_000;

export interface ConfigCacheOptions {
  /** Identity of the code that validates (see `builtCodeId`). */
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

export function sha256Text(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The identity of the running build: its `build-id` and the Node version, when the code running is the
 * CLI's bundle under `cliRoot`; undefined when it runs from source (a development run, a test in process).
 */
export function builtCodeId(cliRoot: string, moduleUrl: string): string | undefined {
  try {
    const bundle = path.join(fs.realpathSync(cliRoot), 'dist', 'bundle') + path.sep;
    if (!fs.realpathSync(fileURLToPath(moduleUrl)).startsWith(bundle)) return undefined;
    const id = fs.readFileSync(path.join(bundle, 'build-id'), 'utf8').trim();
    return /^[0-9a-f]{64}$/.test(id) ? `${id} node ${process.version}` : undefined;
  } catch {
    return undefined;
  }
}

function cacheDir(env: Env): string {
  return path.join(xdgCacheHome(env), 'smokestack', 'config');
}

/** One entry per config path and build: the three CLIs, each its own build, reading one file keep an entry each. */
function entryFile(configFile: string, options: ConfigCacheOptions): string {
  return path.join(cacheDir(options.env ?? process.env), `${sha256Text(`${path.resolve(configFile)}\u0000${options.codeId}`).slice(0, 32)}.json`);
}

/** A file only this user may have written. */
function ownedAndPrivate(stat: fs.Stats): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
}

/** A regular file's text, read through one descriptor with the loader's size limit; undefined for anything else. */
function regularFileText(file: string): string | undefined {
  // Never opened unless a regular file: a pipe would be drained before the loader reads it, a FIFO would block.
  if (!fs.statSync(file).isFile()) return undefined;
  const fd = fs.openSync(file, 'r');
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_TEXT_BYTES) return undefined;
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** The config kept for `file` as it is now; undefined on any miss or doubt. */
export function readCachedConfig(file: string, options: ConfigCacheOptions): LoadedConfig | undefined {
  try {
    const resolved = path.resolve(file);
    const text = regularFileText(resolved);
    if (text === undefined) return undefined;
    const entryPath = entryFile(resolved, options);
    if (!ownedAndPrivate(fs.statSync(path.dirname(entryPath))) || !ownedAndPrivate(fs.statSync(entryPath))) return undefined;
    const entry = JSON.parse(fs.readFileSync(entryPath, 'utf8')) as CachedConfig;
    const current = entry?.format === FORMAT && entry.codeId === options.codeId && entry.path === resolved && entry.sha256 === sha256Text(text);
    const config = entry?.config;
    const shaped = config !== null && typeof config === 'object' && Array.isArray(config.projects) && Array.isArray(config.quarantine) && typeof config.templates === 'object' && typeof config.images === 'object';
    if (!current || !shaped) return undefined;
    const now = new Date();
    fs.utimesSync(entryPath, now, now);
    return { path: resolved, dir: path.dirname(resolved), config };
  } catch {
    return undefined;
  }
}

/**
 * Keeps a config the loader validated from a text with digest `sha256`, when it came from a regular file and
 * survives JSON unchanged; failing to write only costs the next run a validation.
 */
export function writeCachedConfig(loaded: LoadedConfig, sha256: string, options: ConfigCacheOptions): void {
  if (!loaded.path) return;
  try {
    const resolved = path.resolve(loaded.path);
    if (!fs.statSync(resolved).isFile()) return;
    const config = JSON.parse(JSON.stringify(loaded.config)) as LoadedConfig['config'];
    if (!isDeepStrictEqual(config, loaded.config)) return;
    const file = entryFile(resolved, options);
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!ownedAndPrivate(fs.statSync(dir))) return;
    const entry: CachedConfig = { format: FORMAT, codeId: options.codeId, path: resolved, sha256, config };
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
      fs.renameSync(temp, file);
    } finally {
      fs.rmSync(temp, { force: true });
    }
    prune(dir);
  } catch {
    // Only a cache.
  }
}

/** Removes entries nobody read for KEEP_MS, and temp files a crashed write left. */
function prune(dir: string, now = Date.now()): void {
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) continue;
    const age = now - stat.mtimeMs;
    if ((name.endsWith('.json') && age > KEEP_MS) || (name.endsWith('.tmp') && age > 3_600_000)) fs.rmSync(file, { force: true });
  }
}
