/**
 * Start-up: the bundled @oclif/core (640 KB) is compiled by V8 on every command, about 12 ms of
 * `bellows jobs list`, and zod, yaml and axios by the commands that use them. The build
 * (scripts/code-cache.mjs) runs a command once and saves V8's compiled code for each bundle beside
 * it, as `<bundle>.code-cache`; the stubs that stand for the packages (scripts/bundle-vendor.mjs) and
 * lazyVendored (axios) load each bundle through `requireBundled`, which hands V8 that code. Node 20 offers no compile cache of its own for this (module.enableCompileCache is Node 22's).
 *
 * A cache is used only for the very text V8 compiles (the bundle in the loader's wrapper: the SHA-256
 * of both), on the same Node and architecture, when its compiled code is whole (its own SHA-256) and
 * the file is owned by the bundle's owner and writable by no one else; any other cache, or one V8 turns
 * down, is ignored, and the bundle is compiled as it would be without one. V8 itself checks no more
 * than the length of the text, and would run the code of another text of the same length. Nothing here
 * writes unless the build asks for it.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/** Set by the build to the directory of the bundles whose caches a command writes when it exits. */
export const WRITE_ENV = 'SMOKESTACK_WRITE_CODE_CACHE';

const MAGIC = 'smokestack-code-cache 2\n';

// Like Node's own wrapper, opened on the first line, so that line numbers in stack traces stay the file's.
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname, __vendorImport) {';
const WRAP_TAIL = '\n})';

/** Imports a module for the bundle: dynamic import() cannot run in code compiled through node:vm. */
export type Importer = (specifier: string) => Promise<unknown>;

/** What became of each bundle's cache in this process: for tests and benchmarks. */
export type CacheUse = 'used' | 'none' | 'other-source' | 'damaged' | 'untrusted' | 'rejected';
const uses = new Map<string, CacheUse>();

export function codeCacheUses(): ReadonlyMap<string, CacheUse> {
  return uses;
}

export function codeCachePath(file: string): string {
  return `${file}.code-cache`;
}

/** The key a cache is valid for: the text V8 compiles, Node's version and the machine's architecture. */
function keyOf(source: Buffer): string {
  const text = createHash('sha256').update(WRAP_HEAD).update(source).update(WRAP_TAIL).digest('hex');
  return JSON.stringify({ text, node: process.version, arch: process.arch });
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The cache file's first line, then the key and the SHA-256 of the compiled code, a line each. */
function headerOf(key: string, code: Buffer): string {
  return `${MAGIC}${key}\n${sha256(code)}\n`;
}

/** The compiled code in the cache file for `key`, or why there is none. */
function readCache(file: string, key: string, owner: number): Buffer | Exclude<CacheUse, 'used' | 'rejected'> {
  let data: Buffer;
  try {
    const fd = fs.openSync(codeCachePath(file), 'r');
    try {
      // Code this process will run: only as trusted as the bundle it stands for (config/cache.ts alike).
      const stat = fs.fstatSync(fd);
      if (!stat.isFile() || stat.uid !== owner || (stat.mode & 0o022) !== 0) return 'untrusted';
      data = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return 'none';
  }
  if (data.toString('latin1', 0, MAGIC.length) !== MAGIC) return 'damaged';
  const keyEnd = data.indexOf(0x0a, MAGIC.length);
  const sumEnd = keyEnd < 0 ? -1 : data.indexOf(0x0a, keyEnd + 1);
  if (sumEnd < 0) return 'damaged';
  if (data.toString('utf8', MAGIC.length, keyEnd) !== key) return 'other-source';
  const code = data.subarray(sumEnd + 1);
  if (code.length === 0 || data.toString('latin1', keyEnd + 1, sumEnd) !== sha256(code)) return 'damaged';
  return code;
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
  const fd = fs.openSync(file, 'r');
  let source: Buffer;
  let owner: number;
  try {
    owner = fs.fstatSync(fd).uid;
    source = fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const key = keyOf(source);
  const cached = readCache(file, key, owner);
  const wrapped = WRAP_HEAD + source.toString('utf8') + WRAP_TAIL;
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
  if (writesFor(path.dirname(file))) process.once('exit', () => writeCache(file, key, script));
  return module.exports;
}

/** Whether the build asked for the caches of the bundles in `dir` (WRITE_ENV, symbolic links followed). */
function writesFor(dir: string): boolean {
  const asked = process.env[WRITE_ENV];
  if (!asked) return false;
  const real = (at: string) => {
    try {
      return fs.realpathSync(at);
    } catch {
      return path.resolve(at);
    }
  };
  return real(asked) === real(dir);
}

/** Saves the code compiled so far, functions the command ran included; written whole or not at all. */
function writeCache(file: string, key: string, script: vm.Script): void {
  const target = codeCachePath(file);
  const temp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const code = script.createCachedData();
    // A new file of this process's own (never one planted in its place), readable by all, written by it alone.
    fs.writeFileSync(temp, Buffer.concat([Buffer.from(headerOf(key, code)), code]), { flag: 'wx', mode: 0o644 });
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    // Only the build asks for a cache, and a build that could not make one says so.
    process.stderr.write(`code cache: could not write ${target}: ${(error as Error).message}\n`);
    process.exitCode ||= 1;
  }
}
