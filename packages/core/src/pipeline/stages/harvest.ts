import fs from 'node:fs';
import path from 'node:path';
import { InfraError, errorMessage } from '../../errors.js';
import { parseJunitXml } from '../../results/junit.js';
import { parseSubunitV2 } from '../../results/subunit.js';
import { StageFailure, type HostRun, type JobRun } from '../job-run.js';
import { lastLine } from '../judge.js';
import { skippedSuiteReport, suiteReportFrom, type ResultsFile, type SuiteReport } from '../suite-results.js';

/** harvest: every prepared host's logs and results pulled into the job directory (always runs, even after a failure). */
export async function harvest(run: JobRun): Promise<string> {
  const problems: string[] = [];
  const prepared = run.hosts.filter((h) => h.prepared);
  await Promise.all(
    prepared.map(async (h) => {
      try {
        await harvestHost(run, h);
      } catch (err) {
        problems.push(`${h.host.name}: ${errorMessage(err)}`);
      }
    }),
  );
  if (problems.length > 0) throw new StageFailure('infra', `could not harvest from ${problems.join('; ')}`);
  return `results and logs of ${prepared.length} host(s) in ${run.jobDir}`;
}

async function harvestHost(run: JobRun, h: HostRun): Promise<void> {
  if (h.lost) throw new InfraError(`not harvested (${h.lost})`);
  const paths = run.plan.definition.logs
    .filter((l) => (l.host ? l.host === h.host.name : l.role ? h.host.roles.includes(l.role) : true))
    .flatMap((l) => l.paths);
  const r = await run.exec(h, 'harvest', 'harvest', run.renderer.render('stage-harvest.sh.hbs', { workspace: h.workspace, paths }), {
    timeoutMs: 300_000,
    live: false,
  });
  if (r.code !== 0) throw new InfraError(`harvest script exited ${r.code}: ${lastLine(r.stderr)}`);
  await h.conn!.download(path.posix.join(h.workspace, 'harvest'), path.join(run.jobDir, 'hosts', h.host.name));
}

/** Reads one harvested results file in the suite's format (a file of another kind holds no results). */
function readResultsFile(file: string, format: 'junit' | 'subunit', jobDir: string): ResultsFile {
  const rel = path.relative(jobDir, file);
  try {
    const parsed = format === 'subunit' ? parseSubunitV2(fs.readFileSync(file), rel) : file.endsWith('.xml') ? parseJunitXml(fs.readFileSync(file, 'utf8'), rel) : undefined;
    return parsed ? { file: rel, cases: parsed.cases, durationMs: parsed.durationMs, ...(parsed.stdout ? { stdout: parsed.stdout } : {}) } : { file: rel, cases: [], durationMs: 0 };
  } catch (err) {
    return { file: rel, error: errorMessage(err) };
  }
}

/** Every suite's report from the harvested results: skipped suites first, then each suite run per host. */
export function collectSuiteReports(run: JobRun): SuiteReport[] {
  const suites = run.plan.definition.suites;
  const reports: SuiteReport[] = [];
  for (const s of run.suiteRuns) if ('skipped' in s) reports.push(skippedSuiteReport({ ...suites[s.index]!, skip: s.skipped }));
  const ran = run.suiteRuns.filter((s): s is Extract<typeof s, { host: string }> => 'host' in s);
  for (const s of ran) {
    const suite = suites[s.index]!;
    const dir = path.join(run.jobDir, 'hosts', s.host, 'results', `suite-${s.index}`);
    const names = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
    const files = names.map((f) => readResultsFile(path.join(dir, f), suite.format, run.jobDir));
    const onSeveralHosts = ran.filter((r) => r.name === s.name).length > 1;
    reports.push(
      suiteReportFrom({ name: suite.name, host: s.host, format: suite.format, onSeveralHosts, ...(s.exitCode !== undefined ? { exitCode: s.exitCode } : {}) }, files),
    );
  }
  return reports;
}
