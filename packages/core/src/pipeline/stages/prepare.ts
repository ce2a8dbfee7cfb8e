import path from 'node:path';
import { writeJobBundle, type BundleLayout } from '../bundle.js';
import { StageFailure, type JobRun } from '../job-run.js';
import { lastLine } from '../judge.js';
import { markerValue, parseMarkers } from '../markers.js';
import type { ServerGroup } from '../../model.js';
import { PROVIDERS, providerFor } from '../../providers/registry.js';

/**
 * prepare: the job bundle (manifests, modules, local checkouts, and every source when the hosts
 * reach nothing beyond their group) written here and unpacked in each host's workspace.
 */
export async function prepare(run: JobRun, group: ServerGroup): Promise<BundleLayout> {
  const isolated = providerFor(group.provider, run.options.providers ?? PROVIDERS).isolatedHosts;
  const bundle = await writeJobBundle(run.plan, group, path.join(run.jobDir, 'bundle'), { shipRemoteSources: isolated });
  run.recordRevisions(Object.entries(bundle.localRevisions).map(([key, revision]) => ({ key, revision })));
  await Promise.all(
    run.hosts.map(async (h) => {
      await h.conn!.upload(bundle.archive, path.posix.join(h.workspace, 'incoming', 'bundle.tgz'));
      const script = run.renderer.render('stage-prepare.sh.hbs', { workspace: h.workspace, jobId: run.job.id, hostName: h.host.name });
      const r = await run.exec(h, 'prepare', 'prepare', script, { timeoutMs: 300_000 });
      if (r.code !== 0) throw new StageFailure('infra', `host ${h.host.name}: preparing the workspace failed (exit ${r.code}): ${lastLine(r.stderr)}`);
      const ws = markerValue(parseMarkers(r.stdout), 'workspace');
      if (ws?.[0]) h.workspace = ws.join(' ');
      h.prepared = true;
    }),
  );
  return bundle;
}
