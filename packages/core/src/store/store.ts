import fs from 'node:fs';
import path from 'node:path';
import { Low } from 'lowdb';
import { UserError } from '../errors.js';
import { defaultStatePath, type Env } from '../paths.js';
import { AtomicJsonFile } from './file.js';
import { acquireLock, type LockOptions } from './lock.js';
import { SCHEMA_VERSION, emptyState, type StateData } from './schema.js';

/**
 * The JSON state store shared by bellows, firestack and reviewday.
 * Every mutation goes through `update`, which locks across processes, re-reads,
 * applies the change and writes atomically. Reads need no lock.
 */
export class StateStore {
  private readonly adapter: AtomicJsonFile;
  private readonly db: Low<StateData>;
  private sweptTemps = false;

  constructor(
    readonly file: string,
    private readonly lockOptions: LockOptions = {},
  ) {
    this.adapter = new AtomicJsonFile(file);
    this.db = new Low(this.adapter, emptyState());
  }

  /** Directory beside the store where job logs and artifacts live. */
  get jobsDir(): string {
    return path.join(path.dirname(this.file), 'jobs');
  }

  jobDir(jobId: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(jobId)) throw new UserError(`job id "${jobId}" is not valid`);
    return path.join(this.jobsDir, jobId);
  }

  /** A consistent snapshot of the store (empty when the file does not exist yet). */
  async read(): Promise<StateData> {
    await this.load();
    return this.db.data;
  }

  private async load(): Promise<void> {
    await this.db.read();
    // lowdb keeps its previous data when the file is absent; a missing file means an empty store.
    if (this.adapter.lastReadVersion === undefined) this.db.data = emptyState();
  }

  /** Applies `fn` to the current document under the cross-process lock and persists the result. */
  async update<T>(fn: (state: StateData) => T | Promise<T>): Promise<T> {
    // The lock lives beside the store, so a first run needs the directory before the lock.
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const release = await acquireLock(this.file, this.lockOptions);
    try {
      if (!this.sweptTemps) {
        this.sweptTemps = true;
        removeDeadWritersTemps(this.file);
      }
      await this.load();
      const fromVersion = this.adapter.lastReadVersion;
      if (fromVersion !== undefined && fromVersion < SCHEMA_VERSION) this.backupBeforeMigration(fromVersion);
      const result = await fn(this.db.data);
      this.db.data.schemaVersion = SCHEMA_VERSION;
      await this.db.write();
      return result;
    } finally {
      release();
    }
  }

  private backupBeforeMigration(version: number): void {
    const backup = `${this.file}.schema-v${version}.bak`;
    if (!fs.existsSync(backup)) fs.copyFileSync(this.file, backup);
  }
}

/** A writer killed mid-write leaves `.state.json.<pid>.<rand>.tmp`; remove those whose pid is gone. */
function removeDeadWritersTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}

/** Store path: --state, then SMOKESTACK_STATE, then the config's `state:`, then XDG state home. */
export function resolveStatePath(options: { flag?: string; env?: Env; configState?: string; configDir?: string; cwd?: string }): string {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.flag) return path.resolve(cwd, options.flag);
  if (env.SMOKESTACK_STATE) return path.resolve(cwd, env.SMOKESTACK_STATE);
  if (options.configState) return path.resolve(options.configDir ?? cwd, options.configState);
  return defaultStatePath(env);
}
