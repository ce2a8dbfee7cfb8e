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

/** An answer as stored: its URL is the key. */
export type StoredAnswer = Omit<CachedAnswer, 'url'>;
type Entries = Record<string, StoredAnswer>;

function validEntry(value: unknown): value is StoredAnswer {
  const entry = value as CachedAnswer | null;
  return typeof entry?.fetchedAt === 'number' && (entry.status === 'ok' || entry.status === 'missing');
}

/**
 * Every Launchpad answer in one JSON document, read once per run and written once (`flush`), to a
 * temp file renamed over the old one, so readers never see a torn file. A flush merges what other
 * runs wrote meanwhile (newest answer per URL wins) and drops answers older than CACHE_KEEP_MS.
 */
export class LaunchpadCache {
  private entries: Promise<Entries> | undefined;
  /** The file's entries once read. */
  private loaded: Entries | undefined;
  private readonly fresh = new Map<string, StoredAnswer>();
  /** Set when the file on disk could not be read as a cache. */
  problem: string | undefined;

  constructor(readonly file: string) {}

  /** The document on disk; a missing file is empty, a damaged one is empty and noted in `problem`. */
  private async readFile(): Promise<Entries> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.problem = `${this.file} is not a readable cache (${errorMessage(err)}); starting a new one`;
      return Object.create(null) as Entries;
    }
    try {
      const doc = JSON.parse(text) as { format?: number; entries?: Entries };
      if (doc.format !== FORMAT || typeof doc.entries !== 'object' || doc.entries === null) throw new Error(`not format ${FORMAT}`);
      return Object.assign(Object.create(null) as Entries, doc.entries);
    } catch (err) {
      this.problem = `${this.file} is not a readable cache (${errorMessage(err)}); starting a new one`;
      return Object.create(null) as Entries;
    }
  }

  /** The answer stored for `url`; an entry of the wrong shape is a miss. */
  async get(url: string): Promise<StoredAnswer | undefined> {
    // One read however many lookups start at once.
    this.entries ??= this.readFile();
    const entry = this.fresh.get(url) ?? (await this.entries)[url];
    return validEntry(entry) ? entry : undefined;
  }

  /** Reads the file now, so that `peek` can answer. */
  async load(): Promise<void> {
    this.entries ??= this.readFile();
    this.loaded = await this.entries;
  }

  /** The answer stored for `url` without waiting; undefined as well before `load` (or `get`) has read the file. */
  peek(url: string): StoredAnswer | undefined {
    const entry = this.fresh.get(url) ?? this.loaded?.[url];
    return validEntry(entry) ? entry : undefined;
  }

  /** Remembers an answer; it reaches the file on the next `flush`. */
  set({ url, ...entry }: CachedAnswer): void {
    this.fresh.set(url, entry);
  }

  /** Writes the answers of this run, merged with the file as it is now; a no-op when nothing is new. */
  async flush(now: number = Date.now()): Promise<void> {
    if (this.fresh.size === 0) return;
    const merged = await this.readFile();
    for (const [url, entry] of this.fresh) {
      const other = merged[url];
      if (!validEntry(other) || other.fetchedAt <= entry.fetchedAt) merged[url] = entry;
    }
    const entries: Entries = Object.create(null) as Entries;
    for (const [url, entry] of Object.entries(merged)) if (validEntry(entry) && now - entry.fetchedAt < CACHE_KEEP_MS) entries[url] = entry;
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.promises.writeFile(temp, JSON.stringify({ format: FORMAT, entries }));
      await fs.promises.rename(temp, this.file);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
    this.entries = Promise.resolve(entries);
    this.loaded = entries;
    this.fresh.clear();
  }
}
