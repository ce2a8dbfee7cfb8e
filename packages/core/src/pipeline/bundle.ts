import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfraError, UserError, errorMessage } from '../errors.js';
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
  /** For remote sources fetched here and shipped: the refs to fetch from their bundle instead of the source's own. */
  shippedRefs: Record<string, ShippedRefs>;
}

/** Where a remote source fetched here sits in its bundle: its ref, its merge target's and each Depends-On change's. */
export interface ShippedRefs {
  ref: string;
  mergeTarget?: string;
  merges: string[];
  /** The commits those refs named when they were fetched here: everything the source's checkout will be made of. */
  revisions: ShippedRevisions;
}

export interface ShippedRevisions {
  revision: string;
  mergeTargetRevision?: string;
  /** The Depends-On changes', in the order they are merged. */
  mergedRevisions: string[];
}

export interface BundleOptions {
  /** Fetch every remote source here and ship it in the bundle (for hosts that reach nothing beyond their group). */
  shipRemoteSources?: boolean;
}

/** The ref a shipped source's merge target has in its bundle (the source itself is the bundle's HEAD). */
const SHIPPED_MERGE_TARGET = 'refs/smokestack/merge-target';

export const sourceKey = (s: Pick<SourcePlan, 'kind' | 'index'>): string => `${s.kind}:${s.index}`;

/** The manifest a host applies: by host name, then by its first role that has one, then `default`. */
export function manifestFor(manifests: Record<string, string>, host: Pick<Host, 'name' | 'roles'>): { key: string; value: string } | undefined {
  if (manifests[host.name] !== undefined) return { key: host.name, value: manifests[host.name]! };
  const role = host.roles.find((r) => manifests[r] !== undefined);
  if (role) return { key: role, value: manifests[role]! };
  return manifests.default !== undefined ? { key: 'default', value: manifests.default } : undefined;
}

/**
 * Fetches a remote source's ref (and merge target) here into a git bundle whose HEAD is the source.
 * A source that cannot be fetched here is not shipped: the host's own fetch then fails and names it.
 */
async function bundleRemoteSource(source: SourcePlan, file: string): Promise<ShippedRefs | undefined> {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-source-'));
  try {
    const refspecs = [`+${source.ref}:refs/smokestack/source`];
    await git(['init', '-q', '--bare', '.'], repo);
    await git(['fetch', '-q', '--no-tags', '--', source.url, ...refspecs], repo);
    const shipped: ShippedRefs = { ref: 'HEAD', merges: [], revisions: { revision: '', mergedRevisions: [] } };
    if (source.mergeTarget) {
      await git(['fetch', '-q', '--no-tags', '--', source.mergeUrl ?? source.url, `+${source.mergeTarget}:${SHIPPED_MERGE_TARGET}`], repo);
      shipped.mergeTarget = SHIPPED_MERGE_TARGET;
    }
    // The Depends-On changes merged into this source come from their own repositories: shipped too.
    for (const [i, m] of (source.merges ?? []).entries()) {
      await git(['fetch', '-q', '--no-tags', '--', m.url, `+${m.ref}:refs/smokestack/depends-on-${i}`], repo);
      shipped.merges.push(`refs/smokestack/depends-on-${i}`);
    }
    // The source's commit as its checkout will print it (a tag peeled to its commit); the others as they are fetched.
    const resolved = (await git(['rev-parse', 'refs/smokestack/source^{commit}', ...(shipped.mergeTarget ? [SHIPPED_MERGE_TARGET] : []), ...shipped.merges], repo)).split('\n');
    shipped.revisions = {
      revision: resolved.shift()!,
      ...(shipped.mergeTarget ? { mergeTargetRevision: resolved.shift()! } : {}),
      mergedRevisions: resolved,
    };
    await git(['symbolic-ref', 'HEAD', 'refs/smokestack/source'], repo);
    await git(['bundle', 'create', '-q', file, 'HEAD', 'refs/smokestack/source', ...(shipped.mergeTarget ? [SHIPPED_MERGE_TARGET] : []), ...shipped.merges], repo);
    return shipped;
  } catch {
    return undefined;
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

async function git(args: string[], cwd: string): Promise<string> {
  try {
    const { execa } = await import('execa');
    const { stdout } = await execa('git', args, { cwd });
    return stdout.trim();
  } catch (err) {
    throw new UserError(`git ${args[0]} in ${cwd} failed: ${errorMessage(err).split('\n').pop()}`);
  }
}

/**
 * Writes the job bundle: per-host manifests, Puppet modules given by path, and a git bundle of
 * every local checkout or directory that is a source (so remote hosts never need the laptop's disk).
 */
export async function writeJobBundle(plan: JobPlan, group: ServerGroup, dir: string, options: BundleOptions = {}): Promise<BundleLayout> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'manifests'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'modules'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'sources'), { recursive: true });
  const layout: BundleLayout = { dir, archive: `${dir}.tgz`, manifests: {}, sourceBundles: {}, localRevisions: {}, shippedRefs: {} };
  // The combination of the template's axes this job runs with, as the hosts and its artifacts keep it.
  fs.writeFileSync(path.join(dir, 'configuration.json'), `${JSON.stringify(plan.configuration, null, 2)}\n`);

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
      const key = sourceKey(source);
      const file = `sources/${source.kind}-${source.index}.bundle`;
      if (source.localPath) {
        // The working tree as it is: uncommitted edits and new files go in, ignored files do not.
        const snapshot = source.snapshot ?? (await snapshotLocalSource(source.localPath, scratch));
        await bundleSnapshot(snapshot, path.join(dir, file), scratch);
        layout.localRevisions[key] = snapshot.commit;
        layout.sourceBundles[key] = file;
      } else if (options.shipRemoteSources) {
        const shipped = await bundleRemoteSource(source, path.join(dir, file));
        if (!shipped) continue;
        layout.sourceBundles[key] = file;
        layout.shippedRefs[key] = shipped;
      }
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
