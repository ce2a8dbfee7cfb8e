import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Adapter } from 'lowdb';
import { UserError } from '../errors.js';
import { MIGRATIONS, SCHEMA_VERSION, nextFreeJobId, type StateData } from './schema.js';

/**
 * lowdb adapter for the state file: validates what it reads and writes through
 * temp file + fsync + rename + directory fsync, so readers never see a torn file
 * and a crash leaves either the old or the new document.
 */
export class AtomicJsonFile implements Adapter<StateData> {
  /** Schema version found on disk by the last read, before migrations. */
  lastReadVersion: number | undefined;

  constructor(readonly file: string) {}

  async read(): Promise<StateData | null> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.lastReadVersion = undefined;
        return null;
      }
      throw new UserError(`${this.file}: cannot read the state store (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    const { data, version } = parseState(text, this.file);
    this.lastReadVersion = version;
    return data;
  }

  async write(data: StateData): Promise<void> {
    const dir = path.dirname(this.file);
    await fs.promises.mkdir(dir, { recursive: true });
    const temp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await fs.promises.open(temp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(data));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.promises.rename(temp, this.file);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
    await syncDir(dir);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const REFUSE_HINT = 'the file was left untouched; restore it from a backup or move it aside to start empty';

/** Parses and migrates a state document; refuses (never resets) anything it does not understand. */
export function parseState(text: string, file: string): { data: StateData; version: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const what = text.length === 0 ? 'the file is empty (truncated?)' : `not valid JSON (${(err as Error).message})`;
    throw new UserError(`${file}: corrupt state store: ${what}`, { hint: REFUSE_HINT });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UserError(`${file}: corrupt state store: expected a JSON object`, { hint: REFUSE_HINT });
  }
  const record = doc as Record<string, unknown>;
  const version = record.schemaVersion === undefined ? 0 : record.schemaVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    throw new UserError(`${file}: corrupt state store: schemaVersion is not a whole number`, { hint: REFUSE_HINT });
  }
  if (version > SCHEMA_VERSION) {
    throw new UserError(
      `${file}: state store has schema version ${version}, newer than this SmokeStack understands (${SCHEMA_VERSION})`,
      { hint: 'upgrade SmokeStack; the file was left untouched' },
    );
  }
  let migrated = record;
  for (let v = version; v < SCHEMA_VERSION; v++) migrated = MIGRATIONS[v]!(migrated);
  for (const key of ['configs', 'jobs', 'votes', 'groups', 'sync'] as const) {
    const value = migrated[key];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new UserError(`${file}: corrupt state store: "${key}" is not an object`, { hint: REFUSE_HINT });
    }
  }
  const archive = migrated.archive as Record<string, unknown> | undefined;
  for (const name of ['jobs', 'votes'] as const) {
    const mark = archive?.[name] as Record<string, unknown> | undefined;
    if (!mark || typeof mark.file !== 'string' || !/^[a-z]+-archive\.\d+\.ndjson$/.test(mark.file) || typeof mark.size !== 'number' || typeof mark.count !== 'number') {
      throw new UserError(`${file}: corrupt state store: "archive.${name}" is not an archive mark`, { hint: REFUSE_HINT });
    }
  }
  if (!Array.isArray(migrated.seenEvents)) migrated.seenEvents = [];
  if (!migrated.purged || typeof migrated.purged !== 'object' || Array.isArray(migrated.purged)) migrated.purged = {};
  // Written by versions that compare failures with baselines; older documents have none.
  if (!migrated.baselines || typeof migrated.baselines !== 'object' || Array.isArray(migrated.baselines)) migrated.baselines = {};
  // Documents written before workers registered have none; an older SmokeStack keeps the key as it found it.
  if (!migrated.workers || typeof migrated.workers !== 'object' || Array.isArray(migrated.workers)) migrated.workers = {};
  migrated.nextJobId = nextFreeJobId(migrated as { nextJobId?: unknown; jobs: Record<string, unknown> });
  return { data: migrated as unknown as StateData, version };
}
