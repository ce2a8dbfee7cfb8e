import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { BuildDefinition } from '../config/schema.js';
import type { Host } from '../model.js';
import type { ShippedRevisions } from './bundle.js';

/**
 * Reuse of builds between jobs. A job that built some commits with a method on a fresh host of a container
 * image leaves its packages in the store's build cache; a later job that would build exactly that (the same
 * commits of every source, the same merges, the same method and build recipe, on a fresh host of the same
 * image) takes those packages instead of building again. A Puppet module's change then costs no build of the
 * application it configures. Only what is known before anything runs goes into the key, so a hit skips the
 * build script entirely; hosts that may hold anything (local, SSH, an existing group) never reuse.
 */

/** The templates a build is made by (the launcher exports the template's env): a change to any is a new recipe. */
export const BUILD_RECIPE_TEMPLATES = ['stage-launch.sh.hbs', 'stage-build.sh.hbs', 'source-checkout.sh.hbs'];

/**
 * Raised whenever the code that fills the build templates in (stages/build.ts, source-checkout.ts) changes
 * what a build does: nothing kept by an earlier recipe is reused.
 */
export const BUILD_RECIPE_VERSION = 1;

/** Entries kept in a store's build cache, and their packages' total size, before the least recently used go. */
export const BUILD_CACHE_ENTRIES = 32;
export const BUILD_CACHE_BYTES = 4 * 1024 ** 3;

export interface ReuseCandidate {
  definition: Pick<BuildDefinition, 'name' | 'method' | 'subdir' | 'reuse'>;
  /** What the source's checkout will be made of, when known before the build (shipped from this machine). */
  revisions?: ShippedRevisions;
}

/**
 * The key of the builds one host runs in a job, or why they are built without looking for an earlier build.
 * `env`: the template's environment, which every stage script (the build's too) runs with.
 */
export function buildReuseKey(input: {
  host: Pick<Host, 'containerImage'>;
  provisioned: boolean;
  recipe: string;
  env?: Readonly<Record<string, string>>;
  builds: readonly ReuseCandidate[];
}): { key: string } | { why: string } {
  if (!input.provisioned) return { why: 'the job runs on an existing group' };
  if (!input.host.containerImage) return { why: 'the host is not a fresh host of a container image' };
  const builds = [];
  for (const b of input.builds) {
    if (b.definition.reuse === false) return { why: `${b.definition.name} sets reuse: false` };
    if (b.definition.method === 'command') return { why: `${b.definition.name} is built by a command` };
    if (!b.revisions?.revision) return { why: `the commits of ${b.definition.name} are not known before its build` };
    const { revision, mergeTargetRevision, mergedRevisions } = b.revisions;
    builds.push({ name: b.definition.name, method: b.definition.method, subdir: b.definition.subdir ?? '', revision, mergeTargetRevision: mergeTargetRevision ?? '', mergedRevisions });
  }
  if (builds.length === 0) return { why: 'nothing to build' };
  const env = Object.entries(input.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const material = JSON.stringify({ format: 1, image: input.host.containerImage, recipe: input.recipe, env, builds });
  return { key: createHash('sha256').update(material).digest('hex').slice(0, 32) };
}

/** The text of the build recipe's templates and the recipe's version, hashed: part of every key. */
export function buildRecipe(templatesDir: string): string {
  const hash = createHash('sha256').update(`recipe ${BUILD_RECIPE_VERSION}\u0000`);
  for (const name of BUILD_RECIPE_TEMPLATES) hash.update(name).update('\u0000').update(fs.readFileSync(path.join(templatesDir, name)));
  return hash.digest('hex');
}

/** Where the cached packages go in a job: the directories the build stage fetches a host's packages into. */
export type PackageKind = 'packages' | 'rpms';

export interface CachedFile {
  kind: PackageKind;
  name: string;
  sha256: string;
  size: number;
}

/** What a cache entry holds besides its files: who built it, when and on which host. */
export interface CachedBuild {
  format: 1;
  key: string;
  jobId: string;
  host: string;
  builtAt: string;
  /** What was built, in words for the log ("demoapp at faebe2c38dfd"). */
  what: string;
  files: CachedFile[];
}

const RECORD = 'build.json';
const KEY = /^[0-9a-f]{32}$/;

/** A file's SHA-256, read as a stream (packages may be large; the worker runs other jobs meanwhile). */
async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A store's cache of builds: `<dir>/<key>/build.json` and the packages, each entry written to a temp
 * directory and renamed into place (a reader sees a whole entry or none), each file checked against its
 * recorded digest before it is used.
 */
export class BuildCache {
  constructor(
    readonly dir: string,
    readonly maxEntries = BUILD_CACHE_ENTRIES,
    readonly maxBytes = BUILD_CACHE_BYTES,
  ) {}

  /**
   * The entry for `key` with the path of each of its files; undefined when there is none or its record is
   * damaged (then it is removed). The files are checked where they are used: `copyVerified`.
   */
  find(key: string): { build: CachedBuild; files: Array<CachedFile & { path: string }> } | undefined {
    if (!KEY.test(key)) return undefined;
    const entry = path.join(this.dir, key);
    const record = path.join(entry, RECORD);
    try {
      // Used now: the last to be removed when the cache is pruned (before anything is read, which takes a while).
      const now = new Date();
      fs.utimesSync(record, now, now);
    } catch {
      return undefined;
    }
    let build: CachedBuild | undefined;
    try {
      build = JSON.parse(fs.readFileSync(record, 'utf8')) as CachedBuild;
    } catch {
      build = undefined;
    }
    const files = (Array.isArray(build?.files) ? build.files : []).map((f) => ({ ...f, path: path.join(entry, f.kind, path.basename(String(f.name))) }));
    const whole = build?.format === 1 && build.key === key && files.length > 0 && files.every((f) => (f.kind === 'packages' || f.kind === 'rpms') && typeof f.sha256 === 'string');
    if (!build || !whole) {
      this.drop(key);
      return undefined;
    }
    return { build, files };
  }

  /** Removes an entry (one found damaged). */
  drop(key: string): void {
    if (KEY.test(key)) fs.rmSync(path.join(this.dir, key), { recursive: true, force: true });
  }

  /**
   * Copies a cached file to `target` and checks the copy against the recorded digest, so what is used is
   * what was checked; a copy that does not match is removed and the entry dropped.
   */
  async copyVerified(key: string, file: CachedFile & { path: string }, target: string): Promise<boolean> {
    await fs.promises.copyFile(file.path, target);
    if ((await sha256Of(target)) === file.sha256) return true;
    await fs.promises.rm(target, { force: true });
    this.drop(key);
    return false;
  }

  /**
   * Keeps the packages of a build that passed (`from`: the job's fetched package directories of the host).
   * An entry already there is left as it is; answers whether this one was kept.
   */
  async save(build: Omit<CachedBuild, 'format' | 'files'>, from: Partial<Record<PackageKind, string>>): Promise<boolean> {
    if (!KEY.test(build.key)) return false;
    fs.mkdirSync(this.dir, { recursive: true });
    const temp = path.join(this.dir, `.saving-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const files: CachedFile[] = [];
      for (const kind of ['packages', 'rpms'] as const) {
        const source = from[kind];
        if (!source || !fs.existsSync(source)) continue;
        for (const name of fs.readdirSync(source).sort()) {
          const file = path.join(source, name);
          if (!fs.statSync(file).isFile()) continue;
          fs.mkdirSync(path.join(temp, kind), { recursive: true });
          const copy = path.join(temp, kind, name);
          await fs.promises.copyFile(file, copy);
          // The digest of the copy kept: what a later job checks its own copy against.
          files.push({ kind, name, sha256: await sha256Of(copy), size: fs.statSync(copy).size });
        }
      }
      if (files.length === 0) return false;
      const record: CachedBuild = { format: 1, ...build, files };
      fs.writeFileSync(path.join(temp, RECORD), `${JSON.stringify(record, null, 2)}\n`);
      try {
        fs.renameSync(temp, path.join(this.dir, build.key));
      } catch (err) {
        // Another job kept the same build meanwhile.
        if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
      this.prune();
      return true;
    } finally {
      fs.rmSync(temp, { recursive: true, force: true });
    }
  }

  /**
   * Removes the least recently used entries beyond maxEntries or maxBytes (the newest entry always stays), and
   * temp directories a crashed save left an hour ago.
   */
  prune(now = Date.now()): void {
    const entries: Array<{ dir: string; used: number; bytes: number }> = [];
    for (const name of fs.existsSync(this.dir) ? fs.readdirSync(this.dir) : []) {
      const dir = path.join(this.dir, name);
      if (name.startsWith('.saving-')) {
        const age = now - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? now);
        if (age > 3_600_000) fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (!KEY.test(name)) continue;
      const used = fs.statSync(path.join(dir, RECORD), { throwIfNoEntry: false })?.mtimeMs ?? 0;
      entries.push({ dir, used, bytes: entryBytes(dir) });
    }
    entries.sort((a, b) => b.used - a.used);
    let total = 0;
    for (const [i, entry] of entries.entries()) {
      total += entry.bytes;
      if (i > 0 && (i >= this.maxEntries || total > this.maxBytes)) fs.rmSync(entry.dir, { recursive: true, force: true });
    }
  }
}

/** The packages' size in an entry, as its record says. */
function entryBytes(dir: string): number {
  try {
    const build = JSON.parse(fs.readFileSync(path.join(dir, RECORD), 'utf8')) as CachedBuild;
    return build.files.reduce((n, f) => n + (Number(f.size) || 0), 0);
  } catch {
    return 0;
  }
}
