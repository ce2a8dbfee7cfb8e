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

/** The templates a build is made by: a change to either is a new recipe, and nothing built before is reused. */
export const BUILD_RECIPE_TEMPLATES = ['stage-build.sh.hbs', 'source-checkout.sh.hbs'];

/** Entries kept in a store's build cache; the least recently used beyond this are removed. */
export const BUILD_CACHE_ENTRIES = 32;

export interface ReuseCandidate {
  definition: Pick<BuildDefinition, 'name' | 'method' | 'subdir' | 'reuse'>;
  /** What the source's checkout will be made of, when known before the build (shipped from this machine). */
  revisions?: ShippedRevisions;
}

/** The key of the builds one host runs in a job, or why they are built without looking for an earlier build. */
export function buildReuseKey(input: { host: Pick<Host, 'image'>; provisioned: boolean; recipe: string; builds: readonly ReuseCandidate[] }): { key: string } | { why: string } {
  if (!input.provisioned) return { why: 'the job runs on an existing group' };
  if (!input.host.image) return { why: 'the host is not a fresh host of a container image' };
  const builds = [];
  for (const b of input.builds) {
    if (b.definition.reuse === false) return { why: `${b.definition.name} sets reuse: false` };
    if (b.definition.method === 'command') return { why: `${b.definition.name} is built by a command` };
    if (!b.revisions?.revision) return { why: `the commits of ${b.definition.name} are not known before its build` };
    const { revision, mergeTargetRevision, mergedRevisions } = b.revisions;
    builds.push({ name: b.definition.name, method: b.definition.method, subdir: b.definition.subdir ?? '', revision, mergeTargetRevision: mergeTargetRevision ?? '', mergedRevisions });
  }
  if (builds.length === 0) return { why: 'nothing to build' };
  const material = JSON.stringify({ format: 1, image: input.host.image, recipe: input.recipe, builds });
  return { key: createHash('sha256').update(material).digest('hex').slice(0, 32) };
}

/** The text of the build recipe's templates, hashed: part of every key. */
export function buildRecipe(templatesDir: string): string {
  const hash = createHash('sha256');
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

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
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
  ) {}

  /** The entry for `key` with the path of each of its files; undefined when there is none or it is damaged (then it is removed). */
  find(key: string): { build: CachedBuild; files: Array<CachedFile & { path: string }> } | undefined {
    if (!KEY.test(key)) return undefined;
    const entry = path.join(this.dir, key);
    let build: CachedBuild;
    try {
      build = JSON.parse(fs.readFileSync(path.join(entry, RECORD), 'utf8')) as CachedBuild;
    } catch {
      return undefined;
    }
    const files = (Array.isArray(build?.files) ? build.files : []).map((f) => ({ ...f, path: path.join(entry, f.kind, path.basename(f.name)) }));
    const whole = build?.format === 1 && build.key === key && files.length > 0 && files.every((f) => (f.kind === 'packages' || f.kind === 'rpms') && fs.existsSync(f.path) && sha256File(f.path) === f.sha256);
    if (!whole) {
      fs.rmSync(entry, { recursive: true, force: true });
      return undefined;
    }
    // Used now: the last to be removed when the cache is pruned.
    const now = new Date();
    fs.utimesSync(path.join(entry, RECORD), now, now);
    return { build, files };
  }

  /**
   * Keeps the packages of a build that passed (`from`: the job's fetched package directories of the host).
   * An entry already there is left as it is; answers whether this one was kept.
   */
  save(build: Omit<CachedBuild, 'format' | 'files'>, from: Partial<Record<PackageKind, string>>): boolean {
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
          fs.copyFileSync(file, path.join(temp, kind, name));
          files.push({ kind, name, sha256: sha256File(file), size: fs.statSync(file).size });
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

  /** Removes the least recently used entries beyond maxEntries, and temp directories a crashed save left an hour ago. */
  prune(now = Date.now()): void {
    const entries: Array<{ dir: string; used: number }> = [];
    for (const name of fs.existsSync(this.dir) ? fs.readdirSync(this.dir) : []) {
      const dir = path.join(this.dir, name);
      if (name.startsWith('.saving-')) {
        const age = now - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? now);
        if (age > 3_600_000) fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (!KEY.test(name)) continue;
      const used = fs.statSync(path.join(dir, RECORD), { throwIfNoEntry: false })?.mtimeMs ?? 0;
      entries.push({ dir, used });
    }
    entries.sort((a, b) => b.used - a.used);
    for (const stale of entries.slice(this.maxEntries)) fs.rmSync(stale.dir, { recursive: true, force: true });
  }
}
