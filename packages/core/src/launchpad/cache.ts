import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { errorMessage } from '../errors.js';
import { xdgCacheHome, type Env } from '../paths.js';

/** One cached Launchpad answer: a JSON body, or the fact that the resource does not exist. */
export interface CachedAnswer {
  url: string;
  fetchedAt: number;
  status: 'ok' | 'missing';
  body?: unknown;
}

/** Answers nobody refreshed for this long are dropped when the cache is written. */
export const CACHE_KEEP_MS = 30 * 86_400_000;
const FORMAT = 1;

/** Default cache file: $XDG_CACHE_HOME/smokestack/launchpad.json. */
export function defaultLaunchpadCachePath(env: Env = process.env): string {
  return path.join(xdgCacheHome(env), 'smokestack', 'launchpad.json');
}

type Entries = Record<string, Omit<CachedAnswer, 'url'>>;

function validEntry(value: unknown): value is Omit<CachedAnswer, 'url'> {
  const entry = value as CachedAnswer | null;
  return typeof entry?.fetchedAt === 'number' && (entry.status === 'ok' || entry.status === 'missing');
}

/**
 * Every Launchpad answer in one JSON document, read once per run and written once (`flush`), to a
 * temp file renamed over the old one, so readers never see a torn file. A flush merges what other
 * runs wrote meanwhile (newest answer per URL wins) and drops answers older than CACHE_KEEP_MS.
 */
export class LaunchpadCache {
  private entries: Promise<Map<string, CachedAnswer>> | undefined;
  private readonly fresh = new Map<string, CachedAnswer>();
  /** Set when the file on disk could not be read as a cache. */
  problem: string | undefined;

  constructor(readonly file: string) {}

  /** The document on disk; a missing file is empty, a damaged one is empty and noted in `problem`. */
  private async readFile(): Promise<Map<string, CachedAnswer>> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.problem = `${this.file} is not a readable cache (${errorMessage(err)}); starting a new one`;
      return new Map();
    }
    try {
      const doc = JSON.parse(text) as { format?: number; entries?: Entries };
      if (doc.format !== FORMAT || typeof doc.entries !== 'object' || doc.entries === null) throw new Error(`not format ${FORMAT}`);
      const map = new Map<string, CachedAnswer>();
      for (const [url, entry] of Object.entries(doc.entries)) if (validEntry(entry)) map.set(url, { ...entry, url });
      return map;
    } catch (err) {
      this.problem = `${this.file} is not a readable cache (${errorMessage(err)}); starting a new one`;
      return new Map();
    }
  }

  async get(url: string): Promise<CachedAnswer | undefined> {
    // One read however many lookups start at once.
    this.entries ??= this.readFile();
    return this.fresh.get(url) ?? (await this.entries).get(url);
  }

  /** Remembers an answer; it reaches the file on the next `flush`. */
  set(entry: CachedAnswer): void {
    this.fresh.set(entry.url, entry);
  }

  /** Writes the answers of this run, merged with the file as it is now; a no-op when nothing is new. */
  async flush(now: number = Date.now()): Promise<void> {
    if (this.fresh.size === 0) return;
    const merged = await this.readFile();
    for (const [url, entry] of this.fresh) {
      const other = merged.get(url);
      if (!other || other.fetchedAt <= entry.fetchedAt) merged.set(url, entry);
    }
    const entries: Entries = {};
    for (const [url, { url: _, ...entry }] of merged) if (now - entry.fetchedAt < CACHE_KEEP_MS) entries[url] = entry;
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.promises.writeFile(temp, JSON.stringify({ format: FORMAT, entries }));
      await fs.promises.rename(temp, this.file);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
    this.entries = Promise.resolve(new Map(Object.entries(entries).map(([url, entry]) => [url, { ...entry, url }])));
    this.fresh.clear();
  }
}
