import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../errors.js';
import type { BundleLayout } from '../bundle.js';
import { checkedOut, mergesInto, renderCheckout } from '../source-checkout.js';
import { StageFailure, type HostRun, type JobRun } from '../job-run.js';
import { stageFault } from '../judge.js';
import { judgeBuild, type BuildJudgement } from './build-judge.js';

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

/** build: each source checked out (its ref, the changes it depends on, its target branch merged as asked) and packaged on its build host. */
export async function build(run: JobRun, bundle: BundleLayout | undefined): Promise<string> {
  const builds = run.plan.definition.builds;
  if (builds.length === 0) return 'skipped: the template has no builds';
  const judgements = await Promise.all(
    [...buildHosts(run)].map(async ([hostName, indexes]): Promise<BuildJudgement> => {
      const h = run.hostRun(hostName);
      const items = buildItems(run, bundle, indexes, h.workspace);
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
      return judged;
    }),
  );
  const fault = stageFault(judgements, 'build');
  if (fault) throw new StageFailure(fault.kind, fault.message);
  return `${builds.length} build(s), ${packageFiles(run.jobDir).length + packageFiles(run.jobDir, 'rpms').length} package(s)`;
}
