import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAxisSpec } from '../config/axes.js';
import { resolveTemplate, type LoadedConfig } from '../config/load.js';
import { UserError, errorMessage } from '../errors.js';
import { imageSettings } from '../images/settings.js';
import type { Logger } from '../log/logger.js';
import type { Job, JobSource } from '../model.js';
import { defaultConfigPath } from '../paths.js';
import { queueOf } from '../queue/queue.js';
import { getGroup } from '../providers/group-records.js';
import { describeSnapshot, snapshotLocalSource } from './checkout.js';
import { STAGES, type StageName, type StageOutcome } from '../results/classify.js';
import type { WrittenJobPage } from '../web/job-pages.js';
import { jobPublisher } from '../web/publish.js';
import { parseChangeSpec, planJob, type JobPlan } from './plan.js';
import { ALWAYS_RUN_STAGES, runPipeline, type PipelineOptions, type PipelineResult } from './runner.js';

export interface RunTemplateOptions extends Omit<PipelineOptions, 'stages' | 'workspaceKey' | 'onGroup'> {
  loaded: LoadedConfig;
  template: string;
  /** `--change` values as given on the command line. */
  changes?: string[];
  /** `--axis AXIS=VALUE` values: the combination of the template's axes to run. */
  axes?: string[];
  cwd?: string;
}

export interface RunTemplateResult {
  job: Job;
  result: PipelineResult;
  /** The job's page (a file, or its URL when web.url is set). */
  page?: string;
}

/** Plans a template run with its changes applied and its axes chosen; every problem is a one-line UserError. */
export function planTemplateRun(loaded: LoadedConfig, template: string, changes: string[] = [], cwd = process.cwd(), axes: string[] = []): JobPlan {
  if (!loaded.path && !(template in loaded.config.templates)) throw noConfigFile(template, cwd);
  const definition = resolveTemplate(loaded, template);
  const specs = changes.map((c) => parseChangeSpec(c, cwd));
  const configuration = Object.fromEntries(axes.map((a) => parseAxisSpec(a)));
  return planJob(template, definition, { baseDir: loaded.dir, changes: specs, configuration });
}

/** No config file anywhere: say where we looked and, in a SmokeStack checkout, which config has the examples. */
function noConfigFile(template: string, cwd: string): UserError {
  const examples = path.join(cwd, 'examples', 'smokestack.yaml');
  return new UserError(`no smokestack.yaml found, so no template "${template}" (looked at --config, SMOKESTACK_CONFIG, ./smokestack.yaml, ${defaultConfigPath()})`, {
    hint: fs.existsSync(examples) ? `the examples are configured in examples/smokestack.yaml: firestack run --config examples/smokestack.yaml --template ${template}` : 'pass --config FILE',
  });
}

/**
 * Takes what each local source ships (its working tree as it is, or a plain directory) before
 * anything runs, and says so first: which revision, and which uncommitted files go in.
 */
export async function snapshotLocalSources(plan: JobPlan, scratch: string, logger: Logger): Promise<JobPlan> {
  const sources = [];
  for (const s of plan.sources) {
    if (!s.localPath) {
      sources.push(s);
      continue;
    }
    const snapshot = await snapshotLocalSource(s.localPath, scratch);
    logger.info(describeSnapshot(s.project, snapshot));
    sources.push({ ...s, snapshot });
  }
  return { ...plan, sources };
}

/** Pure: the job's sources with the local HEAD and the uncommitted files of each shipped working tree. */
export function withUncommitted(sources: JobSource[], plan: JobPlan): JobSource[] {
  return sources.map((s, i) => {
    const snapshot = plan.sources[i]?.snapshot;
    if (!snapshot?.head) return s;
    return { ...s, localHead: snapshot.head, ...(snapshot.uncommitted.length ? { uncommitted: snapshot.uncommitted.map((f) => `${f.path} (${f.status})`) } : {}) };
  });
}

/** Runs `fn` with the plan's local sources snapshotted in a scratch directory removed afterwards. */
async function withLocalSources<T>(plan: JobPlan, logger: Logger, fn: (plan: JobPlan) => Promise<T>): Promise<T> {
  if (!plan.sources.some((s) => s.localPath)) return fn(plan);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-sources-'));
  try {
    return await fn(await snapshotLocalSources(plan, scratch, logger));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Records a run that no queue scheduled (a laptop run or a stepwise command) as a running job. */
function startAdHocJob(options: RunTemplateOptions, plan: JobPlan, reason: Job['reason'], group?: string): Promise<Job> {
  const now = (options.now ?? (() => new Date()))();
  const first = options.changes?.[0];
  const project = first ? first.slice(0, first.indexOf('=')) : '';
  return queueOf(options.store).startAdHoc(
    {
      configId: 'adhoc',
      project,
      number: 0,
      patchSet: 0,
      revision: '',
      template: options.template,
      configuration: plan.configuration,
      reason,
      worker: `cli:${process.pid}`,
      ...(options.changes ? { changes: options.changes } : {}),
      ...(group ? { group } : {}),
    },
    now,
  );
}

function finishAdHocJob(options: RunTemplateOptions, id: string, result: PipelineResult | { status: 'infra_failed'; message: string }): Promise<Job> {
  const now = (options.now ?? (() => new Date()))();
  return queueOf(options.store).finishAdHoc(id, result, now);
}

/** `firestack run`: the whole pipeline for one template, recorded as a job so logs and reproduce work. */
export async function runTemplate(options: RunTemplateOptions): Promise<RunTemplateResult> {
  const plan = planTemplateRun(options.loaded, options.template, options.changes, options.cwd, options.axes);
  return withLocalSources(plan, options.logger, (shipped) => runPlanned(options, shipped));
}

async function runPlanned(options: RunTemplateOptions, plan: JobPlan): Promise<RunTemplateResult> {
  const job = await startAdHocJob(options, plan, 'manual');
  const page = adHocPage(options, job);
  let result: PipelineResult;
  try {
    result = await runPipeline(job, plan, {
      ...options,
      images: imageSettings(options.loaded.config, options.env ?? process.env),
      onGroup: (name) => queueOf(options.store).recordGroup(job.id, name),
      onStageEnd: page.stageEnded,
    });
  } catch (err) {
    await page.finished(await finishAdHocJob(options, job.id, { status: 'infra_failed', message: errorMessage(err) }));
    throw err;
  }
  result = { ...result, sources: withUncommitted(result.sources, plan) };
  const finished = await finishAdHocJob(options, job.id, result);
  const written = await page.finished(finished);
  return { job: finished, result, ...(written ? { page: written.url ?? written.file } : {}) };
}

/** The page of a run from this machine, rewritten as each stage ends and when it finishes. */
function adHocPage(options: RunTemplateOptions, job: Job) {
  const publisher = jobPublisher({ store: options.store, loaded: options.loaded, logger: options.logger, ...(options.now ? { now: options.now } : {}) });
  let chain: Promise<WrittenJobPage | undefined> = Promise.resolve(undefined);
  return {
    stageEnded: (outcomes: readonly StageOutcome[]) => void (chain = chain.then(() => publisher.publish(job, { stagesSoFar: [...outcomes] }))),
    finished: (record: Job) => (chain = chain.then(() => publisher.publish(record))),
  };
}

export const STEPWISE_STAGES = {
  build: ['build'],
  repo: ['repo'],
  puppet: ['configure'],
  test: ['test'],
} as const satisfies Record<string, StageName[]>;

/** The stages a stepwise command goes through, in order: those that always run, its own, and teardown. */
export function stagesOfStep(step: keyof typeof STEPWISE_STAGES): StageName[] {
  const own: readonly StageName[] = STEPWISE_STAGES[step];
  return STAGES.filter((s) => ALWAYS_RUN_STAGES.includes(s) || own.includes(s) || s === 'teardown');
}

export interface StepwiseOptions extends RunTemplateOptions {
  group: string;
  step: keyof typeof STEPWISE_STAGES;
}

/**
 * `firestack build|repo|puppet|test --group G`: one stage on an existing group, for interactive
 * work. Steps share a working directory per group on each host, so build → repo → puppet → test
 * can be run one at a time; the group is never deleted.
 */
export async function runStep(options: StepwiseOptions): Promise<RunTemplateResult> {
  const plan = planTemplateRun(options.loaded, options.template, options.changes, options.cwd, options.axes);
  const group = await getGroup(options.group, options);
  if (group.state !== 'ready') throw new UserError(`server group ${group.name} is ${group.state}, not ready${group.error ? `: ${group.error}` : ''}`);
  return withLocalSources(plan, options.logger, async (shipped) => {
    const job = await startAdHocJob(options, shipped, 'manual', options.group);
    const page = adHocPage(options, job);
    const result = await runPipeline(job, shipped, {
      ...options,
      images: imageSettings(options.loaded.config, options.env ?? process.env),
      group: options.group,
      stages: [...STEPWISE_STAGES[options.step]],
      workspaceKey: 'interactive',
      onStageEnd: page.stageEnded,
    });
    const recorded = { ...result, sources: withUncommitted(result.sources, shipped) };
    const finished = await finishAdHocJob(options, job.id, recorded);
    const written = await page.finished(finished);
    return { job: finished, result: recorded, ...(written ? { page: written.url ?? written.file } : {}) };
  });
}

/** Moves a previous run's files aside (a recovered job runs again in the same directory). */
export function setAsidePreviousRun(jobDir: string): string | undefined {
  if (!fs.existsSync(jobDir)) return undefined;
  const entries = fs.readdirSync(jobDir).filter((e) => !e.startsWith('interrupted-'));
  if (entries.length === 0) return undefined;
  let n = 1;
  while (fs.existsSync(path.join(jobDir, `interrupted-${n}`))) n++;
  const target = path.join(jobDir, `interrupted-${n}`);
  fs.mkdirSync(target);
  for (const e of entries) fs.renameSync(path.join(jobDir, e), path.join(target, e));
  return target;
}

export function assertTemplateName(name: string | undefined): string {
  if (!name) throw new UserError('--template: no template named', { hint: 'pass --template NAME (see templates: in smokestack.yaml)' });
  return name;
}
