import fs from 'node:fs';
import path from 'node:path';
import { UserError, isUserError } from '../errors.js';
import { xdgCacheHome, type Env } from '../paths.js';
import { acquireLock } from '../store/lock.js';
import type { ImageSpec } from './definition.js';

/** What `image.json` beside a built root file system records. */
export interface ImageRecord {
  name: string;
  key: string;
  suite: string;
  mirror: string;
  components: string[];
  packages: string[];
  builtAt: string;
  buildSeconds: number;
  sizeBytes: number;
  /** The image's directory and its root file system (the read-only lower layer of every container). */
  dir: string;
  rootfs: string;
}

/**
 * Where images live: the configured directory, else SMOKESTACK_IMAGE_DIR, else a machine-wide
 * cache for root (shared by every store, test and demo on the machine) or the user's cache.
 */
export function defaultImageDir(configured: string | undefined, env: Env = process.env, isRoot = process.getuid?.() === 0): string {
  if (configured) return path.resolve(configured);
  if (env.SMOKESTACK_IMAGE_DIR) return path.resolve(env.SMOKESTACK_IMAGE_DIR);
  return isRoot ? '/var/cache/smokestack/images' : path.join(xdgCacheHome(env), 'smokestack', 'images');
}

/** Built images on disk: `<dir>/<name>-<key>/{rootfs,image.json}`, with a lock per image for builders. */
export class ImageStore {
  constructor(readonly dir: string) {}

  pathOf(spec: Pick<ImageSpec, 'name' | 'key'>): string {
    return path.join(this.dir, `${spec.name}-${spec.key}`);
  }

  /** Downloaded packages kept between builds of a suite. */
  cacheDir(suite: string): string {
    return path.join(this.dir, 'cache', suite);
  }

  find(spec: Pick<ImageSpec, 'name' | 'key'>): ImageRecord | undefined {
    return readRecord(this.pathOf(spec));
  }

  list(): ImageRecord[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && /^[a-z0-9][a-z0-9_.-]*-[0-9a-f]{12}$/.test(e.name))
      .flatMap((e) => readRecord(path.join(this.dir, e.name)) ?? [])
      .sort((a, b) => a.name.localeCompare(b.name) || b.builtAt.localeCompare(a.builtAt));
  }

  remove(record: ImageRecord): void {
    const relative = path.relative(this.dir, record.dir);
    if (!relative || relative.startsWith('..') || relative.includes(path.sep)) throw new UserError(`refusing to remove ${record.dir}: not an image under ${this.dir}`);
    // Renamed first so a half-removed image is never taken for a complete one.
    const doomed = `${record.dir}.removing`;
    fs.renameSync(record.dir, doomed);
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  /** One builder per image at a time, across processes; a builder that died leaves no lock behind. */
  async lock(spec: Pick<ImageSpec, 'name' | 'key'>, timeoutMs: number): Promise<() => void> {
    fs.mkdirSync(this.dir, { recursive: true });
    try {
      return await acquireLock(this.pathOf(spec), { timeoutMs });
    } catch (err) {
      if (!isUserError(err)) throw err;
      throw new UserError(`image ${spec.name} (${spec.key}) is still being built by another process after ${Math.round(timeoutMs / 1000)} s`, {
        hint: `wait for it, or remove ${this.pathOf(spec)}.lock if no firestack is running`,
      });
    }
  }
}

function readRecord(dir: string): ImageRecord | undefined {
  try {
    const data = JSON.parse(fs.readFileSync(path.join(dir, 'image.json'), 'utf8')) as Omit<ImageRecord, 'dir' | 'rootfs'>;
    return { ...data, dir, rootfs: path.join(dir, 'rootfs') };
  } catch {
    return undefined;
  }
}
