import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { xdgCacheHome, type Env } from '../paths.js';

/** One cached Launchpad answer: a JSON body, or the fact that the resource does not exist. */
export interface CachedAnswer {
  url: string;
  fetchedAt: number;
  status: 'ok' | 'missing';
  body?: unknown;
}

/** Default cache directory: $XDG_CACHE_HOME/smokestack/launchpad. */
export function defaultLaunchpadCacheDir(env: Env = process.env): string {
  return path.join(xdgCacheHome(env), 'smokestack', 'launchpad');
}

/**
 * A directory of small JSON files, one per Launchpad URL. Entries are written atomically (temp
 * file + rename), so concurrent report runs share the cache safely; an unreadable entry is a miss.
 */
export class LaunchpadCache {
  constructor(readonly dir: string) {}

  private fileFor(url: string): string {
    return path.join(this.dir, `${createHash('sha256').update(url).digest('hex').slice(0, 40)}.json`);
  }

  async get(url: string): Promise<CachedAnswer | undefined> {
    try {
      const entry = JSON.parse(await fs.promises.readFile(this.fileFor(url), 'utf8')) as CachedAnswer;
      if (entry.url !== url || typeof entry.fetchedAt !== 'number') return undefined;
      return entry;
    } catch {
      return undefined;
    }
  }

  async set(entry: CachedAnswer): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const file = this.fileFor(entry.url);
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.promises.writeFile(temp, JSON.stringify(entry));
    try {
      await fs.promises.rename(temp, file);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
  }
}
