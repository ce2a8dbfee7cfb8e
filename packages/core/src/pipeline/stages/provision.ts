import path from 'node:path';
import { UserError } from '../../errors.js';
import type { ServerGroup } from '../../model.js';
import { createGroup, groupNameForJob } from '../../providers/group-create.js';
import { connectHost } from '../../providers/group-exec.js';
import { getGroup } from '../../providers/group-records.js';
import type { ProviderContext } from '../../providers/types.js';
import type { HostRun, JobRun } from '../job-run.js';
import { validateAgainstGroup } from '../template-checks.js';

export interface Provisioned {
  group: ServerGroup;
  hosts: HostRun[];
  note: string;
}

/**
 * provision: the job's own server group (its name recorded before anything exists, so nothing
 * leaks), or the existing group a stepwise command names; then one pooled connection per host.
 */
export async function provision(run: JobRun, ctx: ProviderContext, onName: (name: string) => Promise<void>): Promise<Provisioned> {
  const existing = run.options.group;
  let group: ServerGroup;
  let note: string;
  if (existing) {
    group = await getGroup(existing, ctx);
    if (group.state !== 'ready') throw new UserError(`server group ${group.name} is ${group.state}, not ready`);
    validateAgainstGroup(run.plan, group.hosts);
    note = `using existing server group ${group.name}`;
  } else {
    const name = groupNameForJob(run.plan.template, run.job.id);
    await onName(name);
    group = await createGroup(run.plan.group!, { name, jobId: run.job.id, where: `templates.${run.plan.template}.group` }, ctx);
    note = `created server group ${name} (${group.provider}, ${group.hosts.length} host(s))`;
  }
  const key = run.options.workspaceKey ?? run.job.id;
  const hosts: HostRun[] = group.hosts.map((host) => ({
    host,
    workspace: path.posix.join(host.workDir ?? '.smokestack', 'jobs', key),
    prepared: false,
    ...(group.provider === 'local' ? { machine: 'this machine' } : {}),
  }));
  // Connections are recorded as they open, so a failure still lets harvest and teardown reach the others.
  run.hosts = hosts;
  await Promise.all(
    hosts.map(async (h) => {
      h.conn = await connectHost(group, h.host, ctx);
    }),
  );
  return { group, hosts, note };
}
