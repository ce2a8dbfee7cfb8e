import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Configuration } from '../config/axes.js';
import { UserError, errorMessage, isUserError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { JobSource, RequiredSkip, ServerGroup, SkippedTest, TestSummary } from '../model.js';
import { normalizeGroupDefinition } from '../providers/normalize.js';
import { connectHost, withPool } from '../providers/group-exec.js';
import type { ProviderContext } from '../providers/types.js';
import { TemplateRenderer } from '../render/render.js';
import { STAGES, type Classification, type FailureKind, type StageName, type StageOutcome } from '../results/classify.js';
import { requiredTestsNotRun } from '../results/required.js';
import { rollUpResults } from '../results/summary.js';
import { acquireLock } from '../store/lock.js';
import type { BundleLayout } from './bundle.js';
import { JobRun, StageFailure, type PipelineOptions } from './job-run.js';
import { judgeJob } from './judge.js';
import type { JobPlan } from './plan.js';
import { build } from './stages/build.js';
import { configure } from './stages/configure.js';
import { collectSuiteReports, harvest } from './stages/harvest.js';
import { prepare } from './stages/prepare.js';
import { provision } from './stages/provision.js';
import { repo } from './stages/repo.js';
import { teardown } from './stages/teardown.js';
import { test } from './stages/test.js';
import type { SuiteReport } from './suite-results.js';
import { validateAgainstGroup } from './template-checks.js';

export { StageFailure, type PipelineOptions } from './job-run.js';
export type { SuiteReport } from './suite-results.js';

export interface PipelineResult {
  jobId: string;
  template: string;
  /** The combination of the template's axes the job ran with (empty without axes). */
  configuration: Configuration;
  status: Classification['status'];
  message: string;
  stages: StageOutcome[];
  summary: TestSummary;
  skipped: SkippedTest[];
  failedTests: string[];
  /** Tests the template requires that were skipped or absent (only when the test stage ran). */
  requiredSkipped: RequiredSkip[];
  suites: SuiteReport[];
  sources: JobSource[];
  group?: string;
  kept: boolean;
  logDir: string;
  timing: { wallMs: number; remoteMs: number; overheadMs: number };
}

/** Union length of [start, end] intervals: wall time during which at least one remote command ran. */
export function coveredMs(intervals: ReadonlyArray<readonly [number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = -1;
  let curEnd = -1;
  for (const [s, e] of sorted) {
    if (s > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else curEnd = Math.max(curEnd, e);
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/** Stages that run even when `stages` names only some (they set up and collect the job). */
export const ALWAYS_RUN_STAGES: readonly StageName[] = ['provision', 'prepare', 'harvest'];

/** Runs one job: the stages of the design, in order, each as one script per host. */
export async function runPipeline(job: { id: string; attempt?: number }, plan: JobPlan, options: PipelineOptions): Promise<PipelineResult> {
  const release = plan.group?.provider === 'local' ? await takeThisMachine(job.id, plan, options.logger) : undefined;
  try {
    return await new Sequence(new JobRun(job, plan, options)).execute();
  } finally {
    release?.();
  }
}

/**
 * Hosts of the local provider are this machine: its package database, /etc and services are shared
 * by every local job, so two at once would install over each other and test each other's builds.
 * One machine-wide lock (across workers, stores and `firestack run`) keeps them one at a time.
 */
export const LOCAL_PROVIDER_LOCK = path.join(os.tmpdir(), 'smokestack-local-provider');

async function takeThisMachine(jobId: string, plan: JobPlan, logger: Logger): Promise<() => void> {
  try {
    return await acquireLock(LOCAL_PROVIDER_LOCK, { timeoutMs: 0 });
  } catch (err) {
    if (!isUserError(err)) throw err;
    logger.info(`job ${jobId}: waiting for another local-provider job on this machine to finish`);
    return acquireLock(LOCAL_PROVIDER_LOCK, { timeoutMs: plan.definition.timeoutSeconds * 1000 });
  }
}

/** The order of the stages, what happens after a failure or a stop, and the job's deadline. */
class Sequence {
  private readonly outcomes: StageOutcome[] = [];
  private failed = false;

  constructor(private readonly run: JobRun) {}

  async execute(): Promise<PipelineResult> {
    const { run } = this;
    const started = run.clock();
    fs.mkdirSync(run.jobDir, { recursive: true });
    const planFile = { job: run.job.id, template: run.plan.template, configuration: run.plan.configuration, definition: run.plan.definition, sources: run.sources };
    fs.writeFileSync(path.join(run.jobDir, 'plan.json'), `${JSON.stringify(planFile, null, 2)}\n`);
    if (!run.options.group) {
      if (!run.plan.group) throw new UserError(`templates.${run.plan.template}.group: the template names no server group`, { hint: 'add group: to the template, or pass --group NAME' });
      validateAgainstGroup(run.plan, normalizeGroupDefinition(run.plan.group, `templates.${run.plan.template}.group`));
    }
    const outer = run.options.signal;
    const onOuterAbort = () => run.abort(String(outer?.reason ?? 'cancelled'));
    if (outer?.aborted) onOuterAbort();
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const timer = setTimeout(() => run.abort('timeout'), run.plan.definition.timeoutSeconds * 1000);
    timer.unref?.();
    try {
      return await withPool(run.providerContext(false), (base) => this.stages(base.pool, started));
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  private async stages(pool: ProviderContext['pool'], started: number): Promise<PipelineResult> {
    const { run } = this;
    let group: ServerGroup | undefined;
    let groupName = run.options.group;
    let bundle: BundleLayout | undefined;
    const onName = async (name: string) => {
      groupName = name;
      await run.options.onGroup?.(name);
    };
    await this.stage('provision', async () => {
      const provisioned = await provision(run, run.providerContext(true, pool), onName);
      group = provisioned.group;
      return provisioned.note;
    });
    await this.stage('prepare', async () => {
      bundle = await prepare(run, group!);
      return `job bundle on ${run.hosts.length} host(s)`;
    });
    await this.stage('build', () => build(run, bundle));
    await this.stage('repo', () => repo(run, group!));
    await this.stage('configure', () => configure(run, bundle));
    await this.stage('test', () => test(run));
    if (run.signal.aborted) await run.stopRemote();
    await this.stage('harvest', () => harvest(run));
    const suites = collectSuiteReports(run);
    const rollup = rollUpResults(suites.map((s) => ({ name: s.name, results: s.results })));
    const requiredSkipped = this.testsRan() ? requiredTestsNotRun(run.plan.template, run.plan.definition.requiredTests, suites.flatMap((s) => s.results.cases)) : [];
    const verdict = judgeJob(this.outcomes, rollup, requiredSkipped);
    const down = await teardown(run, run.providerContext(false, pool), { ...(group ? { group } : {}), ...(groupName ? { groupName } : {}), failed: verdict.status !== 'success' });
    this.record(down.outcome);
    const wallMs = run.clock() - started;
    const remoteMs = coveredMs(run.intervals);
    const result: PipelineResult = {
      jobId: run.job.id,
      template: run.plan.template,
      configuration: run.plan.configuration,
      status: verdict.status,
      message: verdict.message,
      stages: this.outcomes,
      summary: rollup.summary,
      skipped: rollup.skipped,
      failedTests: rollup.failedTests,
      requiredSkipped,
      suites,
      sources: run.sources,
      ...(groupName ? { group: groupName } : {}),
      kept: down.kept,
      logDir: run.jobDir,
      timing: { wallMs, remoteMs, overheadMs: wallMs - remoteMs },
    };
    fs.writeFileSync(path.join(run.jobDir, 'summary.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  }

  /** Whether a stage runs: not outside the stepwise selection, not after a failure (harvest always), not when stopped. */
  private async mayRun(name: StageName): Promise<boolean> {
    const { run } = this;
    if (run.options.stages && !ALWAYS_RUN_STAGES.includes(name) && !run.options.stages.includes(name)) return false;
    if (name === 'harvest' && run.hosts.every((h) => !h.prepared)) {
      this.record({ stage: name, status: 'skipped', message: 'nothing to harvest: no host was prepared' });
      return false;
    }
    if (this.failed && name !== 'harvest') {
      this.record({ stage: name, status: 'skipped', message: 'skipped after an earlier failure' });
      return false;
    }
    if (name === 'harvest') return true;
    try {
      await run.options.beforeStage?.(name);
    } catch (err) {
      run.abort(errorMessage(err));
    }
    if (!run.signal.aborted) return true;
    this.failed = true;
    this.record({ stage: name, status: 'failed', ...run.abortOutcome() });
    return false;
  }

  private async stage(name: StageName, fn: () => Promise<string | void>): Promise<void> {
    if (!(await this.mayRun(name))) return;
    const { run } = this;
    const started = run.clock();
    if (run.options.stageView) run.options.stageView.start(name);
    else run.options.logger.info(`${name}: started`);
    try {
      const message = (await fn()) ?? undefined;
      const outcome: StageOutcome = { stage: name, status: 'passed', durationMs: run.clock() - started, ...(message ? { message } : {}) };
      if (message?.startsWith('skipped:')) Object.assign(outcome, { status: 'skipped', message: message.slice(9).trim() });
      this.record(outcome);
    } catch (err) {
      let kind: FailureKind = err instanceof StageFailure ? err.kind : 'infra';
      let message = errorMessage(err);
      if (run.signal.aborted && name !== 'harvest') ({ kind, message } = run.abortOutcome());
      if (name !== 'harvest') this.failed = true;
      this.record({ stage: name, status: 'failed', kind, message, durationMs: run.clock() - started });
      if (isUserError(err) && name === 'provision') run.options.logger.debug(errorMessage(err));
    }
  }

  /** Whether the test stage ran to the end: only then can a required test be called skipped or absent. */
  private testsRan(): boolean {
    return this.outcomes.some((o) => o.stage === 'test' && o.status !== 'skipped' && (o.status === 'passed' || o.kind === 'test'));
  }

  private record(outcome: StageOutcome): void {
    const { run } = this;
    this.outcomes.push(outcome);
    const took = outcome.durationMs !== undefined ? ` in ${(outcome.durationMs / 1000).toFixed(1)}s` : '';
    const text = `${outcome.stage}: ${outcome.status}${took}${outcome.message ? ` — ${outcome.message}` : ''}`;
    if (run.options.stageView) run.options.stageView.end(outcome.stage, outcome);
    else if (outcome.status === 'failed') run.options.logger.warn(text);
    else run.options.logger.info(text);
    run.logs.line(outcome.stage, '-', text);
    run.options.onStageEnd?.([...this.outcomes]);
  }
}

/** Kills a job's stage scripts on every reachable host of a group (used when recovering a dead worker's job). */
export async function stopJobOnGroup(group: ServerGroup, jobId: string, ctx: ProviderContext, renderer = new TemplateRenderer()): Promise<void> {
  await Promise.all(
    group.hosts.map(async (host) => {
      try {
        const conn = await connectHost(group, host, ctx);
        try {
          const workspace = path.posix.join(host.workDir ?? '.smokestack', 'jobs', jobId);
          await conn.exec(renderer.render('stage-stop.sh.hbs', { workspace }), { timeoutMs: 15_000 });
        } finally {
          await conn.close();
        }
      } catch (err) {
        ctx.logger.warn(`job ${jobId}: could not stop its scripts on ${host.name}: ${errorMessage(err)}`);
      }
    }),
  );
}

export { STAGES };
