import type { BundleLayout } from '../bundle.js';
import { checkedOut, renderCheckout } from '../source-checkout.js';
import { StageFailure, type JobRun } from '../job-run.js';
import { judgePuppet, stageFault } from '../judge.js';
import { configurationFacts } from '../plan.js';

/**
 * configure: Puppet modules fetched, then each host's manifest applied with --detailed-exitcodes,
 * and applied again to prove it idempotent (the second run must change nothing).
 */
export async function configure(run: JobRun, bundle: BundleLayout | undefined): Promise<string> {
  const puppet = run.plan.definition.puppet;
  if (!puppet) return 'skipped: the template has no puppet section';
  const targets = run.hosts.filter((h) => bundle?.manifests[h.host.name]);
  if (targets.length === 0) return 'skipped: no manifest applies to any host';
  const modules = run.plan.sources.filter((s) => s.kind === 'module');
  const packages = puppet.modules.flatMap((m) => (m.package ? [m.package] : []));
  const judgements = await Promise.all(
    targets.map(async (h) => {
      const gitModules = modules.map((s) => ({ dir: s.name, checkout: renderCheckout(run.renderer, s, bundle, h.workspace) }));
      const script = run.renderer.render('stage-configure.sh.hbs', {
        workspace: h.workspace,
        gitModules,
        packages,
        // Paths on the hosts themselves (modules shipped from here go through modules[].path).
        modulepath: puppet.modulepath,
        manifest: bundle!.manifests[h.host.name],
        noop: puppet.noop,
        idempotence: puppet.idempotence && !puppet.noop,
        facts: configurationFacts(run.plan.configuration),
      });
      const r = await run.exec(h, 'configure', 'configure', script, { timeoutMs: puppet.timeoutSeconds * 2000 + 600_000 });
      const judged = judgePuppet(h.host.name, modules.map((m) => checkedOut(m)), r);
      run.recordRevisions(judged.revisions);
      return judged;
    }),
  );
  const fault = stageFault(judgements, 'build');
  if (fault) throw new StageFailure(fault.kind, fault.message);
  return `Puppet applied on ${targets.length} host(s)${puppet.noop ? ' (noop)' : puppet.idempotence ? ', idempotent' : ''}`;
}
