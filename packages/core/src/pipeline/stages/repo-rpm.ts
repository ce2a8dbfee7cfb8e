import fs from 'node:fs';
import path from 'node:path';
import type { ServerGroup } from '../../model.js';
import { StageFailure, type HostRun, type JobRun } from '../job-run.js';
import { lastLine, type ScriptRun } from '../judge.js';
import { markerValue, parseMarkers } from '../markers.js';
import { buildHosts } from './build.js';
import { pointEveryHost } from './repo-hosts.js';

/** Pure: a repo script that found a tool missing on its host is the machinery's fault; any other failure the packages'. */
export function judgeRpmRepoScript(host: string, what: string, run: ScriptRun): StageFailure | undefined {
  const missing = markerValue(parseMarkers(run.stdout), 'repo-infra');
  if (missing) return new StageFailure('infra', `${what} on ${host}: ${missing.join(' ')}`);
  if (run.code !== 0) return new StageFailure('build', `${what} on ${host} failed (exit ${run.code}): ${lastLine(run.stderr)}`);
  return undefined;
}

/** repo, for RPMs: a dnf repository (createrepo_c) on the gateway, and every host's private dnf configuration pointed at it. */
export async function rpmRepo(run: JobRun, group: ServerGroup): Promise<string> {
  const gw = run.gateway();
  const { repoPath, count } = await publishRpms(run, gw);
  await pointEveryHost(run, group, repoPath, async (h, hostRepo) => {
    const script = run.renderer.render('stage-repo-client-rpm.sh.hbs', { workspace: h.workspace, repoPath: hostRepo });
    const r = await run.exec(h, 'repo', 'repo-client-rpm', script, { timeoutMs: 600_000 });
    const fault = judgeRpmRepoScript(h.host.name, 'pointing dnf at the RPM repository', r);
    if (fault) throw fault;
  });
  return `${count} RPM(s) published on ${gw.host.name} with createrepo_c`;
}

/** Gathers every build host's RPMs on the gateway and makes the repository there; answers its path. */
async function publishRpms(run: JobRun, gw: HostRun): Promise<{ repoPath: string; count: string }> {
  for (const hostName of buildHosts(run).keys()) {
    const local = path.join(run.jobDir, 'rpms', hostName);
    if (hostName !== gw.host.name && fs.existsSync(local)) await gw.conn!.upload(local, path.posix.join(gw.workspace, 'incoming', 'rpms'));
  }
  const script = run.renderer.render('stage-repo-publish-rpm.sh.hbs', { workspace: gw.workspace });
  const r = await run.exec(gw, 'repo', 'repo-publish-rpm', script, { timeoutMs: 600_000 });
  const fault = judgeRpmRepoScript(gw.host.name, 'publishing the RPM repository', r);
  if (fault) throw fault;
  const [repoPath, count] = markerValue(parseMarkers(r.stdout), 'rpm-repo') ?? [];
  if (!repoPath || count === '0') throw new StageFailure('build', 'the builds produced no RPMs to publish');
  return { repoPath, count: count ?? '?' };
}
