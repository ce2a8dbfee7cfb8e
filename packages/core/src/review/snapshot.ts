import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { UserError, errorMessage } from '../errors.js';
import type { Change } from '../model.js';
import { xdgCacheHome, type Env } from '../paths.js';
import type { ChangeOption } from '../gerrit/wire.js';
import type { ChangeSource } from './service.js';

/** The open changes of one project branch as last swept from Gerrit. */
export interface SnapshotEntry {
  /** When the last sweep (full or incremental) started. */
  sweptAt: string;
  /** When the last full sweep started. */
  fullAt: string;
  changes: Change[];
}

/** What `reviewday report` saw on one Gerrit server: the base of the next incremental sweep and of --offline. */
export interface ChangeSnapshot {
  format: 1;
  gerritUrl: string;
  /** project → branch → entry */
  projects: Record<string, Record<string, SnapshotEntry>>;
}

/** A full sweep at least this often: it catches changes an incremental one cannot see (deleted, moved, made private). */
export const FULL_SWEEP_MS = 24 * 3_600_000;

/** $XDG_CACHE_HOME/smokestack/reviewday/changes-<hash of the Gerrit URL>.json */
export function defaultSnapshotPath(gerritUrl: string, env: Env = process.env): string {
  const id = createHash('sha256').update(gerritUrl.replace(/\/+$/, '')).digest('hex').slice(0, 16);
  return path.join(xdgCacheHome(env), 'smokestack', 'reviewday', `changes-${id}.json`);
}

export function emptySnapshot(gerritUrl: string): ChangeSnapshot {
  return { format: 1, gerritUrl, projects: {} };
}

/** The snapshot at `file`; undefined when there is none or it cannot be read (it is only ever a cache). */
export async function readSnapshot(file: string): Promise<ChangeSnapshot | undefined> {
  try {
    const data = JSON.parse(await fs.promises.readFile(file, 'utf8')) as ChangeSnapshot;
    return data?.format === 1 && typeof data.projects === 'object' && data.projects !== null ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the snapshot to a temp file and renames it into place. */
export async function writeSnapshot(file: string, snapshot: ChangeSnapshot): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.promises.writeFile(temp, JSON.stringify(snapshot));
    await fs.promises.rename(temp, file);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
}

/** Incremental from the last sweep minus an overlap, unless there is none, a full sweep is due, or one is asked for. */
export function planChangeSweep(entry: SnapshotEntry | undefined, now: Date, options: { full?: boolean; overlapSeconds: number }): { since?: Date } {
  if (!entry || options.full) return {};
  const sweptAt = Date.parse(entry.sweptAt);
  const fullAt = Date.parse(entry.fullAt);
  if (!Number.isFinite(sweptAt) || !Number.isFinite(fullAt) || now.getTime() - fullAt >= FULL_SWEEP_MS) return {};
  return { since: new Date(sweptAt - options.overlapSeconds * 1000) };
}

/** The open changes after a sweep: changes updated since replace the snapshot's; merged or abandoned ones leave. */
export function mergeSweep(previous: readonly Change[], updated: readonly Change[]): Change[] {
  const byNumber = new Map(previous.map((c) => [c.number, c]));
  for (const change of updated) {
    if (change.status === 'NEW') byNumber.set(change.number, change);
    else byNumber.delete(change.number);
  }
  return [...byNumber.values()];
}

/** The two Gerrit queries a sweep needs (GerritRestClient has both). */
export interface ChangeSweeper {
  fetchOpenChanges(project: string, branch: string, options?: { options?: ChangeOption[] }): Promise<Change[]>;
  fetchChangesUpdatedSince(project: string, branch: string, since: Date, options?: { options?: ChangeOption[] }): Promise<Change[]>;
}

export interface SweepingSource extends ChangeSource {
  /** The snapshot with every sweep of this run applied. */
  readonly snapshot: ChangeSnapshot;
  /** Project branches swept incrementally and in full, for the logs and the benchmark. */
  readonly sweeps: { full: number; incremental: number };
  /** False when every sweep was incremental and found nothing: the saved snapshot is still exact, from its own sweep times on. */
  changed(): boolean;
}

/** Open changes from Gerrit, asking only for what changed since the snapshot was taken. */
export function sweepingChangeSource(
  gerrit: ChangeSweeper,
  previous: ChangeSnapshot | undefined,
  options: { gerritUrl: string; now: () => Date; overlapSeconds: number; full?: boolean; changeOptions?: ChangeOption[] },
): SweepingSource {
  const base = previous?.gerritUrl === options.gerritUrl ? previous : undefined;
  // Entries are replaced, never changed in place: copying the two outer levels is enough.
  const projects = Object.fromEntries(Object.entries(base?.projects ?? {}).map(([name, branches]) => [name, { ...branches }]));
  const snapshot: ChangeSnapshot = { ...emptySnapshot(options.gerritUrl), projects };
  const sweeps = { full: 0, incremental: 0 };
  let updates = 0;
  const query = { options: options.changeOptions };
  return {
    snapshot,
    sweeps,
    changed: () => sweeps.full > 0 || updates > 0,
    async openChanges(project, branch) {
      const entry = snapshot.projects[project]?.[branch];
      const started = options.now();
      const { since } = planChangeSweep(entry, started, options);
      let next: SnapshotEntry;
      if (since && entry) {
        const updated = await gerrit.fetchChangesUpdatedSince(project, branch, since, query);
        updates += updated.length;
        next = { sweptAt: started.toISOString(), fullAt: entry.fullAt, changes: mergeSweep(entry.changes, updated) };
        sweeps.incremental++;
      } else {
        const changes = await gerrit.fetchOpenChanges(project, branch, query);
        next = { sweptAt: started.toISOString(), fullAt: started.toISOString(), changes };
        sweeps.full++;
      }
      (snapshot.projects[project] ??= {})[branch] = next;
      return next.changes;
    },
  };
}

/** Open changes from the last snapshot, Gerrit not asked (--offline). */
export function snapshotChangeSource(snapshot: ChangeSnapshot | undefined, gerritUrl: string): ChangeSource {
  if (!snapshot || snapshot.gerritUrl !== gerritUrl) {
    throw new UserError(`--offline: no saved snapshot of the open changes on ${gerritUrl}`, { hint: 'run reviewday report once while Gerrit is reachable' });
  }
  let oldest: string | undefined;
  return {
    async openChanges(project, branch) {
      const entry = snapshot.projects[project]?.[branch];
      if (!entry) {
        throw new UserError(`--offline: the saved snapshot has no open changes of ${project} (${branch})`, { hint: 'run reviewday report for it once while Gerrit is reachable' });
      }
      if (!oldest || entry.sweptAt < oldest) oldest = entry.sweptAt;
      return entry.changes;
    },
    asOf: () => oldest,
  };
}

/** Saves the snapshot; failing to only costs the next run a full sweep, so it is a warning. */
export async function saveSnapshot(file: string, snapshot: ChangeSnapshot): Promise<string | undefined> {
  try {
    await writeSnapshot(file, snapshot);
    return undefined;
  } catch (err) {
    return `cannot save the snapshot of open changes to ${file}: ${errorMessage(err)}`;
  }
}
