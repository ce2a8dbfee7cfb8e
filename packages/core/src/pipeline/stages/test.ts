import { StageFailure, type HostRun, type JobRun } from '../job-run.js';
import { judgeSuites, testStageFault, type SuitesJudgement } from '../judge.js';
import { configurationEnv } from '../plan.js';

interface HostSuite {
  index: number;
  name: string;
  command: string;
  results: string;
  timeoutSeconds: number;
}

/** The hosts a suite runs on: one by name, every host with a role, else the gateway. */
function suiteHosts(run: JobRun, suite: { host?: string; role?: string }): HostRun[] {
  if (suite.host) return [run.hostRun(suite.host)];
  if (suite.role) return run.hosts.filter((h) => h.host.roles.includes(suite.role!));
  return [run.gateway()];
}

/** Each host's suites, in the template's order; skipped suites are recorded as such. */
function suitesByHost(run: JobRun): Map<HostRun, HostSuite[]> {
  const perHost = new Map<HostRun, HostSuite[]>();
  run.plan.definition.suites.forEach((suite, index) => {
    if (suite.skip) {
      run.suiteRuns.push({ index, name: suite.name, skipped: suite.skip });
      return;
    }
    for (const h of suiteHosts(run, suite)) {
      perHost.set(h, [...(perHost.get(h) ?? []), { index, name: suite.name, command: suite.command, results: suite.results ?? '', timeoutSeconds: suite.timeoutSeconds }]);
      run.suiteRuns.push({ index, name: suite.name, host: h.host.name });
    }
  });
  return perHost;
}

/** test: the template's suites, hosts in parallel, each suite with its own timeout. */
export async function test(run: JobRun): Promise<string> {
  if (run.plan.definition.suites.length === 0) return 'skipped: the template has no suites';
  const perHost = suitesByHost(run);
  const judgements = await Promise.all(
    [...perHost].map(async ([h, items]): Promise<SuitesJudgement> => {
      const total = items.reduce((sum, s) => sum + s.timeoutSeconds + 10, 60);
      const r = await run.exec(h, 'test', 'test', run.renderer.render('stage-test.sh.hbs', { workspace: h.workspace, suites: items, env: configurationEnv(run.plan.configuration) }), { timeoutMs: total * 1000 });
      const judged = judgeSuites(h.host.name, items, r);
      for (const s of run.suiteRuns) {
        if ('host' in s && s.host === h.host.name && judged.exitCodes.has(s.index)) {
          const code = judged.exitCodes.get(s.index);
          if (code !== undefined) s.exitCode = code;
        }
      }
      return judged;
    }),
  );
  const fault = testStageFault(judgements);
  if (fault) throw new StageFailure(fault.kind, fault.message);
  return `${run.suiteRuns.filter((s) => 'host' in s).length} suite run(s) passed`;
}
