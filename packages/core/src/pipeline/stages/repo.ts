import fs from 'node:fs';
import path from 'node:path';
import type { ServerGroup } from '../../model.js';
import { StageFailure, type HostRun, type JobRun } from '../job-run.js';
import { lastLine } from '../judge.js';
import { markerValue, parseMarkers } from '../markers.js';
import { buildHosts, packageFiles } from './build.js';
import { pointEveryHost } from './repo-hosts.js';
import { rpmRepo } from './repo-rpm.js';

/** repo: the built packages published as repositories on the gateway (apt for .debs, dnf for RPMs), and every host pointed at them. */
export async function repo(run: JobRun, group: ServerGroup): Promise<string> {
  if (run.plan.definition.builds.length === 0) return 'skipped: no packages to publish';
  const rpms = packageFiles(run.jobDir, 'rpms').some((f) => f.endsWith('.rpm'));
  if (rpms && !packageFiles(run.jobDir).some((f) => f.endsWith('.deb'))) return rpmRepo(run, group);
  const apt = await aptRepo(run, group);
  return rpms ? `${apt}; ${await rpmRepo(run, group)}` : apt;
}

async function aptRepo(run: JobRun, group: ServerGroup): Promise<string> {
  const gw = run.gateway();
  const { repoPath, count } = await publish(run, gw);
  await pointEveryHost(run, group, repoPath, async (h, hostRepo) => {
    const r = await run.exec(h, 'repo', 'repo-client', run.renderer.render('stage-repo-client.sh.hbs', { workspace: h.workspace, repoPath: hostRepo }), {
      timeoutMs: 600_000,
    });
    if (r.code !== 0) throw new StageFailure('build', `pointing ${h.host.name} at the package repository failed (exit ${r.code}): ${lastLine(r.stderr)}`);
  });
  return `${count} package(s) published on ${gw.host.name}`;
}

/** Gathers every build host's packages on the gateway and publishes them there; answers the repository's path. */
async function publish(run: JobRun, gw: HostRun): Promise<{ repoPath: string; count: string }> {
  for (const hostName of buildHosts(run).keys()) {
    const local = path.join(run.jobDir, 'packages', hostName);
    if (hostName !== gw.host.name && fs.existsSync(local)) {
      await gw.conn!.upload(local, path.posix.join(gw.workspace, 'incoming', 'debs'));
    }
  }
  const r = await run.exec(gw, 'repo', 'repo-publish', run.renderer.render('stage-repo-publish.sh.hbs', { workspace: gw.workspace }), { timeoutMs: 600_000 });
  if (r.code !== 0) throw new StageFailure('build', `publishing the package repository on ${gw.host.name} failed (exit ${r.code}): ${lastLine(r.stderr)}`);
  const [repoPath, count] = markerValue(parseMarkers(r.stdout), 'repo') ?? [];
  if (!repoPath || count === '0') throw new StageFailure('build', 'the builds produced no .deb packages to publish');
  return { repoPath, count: count ?? '?' };
}
