/**
 * Start-up: the bundled @oclif/core (640 KB), zod and yaml are compiled by V8 on every command, about
 * 12 ms of `bellows jobs list`. The build (scripts/code-cache.mjs) runs a command once and saves V8's
 * compiled code for each bundle beside it, as `<bundle>.code-cache`; the stubs that stand for the
 * packages (scripts/bundle-vendor.mjs) load each bundle through `requireBundled`, which hands V8 that
 * code. Node 20 offers no compile cache of its own for this (module.enableCompileCache is Node 22's).
 *
 * A cache is used only for the very bundle it was made from (the SHA-256 of its text) on the same Node
 * and architecture; any other cache, a damaged one, or one V8 turns down, is ignored, and the bundle is
 * compiled as it would be without one. Nothing here writes unless the build asks for it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/** Set by the build to the directory of the bundles whose caches a command writes when it exits. */
export const WRITE_ENV = 'SMOKESTACK_WRITE_CODE_CACHE';

const MAGIC = 'smokestack-code-cache 1\n';

/** Imports a module for the bundle: dynamic import() cannot run in code compiled through node:vm. */
export type Importer = (specifier: string) => Promise<unknown>;

/** What became of each bundle's cache in this process: for tests and benchmarks. */
export type CacheUse = 'used' | 'none' | 'other-source' | 'damaged' | 'rejected';
const uses = new Map<string, CacheUse>();

export function codeCacheUses(): ReadonlyMap<string, CacheUse> {
  return uses;
}

export function codeCachePath(file: string): string {
  return `${file}.code-cache`;
}

/** The key a cache is valid for: the bundle's text, Node's version and the machine's architecture. */
function keyOf(source: Buffer): string {
  return JSON.stringify({ source: createHash('sha256').update(source).digest('hex'), node: process.version, arch: process.arch });
}

/** The compiled code in the cache file for `key`, or why there is none. */
function readCache(file: string, key: string): Buffer | Exclude<CacheUse, 'used' | 'rejected'> {
  let data: Buffer;
  try {
    data = fs.readFileSync(codeCachePath(file));
  } catch {
    return 'none';
  }
  const header = MAGIC + key + '\n';
  if (data.length <= header.length || data.toString('utf8', 0, MAGIC.length) !== MAGIC) return 'damaged';
  if (data.toString('utf8', 0, header.length) !== header) return 'other-source';
  return data.subarray(header.length);
}

/**
 * `require(file)` for a bundled CommonJS file, compiled with its saved code when there is a valid cache.
 * The bundle's own dynamic imports (oclif's of command modules) were rewritten by the build to call
 * `__vendorImport`, which `importer` (an `import()` in the calling ES module) answers.
 */
export function requireBundled(file: string, importer: Importer): unknown {
  // A module of Node's own, in require's cache as `require(file)` would leave it: one copy per process.
  const require = createRequire(file);
  const loaded = require.cache[file];
  if (loaded) return loaded.exports;
  const source = fs.readFileSync(file);
  const key = keyOf(source);
  const cached = readCache(file, key);
  // Like Node's own wrapper, on the first line, so that line numbers in stack traces stay the file's.
  const wrapped = `(function (exports, require, module, __filename, __dirname, __vendorImport) {${source.toString('utf8')}\n})`;
  const script = new vm.Script(wrapped, { filename: file, cachedData: typeof cached === 'string' ? undefined : cached });
  uses.set(file, typeof cached === 'string' ? cached : script.cachedDataRejected ? 'rejected' : 'used');
  const module = new Module(file);
  module.filename = file;
  require.cache[file] = module;
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  try {
    run.call(module.exports, module.exports, require, module, file, path.dirname(file), importer);
  } catch (error) {
    delete require.cache[file];
    throw error;
  }
  module.loaded = true;
  const writeFor = process.env[WRITE_ENV];
  if (writeFor && path.resolve(writeFor) === path.dirname(file)) process.once('exit', () => writeCache(file, key, script));
  return module.exports;
}

/** Saves the code compiled so far, functions the command ran included; written whole or not at all. */
function writeCache(file: string, key: string, script: vm.Script): void {
  const target = codeCachePath(file);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, Buffer.concat([Buffer.from(MAGIC + key + '\n'), script.createCachedData()]));
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    process.stderr.write(`code cache: could not write ${target}: ${(error as Error).message}\n`);
    process.exitCode ||= 1;
  }
}
