import path from 'node:path';
import type { ServerGroup } from '../../model.js';
import type { HostRun, JobRun } from '../job-run.js';

/**
 * Runs `point` on every host with the path of the gateway's repository as that host sees it: where
 * it is for the gateway and for hosts of the local provider (this machine), else an uploaded copy.
 */
export async function pointEveryHost(run: JobRun, group: ServerGroup, repoPath: string, point: (h: HostRun, hostRepo: string) => Promise<void>): Promise<void> {
  const gw = run.gateway();
  const sameMachine = group.provider === 'local';
  const name = path.posix.basename(repoPath);
  let localCopy: Promise<string> | undefined;
  const copyHere = async () => {
    const dir = path.join(run.jobDir, name);
    await gw.conn!.download(repoPath, dir);
    return dir;
  };
  await Promise.all(
    run.hosts.map(async (h) => {
      let hostRepo = repoPath;
      if (h !== gw && !sameMachine) {
        // One download serves every other host; each waits for it to be complete.
        localCopy ??= copyHere();
        hostRepo = path.posix.join(h.workspace, name);
        await h.conn!.upload(await localCopy, hostRepo);
      }
      await point(h, hostRepo);
    }),
  );
}
