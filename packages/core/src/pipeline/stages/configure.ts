import { manifestFor, type BundleLayout } from '../bundle.js';
import { checkedOut, renderCheckout } from '../source-checkout.js';
import { StageFailure, type JobRun } from '../job-run.js';
import { judgePuppet, stageFault } from '../judge.js';
import { configurationFacts } from '../plan.js';

/**
 * configure: Puppet modules fetched, then each host's manifest applied with --detailed-exitcodes,
 * and applied again to prove it idempotent (the second run must change nothing). Hosts that are
 * one machine (the local provider's) and have the same manifest are configured once: Puppet would
 * compile the same catalog for the same computer again.
 */
export async function configure(run: JobRun, bundle: BundleLayout | undefined): Promise<string> {
  const puppet = run.plan.definition.puppet;
  if (!puppet) return 'skipped: the template has no puppet section';
  const withManifest = run.hosts.filter((h) => bundle?.manifests[h.host.name]);
  if (withManifest.length === 0) return 'skipped: no manifest applies to any host';
  const sharing = new Map<string, string>();
  const shared: string[] = [];
  const targets = withManifest.filter((h) => {
    if (!h.machine) return true;
    const chosen = manifestFor(puppet.manifests, h.host)!;
    const key = `${h.machine}\0${chosen.value}`;
    const first = sharing.get(key);
    if (first === undefined) sharing.set(key, h.host.name);
    else {
      run.logs.line('configure', h.host.name, `configured with ${first}: the same machine and manifest (manifests.${chosen.key})`);
      shared.push(`${h.host.name} with ${first}`);
    }
    return first === undefined;
  });
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
  const note = shared.length ? `; ${shared.join(', ')} (one machine, one manifest)` : '';
  return `Puppet applied on ${targets.length} host(s)${puppet.noop ? ' (noop)' : puppet.idempotence ? ', idempotent' : ''}${note}`;
}
