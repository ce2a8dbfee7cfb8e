import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfraError, errorMessage } from '../errors.js';
import { bundleSnapshot, snapshotLocalSource } from './checkout.js';
import type { Host, ServerGroup } from '../model.js';
import { isManifestPath, type JobPlan, type SourcePlan } from './plan.js';

export interface BundleLayout {
  /** Local directory holding everything a host needs (also kept as a job artifact). */
  dir: string;
  /** The same directory packed for upload. */
  archive: string;
  /** Bundle-relative manifest file per host name (hosts without a manifest are absent). */
  manifests: Record<string, string>;
  /** Bundle-relative git bundle per source shipped from a local checkout or directory, keyed by `kind:index`. */
  sourceBundles: Record<string, string>;
  /** Revisions of local checkouts, known before anything runs remotely. */
  localRevisions: Record<string, string>;
}

export const sourceKey = (s: Pick<SourcePlan, 'kind' | 'index'>): string => `${s.kind}:${s.index}`;

/** The manifest a host applies: by host name, then by its first role that has one, then `default`. */
export function manifestFor(manifests: Record<string, string>, host: Pick<Host, 'name' | 'roles'>): { key: string; value: string } | undefined {
  if (manifests[host.name] !== undefined) return { key: host.name, value: manifests[host.name]! };
  const role = host.roles.find((r) => manifests[r] !== undefined);
  if (role) return { key: role, value: manifests[role]! };
  return manifests.default !== undefined ? { key: 'default', value: manifests.default } : undefined;
}

/**
 * Writes the job bundle: per-host manifests, Puppet modules given by path, and a git bundle of
 * every local checkout or directory that is a source (so remote hosts never need the laptop's disk).
 */
export async function writeJobBundle(plan: JobPlan, group: ServerGroup, dir: string): Promise<BundleLayout> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'manifests'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'modules'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'sources'), { recursive: true });
  const layout: BundleLayout = { dir, archive: `${dir}.tgz`, manifests: {}, sourceBundles: {}, localRevisions: {} };

  const puppet = plan.definition.puppet;
  if (puppet) {
    for (const host of group.hosts) {
      const chosen = manifestFor(puppet.manifests, host);
      if (!chosen) continue;
      const file = `manifests/${host.name}.pp`;
      const code = isManifestPath(chosen.value) ? fs.readFileSync(path.resolve(plan.baseDir, chosen.value), 'utf8') : `${chosen.value}\n`;
      fs.writeFileSync(path.join(dir, file), code);
      layout.manifests[host.name] = file;
    }
    for (const m of puppet.modules) {
      if (!m.path) continue;
      fs.cpSync(path.resolve(plan.baseDir, m.path), path.join(dir, 'modules', m.name), { recursive: true, dereference: true });
    }
  }

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bundle-'));
  try {
    for (const source of plan.sources) {
      if (!source.localPath) continue;
      const key = sourceKey(source);
      const file = `sources/${source.kind}-${source.index}.bundle`;
      // The working tree as it is: uncommitted edits and new files go in, ignored files do not.
      const snapshot = source.snapshot ?? (await snapshotLocalSource(source.localPath, scratch));
      await bundleSnapshot(snapshot, path.join(dir, file), scratch);
      layout.localRevisions[key] = snapshot.commit;
      layout.sourceBundles[key] = file;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  try {
    const { execa } = await import('execa');
    await execa('tar', ['-czf', layout.archive, '-C', dir, '.']);
  } catch (err) {
    throw new InfraError(`packing the job bundle ${dir} failed: ${errorMessage(err)}`);
  }
  return layout;
}
