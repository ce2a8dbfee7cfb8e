import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../errors.js';
import type { BundleLayout } from '../bundle.js';
import { checkedOut, mergesInto, renderCheckout } from '../source-checkout.js';
import { StageFailure, type HostRun, type JobRun } from '../job-run.js';
import { stageFault } from '../judge.js';
import { judgeBuild, type BuildJudgement } from './build-judge.js';
import type { SourceRevision } from '../checkout-judge.js';
import { BuildCache, buildRecipe, buildReuseKey, type PackageKind } from '../build-reuse.js';
import { sourceKey, type ShippedRevisions } from '../bundle.js';

/** Which host builds what: each build on its `host`, else on the gateway. */
export function buildHosts(run: JobRun): Map<string, number[]> {
  const byHost = new Map<string, number[]>();
  run.plan.definition.builds.forEach((b, i) => {
    const host = b.host ?? run.gateway().host.name;
    byHost.set(host, [...(byHost.get(host) ?? []), i]);
  });
  return byHost;
}

function buildItems(run: JobRun, bundle: BundleLayout | undefined, indexes: number[], workspace: string) {
  return indexes.map((index) => {
    const b = run.plan.definition.builds[index]!;
    const source = run.plan.sources.find((s) => s.kind === 'build' && s.index === index)!;
    return {
      ...checkedOut(source, b.name),
      index,
      mergeTarget: source.mergeTarget ?? '',
      method: b.method,
      command: b.command ?? '',
      subdir: b.subdir ?? '',
      checkout: renderCheckout(run.renderer, source, bundle, workspace),
      merging: mergesInto(source) ? 'yes' : '',
    };
  });
}

/** The packages built so far, as fetched from each build host: .debs under packages/, RPMs under rpms/. */
export function packageFiles(jobDir: string, kind: 'packages' | 'rpms' = 'packages'): string[] {
  const dir = path.join(jobDir, kind);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((host) => fs.readdirSync(path.join(dir, host)).map((f) => path.join(dir, host, f)));
}

/** The RPMs a host built (`method: rpm`, or a command that made some); none when the host built only .debs. */
async function fetchRpms(run: JobRun, h: HostRun): Promise<void> {
  if (!run.plan.definition.builds.some((b) => b.method !== 'dpkg')) return;
  await h.conn!.download(path.posix.join(h.workspace, 'rpms'), path.join(run.jobDir, 'rpms', h.host.name));
}

/** The store's cache of builds, shared by the jobs of every worker on this machine. */
export function buildCache(run: JobRun): BuildCache {
  return new BuildCache(path.join(run.options.store.dataDir, 'build-cache'));
}

/**
 * What build `index`'s checkout will be made of, when known before the build: a remote source fetched here
 * and shipped, or a local checkout shipped as it is with nothing merged into it on the host.
 */
function knownRevisions(run: JobRun, bundle: BundleLayout | undefined, index: number): ShippedRevisions | undefined {
  const source = run.plan.sources.find((s) => s.kind === 'build' && s.index === index)!;
  const key = sourceKey(source);
  const shipped = bundle?.shippedRefs[key]?.revisions;
  if (shipped) return shipped;
  const local = bundle?.localRevisions[key];
  return local && !source.mergeTarget && !source.merges?.length ? { revision: local, mergedRevisions: [] } : undefined;
}

/** The key of what one host builds in this job (see build-reuse.ts), or why it is built without looking for an earlier build. */
function reuseKey(run: JobRun, bundle: BundleLayout | undefined, hostName: string, indexes: number[]) {
  const builds = indexes.map((index) => ({ definition: run.plan.definition.builds[index]!, revisions: knownRevisions(run, bundle, index) }));
  return buildReuseKey({ host: run.hostRun(hostName).host, provisioned: !run.options.group, recipe: buildRecipe(run.renderer.dir), env: run.plan.definition.env, builds });
}

const PACKAGE_DIRS: Record<PackageKind, string> = { packages: 'debs', rpms: 'rpms' };

/**
 * The packages an earlier job built from the same commits, put where this job's build would have left them:
 * among the job's fetched packages (each copy checked against the digest recorded when it was kept) and in the
 * host's workspace (debs/, rpms/). Undefined when there is no such build, the job is stopping, or using it
 * failed: then the host builds, and its build script starts from empty package directories.
 */
async function reuseBuild(run: JobRun, h: HostRun, key: string): Promise<{ jobId: string } | undefined> {
  const cache = buildCache(run);
  const local = (kind: PackageKind) => path.join(run.jobDir, kind, h.host.name);
  try {
    if (run.signal.aborted) return undefined;
    const hit = cache.find(key);
    if (!hit) return undefined;
    for (const kind of ['packages', 'rpms'] as const) {
      const files = hit.files.filter((f) => f.kind === kind);
      if (files.length === 0) continue;
      fs.mkdirSync(local(kind), { recursive: true });
      for (const f of files) {
        if (!(await cache.copyVerified(key, f, path.join(local(kind), path.basename(f.name))))) {
          throw new Error(`${path.basename(f.name)} no longer matches its digest (the entry is dropped)`);
        }
      }
    }
    for (const kind of ['packages', 'rpms'] as const) {
      if (fs.existsSync(local(kind))) await h.conn!.upload(local(kind), path.posix.join(h.workspace, PACKAGE_DIRS[kind]));
    }
    if (run.signal.aborted) throw new Error('the job is stopping');
    const names = hit.files.map((f) => path.basename(f.name)).join(', ');
    run.logs.line('build', h.host.name, `reused the packages job ${hit.build.jobId} built on ${hit.build.host} at ${hit.build.builtAt} from the same commits on the same image (${hit.build.what}): ${names}`);
    return { jobId: hit.build.jobId };
  } catch (err) {
    run.logs.line('build', h.host.name, `could not reuse an earlier build (${errorMessage(err)}): building`);
    for (const kind of ['packages', 'rpms'] as const) fs.rmSync(local(kind), { recursive: true, force: true });
    return undefined;
  }
}

/** build: each source checked out (its ref, the changes it depends on, its target branch merged as asked) and packaged on its build host. */
export async function build(run: JobRun, bundle: BundleLayout | undefined): Promise<string> {
  const builds = run.plan.definition.builds;
  if (builds.length === 0) return 'skipped: the template has no builds';
  const reusedFrom: string[] = [];
  const judgements = await Promise.all(
    [...buildHosts(run)].map(async ([hostName, indexes]): Promise<BuildJudgement> => {
      const h = run.hostRun(hostName);
      const items = buildItems(run, bundle, indexes, h.workspace);
      const reuse = reuseKey(run, bundle, hostName, indexes);
      // Said where a reuse could have been expected: a fresh container host.
      if ('why' in reuse && h.host.containerImage) run.logs.line('build', h.host.name, `building without looking for an earlier build: ${reuse.why}`);
      if ('key' in reuse) {
        const reused = await reuseBuild(run, h, reuse.key);
        if (reused) {
          reusedFrom.push(reused.jobId);
          const revisions = indexes.map((index, i): SourceRevision => {
            const known = knownRevisions(run, bundle, index)!;
            return {
              key: items[i]!.key,
              revision: known.revision,
              ...(known.mergeTargetRevision ? { mergeTargetRevision: known.mergeTargetRevision } : {}),
              ...(known.mergedRevisions.length ? { mergedRevisions: known.mergedRevisions } : {}),
            };
          });
          run.recordRevisions(revisions);
          return { revisions, failures: [], infra: [] };
        }
      }
      const r = await run.exec(h, 'build', 'build', run.renderer.render('stage-build.sh.hbs', { workspace: h.workspace, builds: items }), { timeoutMs: run.remainingMs() });
      const judged = judgeBuild(h.host.name, items, r);
      run.recordRevisions(judged.revisions);
      try {
        await h.conn!.download(path.posix.join(h.workspace, 'debs'), path.join(run.jobDir, 'packages', h.host.name));
        await fetchRpms(run, h);
      } catch (err) {
        // A failed build explains a missing package directory; otherwise losing the packages is the machinery's fault.
        if (judged.failures.length === 0) judged.infra.push(`fetching the packages built on ${h.host.name} failed: ${errorMessage(err)}`);
      }
      if ('key' in reuse && r.code === 0 && judged.failures.length === 0 && judged.infra.length === 0) {
        const what = indexes.map((index) => `${builds[index]!.name} at ${knownRevisions(run, bundle, index)!.revision.slice(0, 12)}`).join(', ');
        await keepBuild(run, h, reuse.key, what);
      }
      return judged;
    }),
  );
  const fault = stageFault(judgements, 'build');
  if (fault) throw new StageFailure(fault.kind, fault.message);
  const reused = reusedFrom.length ? ` (reused from job ${[...new Set(reusedFrom)].join(', ')})` : '';
  return `${builds.length} build(s), ${packageFiles(run.jobDir).length + packageFiles(run.jobDir, 'rpms').length} package(s)${reused}`;
}

/** Keeps a host's passed build for later jobs; failing to only costs them a build, so it is a log line. */
async function keepBuild(run: JobRun, h: HostRun, key: string, what: string): Promise<void> {
  try {
    const kept = await buildCache(run).save(
      { key, jobId: run.job.id, host: h.host.name, builtAt: run.now().toISOString(), what },
      { packages: path.join(run.jobDir, 'packages', h.host.name), rpms: path.join(run.jobDir, 'rpms', h.host.name) },
    );
    if (kept) run.logs.line('build', h.host.name, `kept these packages for later jobs that build the same commits on the same image (build cache ${key})`);
  } catch (err) {
    run.logs.line('build', h.host.name, `could not keep the packages for later jobs: ${errorMessage(err)}`);
  }
}
