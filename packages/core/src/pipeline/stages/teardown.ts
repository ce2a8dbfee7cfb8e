import { errorMessage } from '../../errors.js';
import type { ServerGroup } from '../../model.js';
import { deleteGroup } from '../../providers/group-records.js';
import type { ProviderContext } from '../../providers/types.js';
import type { StageOutcome } from '../../results/classify.js';
import type { JobRun } from '../job-run.js';
import { decideTeardown } from '../judge.js';

/** teardown: the job's group deleted unless kept (--keep, keep on failure) or not the job's own; never changes the verdict. */
export async function teardown(run: JobRun, ctx: ProviderContext, facts: { group?: ServerGroup; groupName?: string; failed: boolean }): Promise<{ outcome: StageOutcome; kept: boolean }> {
  const started = run.clock();
  const keepOnFailure = run.options.keepOnFailure ?? run.plan.definition.keepOnFailure;
  const decision = decideTeardown({
    ...(run.options.group ? { existingGroup: run.options.group } : {}),
    ...(facts.groupName ? { groupName: facts.groupName } : {}),
    groupCreated: facts.group !== undefined,
    keep: Boolean(run.options.keep),
    keepOnFailure,
    failed: facts.failed,
  });
  const closeAll = () => Promise.all(run.hosts.map((h) => h.conn?.close().catch(() => undefined)));
  if (decision.action !== 'delete') {
    const kept = decision.action === 'keep' || run.options.group !== undefined;
    if (kept) await closeAll();
    return { outcome: { stage: 'teardown', status: 'skipped', message: decision.message }, kept };
  }
  try {
    const stored = (await run.options.store.read()).groups[decision.group];
    let message = `server group ${decision.group} already removed`;
    if (stored && stored.state !== 'deleted') {
      await run.stopRemote();
      await closeAll();
      await deleteGroup(decision.group, ctx);
      message = `deleted server group ${decision.group}`;
    }
    return { outcome: { stage: 'teardown', status: 'passed', durationMs: run.clock() - started, message }, kept: false };
  } catch (err) {
    return { outcome: { stage: 'teardown', status: 'failed', kind: 'infra', durationMs: run.clock() - started, message: errorMessage(err) }, kept: false };
  }
}
