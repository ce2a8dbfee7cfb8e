import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { InfraError, UserError, errorMessage, isUserError } from '../errors.js';
import type { ImageSettings } from '../images/service.js';
import type { Logger } from '../log/logger.js';
import type { Host, JobSource, ServerGroup, SkippedTest, TestSummary } from '../model.js';
import { normalizeGroupDefinition } from '../providers/normalize.js';
import { connectHost, createGroup, deleteGroup, getGroup, groupNameForJob, withPool } from '../providers/groups.js';
import { PROVIDERS, providerFor, type ProviderMap } from '../providers/registry.js';
import type { ExecResult, HostConnection, ProviderContext } from '../providers/types.js';
import { TemplateRenderer } from '../render/render.js';
import { classifyJob, STAGES, type Classification, type FailureKind, type StageName, type StageOutcome } from '../results/classify.js';
import { parseJunitXml } from '../results/junit.js';
import { parseSubunitV2 } from '../results/subunit.js';
import { rollUpResults, suiteFromCases } from '../results/summary.js';
import type { SuiteResults } from '../results/types.js';
import { acquireLock } from '../store/lock.js';
import type { StateStore } from '../store/store.js';
import { manifestFor, sourceKey, writeJobBundle, type BundleLayout } from './bundle.js';
import { changedResources, firstPuppetError, markerValue, parseMarkers, sectionBetween } from './markers.js';
import type { JobPlan } from './plan.js';
import { StageLogs } from './stage-log.js';

export interface PipelineOptions {
  store: StateStore;
  logger: Logger;
  now?: () => Date;
  env?: Record<string, string | undefined>;
  providers?: ProviderMap;
  renderer?: TemplateRenderer;
  /** Aborting stops the job: remote scripts are killed, then harvest and teardown still run. */
  signal?: AbortSignal;
  keep?: boolean;
  /** Overrides the template's keepOnFailure. */
  keepOnFailure?: boolean;
  /** Run on this existing server group: no provisioning, no teardown. */
  group?: string;
  /** Only these stages (stepwise work on an existing group); ALWAYS_RUN_STAGES run regardless. */
  stages?: StageName[];
  /** Name of the job's working directory on each host (default: the job id). */
  workspaceKey?: string;
  insecureAcceptHostKeys?: boolean;
  reachableTimeoutMs?: number;
  /** Container images the config defines (for groups on the container provider). */
  images?: ImageSettings;
  /** Called before each stage (the worker checks for superseded/cancelled jobs here). */
  beforeStage?: (stage: StageName) => Promise<void> | void;
  /** Called the moment the job's group name is chosen, before anything exists. */
  onGroup?: (name: string) => Promise<void> | void;
  /** Echo each remote output line (e.g. `firestack run --verbose`). */
  echo?: (stage: StageName, host: string, line: string) => void;
  /** Shows stage progress (a live board on a TTY); the stage lines are then not logged. */
  stageView?: { start(stage: StageName): void; end(stage: StageName, outcome: StageOutcome): void };
}

export interface SuiteReport {
  name: string;
  host?: string;
  exitCode?: number;
  format: 'junit' | 'subunit';
  files: string[];
  results: SuiteResults;
  skipped?: string;
}

export interface PipelineResult {
  jobId: string;
  template: string;
  status: Classification['status'];
  message: string;
  stages: StageOutcome[];
  summary: TestSummary;
  skipped: SkippedTest[];
  failedTests: string[];
  suites: SuiteReport[];
  sources: JobSource[];
  group?: string;
  kept: boolean;
  logDir: string;
  timing: { wallMs: number; remoteMs: number; overheadMs: number };
}

/** A stage failure whose cause is known (the code under test, or the machinery). */
export class StageFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

interface HostRun {
  host: Host;
  conn?: HostConnection;
  workspace: string;
  prepared: boolean;
  /** The connection broke; nothing more is attempted on this host. */
  lost?: string;
}

interface SuiteRun {
  index: number;
  name: string;
  host: string;
  exitCode?: number;
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

/** A stage script that ended by a signal (exit 128+N) before reporting was killed from outside: not the code under test. */
const killedScript = (code: number): boolean => code > 128 && code < 160;

const lastLine = (text: string): string =>
  text
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('::smokestack::'))
    .pop() ?? '';

/** Runs one job: the stages of the design, in order, each as one script per host. */
export async function runPipeline(job: { id: string; attempt?: number }, plan: JobPlan, options: PipelineOptions): Promise<PipelineResult> {
  const release = plan.group?.provider === 'local' ? await takeThisMachine(job.id, plan, options.logger) : undefined;
  try {
    return await new PipelineRun(job, plan, options).run();
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

class PipelineRun {
  private readonly now: () => Date;
  private readonly renderer: TemplateRenderer;
  private readonly jobDir: string;
  private readonly logs: StageLogs;
  private readonly outcomes: StageOutcome[] = [];
  private readonly intervals: Array<[number, number]> = [];
  private readonly hosts: HostRun[] = [];
  private readonly suiteRuns: SuiteRun[] = [];
  private readonly suiteReports: SuiteReport[] = [];
  private readonly sources: JobSource[];
  private readonly controller = new AbortController();
  private group?: ServerGroup;
  private groupName?: string;
  private bundle?: BundleLayout;
  private failed = false;
  private timeoutTimer?: NodeJS.Timeout;
  private deadline = Number.POSITIVE_INFINITY;

  constructor(
    private readonly job: { id: string; attempt?: number },
    private readonly plan: JobPlan,
    private readonly options: PipelineOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.renderer = options.renderer ?? new TemplateRenderer();
    this.jobDir = options.store.jobDir(job.id);
    this.logs = new StageLogs(path.join(this.jobDir, 'logs'), (t) => options.logger.redact(t), this.now);
    this.sources = plan.sources.map((s) => ({
      kind: s.kind,
      name: s.name,
      project: s.project,
      url: s.url,
      ref: s.ref,
      ...(s.mergeTarget ? { mergeTarget: s.mergeTarget } : {}),
      ...(s.localPath ? { localPath: s.localPath } : {}),
      changed: s.changed,
    }));
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  private ctx(withSignal: boolean, pool: ProviderContext['pool']): ProviderContext {
    return {
      store: this.options.store,
      logger: this.options.logger,
      now: this.now,
      env: this.options.env ?? process.env,
      ...(withSignal ? { signal: this.signal } : {}),
      ...(pool ? { pool } : {}),
      ...(this.options.providers ? { providers: this.options.providers } : {}),
      ...(this.options.insecureAcceptHostKeys ? { insecureAcceptHostKeys: true } : {}),
      ...(this.options.reachableTimeoutMs ? { reachableTimeoutMs: this.options.reachableTimeoutMs } : {}),
      ...(this.options.images ? { images: this.options.images } : {}),
    };
  }

  async run(): Promise<PipelineResult> {
    const started = Date.now();
    fs.mkdirSync(this.jobDir, { recursive: true });
    fs.writeFileSync(
      path.join(this.jobDir, 'plan.json'),
      `${JSON.stringify({ job: this.job.id, template: this.plan.template, definition: this.plan.definition, sources: this.sources }, null, 2)}\n`,
    );
    if (!this.options.group) {
      if (!this.plan.group) throw new UserError(`templates.${this.plan.template}.group: the template names no server group`, { hint: 'add group: to the template, or pass --group NAME' });
      this.validateAgainstGroup(normalizeGroupDefinition(this.plan.group, `templates.${this.plan.template}.group`));
    }
    const outer = this.options.signal;
    const onOuterAbort = () => this.abort(String(outer?.reason ?? 'cancelled'));
    if (outer?.aborted) onOuterAbort();
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const limitSeconds = this.plan.definition.timeoutSeconds;
    this.deadline = started + limitSeconds * 1000;
    this.timeoutTimer = setTimeout(() => this.abort('timeout'), limitSeconds * 1000);
    this.timeoutTimer.unref?.();

    let result: PipelineResult;
    try {
      result = await withPool(this.ctx(false, undefined), async (base) => {
        const live = this.ctx(true, base.pool);
        const quiet = this.ctx(false, base.pool);
        await this.stage('provision', () => this.provision(live));
        await this.stage('prepare', () => this.prepare());
        await this.stage('build', () => this.build());
        await this.stage('repo', () => this.repo());
        await this.stage('configure', () => this.configure());
        await this.stage('test', () => this.test());
        if (this.signal.aborted) await this.stopRemote();
        await this.stage('harvest', () => this.harvest());
        const verdict = this.verdict();
        const kept = await this.teardownStage(quiet, verdict.status !== 'success');
        return this.finish(verdict, kept, started);
      });
    } finally {
      clearTimeout(this.timeoutTimer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
    return result;
  }

  /** Template references to hosts and roles must exist in the group (checked before anything is created). */
  private validateAgainstGroup(hosts: Array<{ name: string; roles: string[] }>): void {
    const names = new Set(hosts.map((h) => h.name));
    const roles = new Set(hosts.flatMap((h) => h.roles));
    const where = `templates.${this.plan.template}`;
    const check = (kind: string, i: number, sel: { host?: string; role?: string }) => {
      if (sel.host && !names.has(sel.host)) {
        throw new UserError(`${where}.${kind}[${i}].host: the server group has no host "${sel.host}"`, { hint: `hosts: ${[...names].join(', ')}` });
      }
      if (sel.role && !roles.has(sel.role)) {
        throw new UserError(`${where}.${kind}[${i}].role: no host of the server group has role "${sel.role}"`, { hint: roles.size ? `roles: ${[...roles].join(', ')}` : 'no host has a role' });
      }
    };
    this.plan.definition.builds.forEach((b, i) => check('builds', i, { host: b.host }));
    this.plan.definition.suites.forEach((s, i) => check('suites', i, s));
    this.plan.definition.logs.forEach((l, i) => check('logs', i, l));
  }

  private abort(reason: string): void {
    if (this.signal.aborted) return;
    this.controller.abort(reason);
    this.options.logger.warn(`job ${this.job.id}: stopping (${reason})`);
    void this.stopRemote();
  }

  /** Kills every stage script of this job still running on the hosts (each runs in its own session). */
  private async stopRemote(): Promise<void> {
    await Promise.all(
      this.hosts
        .filter((h) => h.conn && !h.lost)
        .map(async (h) => {
          try {
            const script = this.renderer.render('stage-stop.sh.hbs', { workspace: h.workspace });
            const r = await h.conn!.exec(script, { timeoutMs: 15_000 });
            for (const line of r.stdout.trim().split('\n').filter(Boolean)) this.logs.line('teardown', h.host.name, line);
          } catch (err) {
            this.logs.line('teardown', h.host.name, `could not stop remote scripts: ${errorMessage(err)}`);
          }
        }),
    );
  }

  private abortOutcome(): { kind: FailureKind; message: string } {
    const reason = String(this.signal.reason ?? 'cancelled');
    if (reason === 'timeout') return { kind: 'infra', message: `job timed out after ${this.plan.definition.timeoutSeconds}s` };
    return { kind: 'cancelled', message: `stopped: ${reason}` };
  }

  private async stage(name: StageName, fn: () => Promise<string | void>): Promise<void> {
    if (this.options.stages && !ALWAYS_RUN_STAGES.includes(name) && !this.options.stages.includes(name)) return;
    if (name === 'harvest' && this.hosts.every((h) => !h.prepared)) {
      this.record({ stage: name, status: 'skipped', message: 'nothing to harvest: no host was prepared' });
      return;
    }
    if (this.failed && name !== 'harvest') {
      this.record({ stage: name, status: 'skipped', message: 'skipped after an earlier failure' });
      return;
    }
    if (name !== 'harvest') {
      try {
        await this.options.beforeStage?.(name);
      } catch (err) {
        this.abort(errorMessage(err));
      }
      if (this.signal.aborted) {
        this.failed = true;
        this.record({ stage: name, status: 'failed', ...this.abortOutcome() });
        return;
      }
    }
    const started = Date.now();
    if (this.options.stageView) this.options.stageView.start(name);
    else this.options.logger.info(`${name}: started`);
    try {
      const message = (await fn()) ?? undefined;
      const outcome: StageOutcome = { stage: name, status: 'passed', durationMs: Date.now() - started, ...(message ? { message } : {}) };
      if (message?.startsWith('skipped:')) Object.assign(outcome, { status: 'skipped', message: message.slice(9).trim() });
      this.record(outcome);
    } catch (err) {
      let kind: FailureKind = err instanceof StageFailure ? err.kind : 'infra';
      let message = errorMessage(err);
      if (this.signal.aborted && name !== 'harvest') ({ kind, message } = this.abortOutcome());
      if (name !== 'harvest') this.failed = true;
      this.record({ stage: name, status: 'failed', kind, message, durationMs: Date.now() - started });
      if (isUserError(err) && name === 'provision') this.options.logger.debug(errorMessage(err));
    }
  }

  private record(outcome: StageOutcome): void {
    this.outcomes.push(outcome);
    const took = outcome.durationMs !== undefined ? ` in ${(outcome.durationMs / 1000).toFixed(1)}s` : '';
    const text = `${outcome.stage}: ${outcome.status}${took}${outcome.message ? ` — ${outcome.message}` : ''}`;
    if (this.options.stageView) this.options.stageView.end(outcome.stage, outcome);
    else if (outcome.status === 'failed') this.options.logger.warn(text);
    else this.options.logger.info(text);
    this.logs.line(outcome.stage, '-', text);
  }

  /** Runs one stage script on one host: launched in its own session, output streamed to the stage log. */
  private async exec(h: HostRun, stage: StageName, label: string, script: string, options: { timeoutMs?: number; live?: boolean } = {}): Promise<ExecResult> {
    if (!h.conn) throw new InfraError(`host ${h.host.name}: not connected`);
    if (h.lost) throw new InfraError(`host ${h.host.name}: ${h.lost}`);
    const live = options.live ?? true;
    if (live && this.signal.aborted) throw new StageFailure(this.abortOutcome().kind, this.abortOutcome().message);
    const scripts = path.join(this.jobDir, 'scripts');
    fs.mkdirSync(scripts, { recursive: true });
    fs.writeFileSync(path.join(scripts, `${label}-${h.host.name}.sh`), script);
    const launcher = this.renderer.render('stage-launch.sh.hbs', { workspace: h.workspace, name: label });
    const echo = this.options.echo;
    const log = this.logs.writer(stage, h.host.name, echo ? (line) => echo(stage, h.host.name, line) : undefined);
    const started = Date.now();
    try {
      const result = await h.conn.exec(launcher, {
        stdin: script,
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(live ? { signal: this.signal } : {}),
        onStdout: log.out,
        onStderr: log.err,
      });
      if (live && this.signal.aborted) throw new StageFailure(this.abortOutcome().kind, this.abortOutcome().message);
      if (result.timedOut) throw new StageFailure('infra', `host ${h.host.name}: ${label} timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)}s`);
      // The launcher only ends by a signal when something outside the job killed it (sshd dying,
      // the host shutting down, the OOM killer); whatever the stage script did is reported by its exit code.
      if (result.signal) throw new StageFailure('infra', `host ${h.host.name}: ${label} script killed by SIG${result.signal.replace(/^SIG/, '')}`);
      return result;
    } catch (err) {
      if (err instanceof InfraError) h.lost = errorMessage(err);
      throw err;
    } finally {
      this.intervals.push([started, Date.now()]);
      log.flush();
    }
  }

  /** Time left before the template's timeoutSeconds runs out (a stage never gets less than a second). */
  private remainingMs(): number {
    return Math.max(1000, this.deadline - Date.now());
  }

  private gateway(): HostRun {
    return this.hosts.find((h) => h.host.gateway) ?? this.hosts[0]!;
  }

  private hostRun(name: string): HostRun {
    const h = this.hosts.find((x) => x.host.name === name);
    if (!h) throw new UserError(`the server group has no host "${name}"`);
    return h;
  }

  // -- provision ------------------------------------------------------------------------------

  private async provision(ctx: ProviderContext): Promise<string> {
    let note: string;
    if (this.options.group) {
      const group = await getGroup(this.options.group, ctx);
      if (group.state !== 'ready') throw new UserError(`server group ${group.name} is ${group.state}, not ready`);
      this.validateAgainstGroup(group.hosts);
      this.group = group;
      this.groupName = group.name;
      note = `using existing server group ${group.name}`;
    } else {
      const name = groupNameForJob(this.plan.template, this.job.id);
      this.groupName = name;
      await this.options.onGroup?.(name);
      this.group = await createGroup(this.plan.group!, { name, jobId: this.job.id, where: `templates.${this.plan.template}.group` }, ctx);
      note = `created server group ${name} (${this.group.provider}, ${this.group.hosts.length} host(s))`;
    }
    const key = this.options.workspaceKey ?? this.job.id;
    for (const host of this.group.hosts) {
      const base = host.workDir ?? '.smokestack';
      this.hosts.push({ host, workspace: path.posix.join(base, 'jobs', key), prepared: false });
    }
    await Promise.all(
      this.hosts.map(async (h) => {
        h.conn = await connectHost(this.group!, h.host, ctx);
      }),
    );
    return note;
  }

  // -- prepare --------------------------------------------------------------------------------

  private async prepare(): Promise<string> {
    const isolated = providerFor(this.group!.provider, this.options.providers ?? PROVIDERS).isolatedHosts;
    this.bundle = await writeJobBundle(this.plan, this.group!, path.join(this.jobDir, 'bundle'), { shipRemoteSources: isolated });
    for (const [key, revision] of Object.entries(this.bundle.localRevisions)) {
      const s = this.sourceFor(key);
      if (s) s.revision = revision;
    }
    await Promise.all(
      this.hosts.map(async (h) => {
        await h.conn!.upload(this.bundle!.archive, path.posix.join(h.workspace, 'incoming', 'bundle.tgz'));
        const script = this.renderer.render('stage-prepare.sh.hbs', { workspace: h.workspace, jobId: this.job.id, hostName: h.host.name });
        const r = await this.exec(h, 'prepare', 'prepare', script, { timeoutMs: 300_000 });
        if (r.code !== 0) throw new StageFailure('infra', `host ${h.host.name}: preparing the workspace failed (exit ${r.code}): ${lastLine(r.stderr)}`);
        const ws = markerValue(parseMarkers(r.stdout), 'workspace');
        if (ws?.[0]) h.workspace = ws.join(' ');
        h.prepared = true;
      }),
    );
    return `job bundle on ${this.hosts.length} host(s)`;
  }

  private sourceFor(key: string): JobSource | undefined {
    const i = this.plan.sources.findIndex((s) => sourceKey(s) === key);
    return i >= 0 ? this.sources[i] : undefined;
  }

  // -- build ----------------------------------------------------------------------------------

  private buildHosts(): Map<string, number[]> {
    const byHost = new Map<string, number[]>();
    this.plan.definition.builds.forEach((b, i) => {
      const host = b.host ?? this.gateway().host.name;
      byHost.set(host, [...(byHost.get(host) ?? []), i]);
    });
    return byHost;
  }

  private async build(): Promise<string> {
    const builds = this.plan.definition.builds;
    if (builds.length === 0) return 'skipped: the template has no builds';
    const failures: string[] = [];
    const killed: string[] = [];
    await Promise.all(
      [...this.buildHosts()].map(async ([hostName, indexes]) => {
        const h = this.hostRun(hostName);
        const items = indexes.map((index) => {
          const b = builds[index]!;
          const plan = this.plan.sources.find((s) => s.kind === 'build' && s.index === index)!;
          return {
            index,
            name: b.name,
            url: plan.url,
            ref: this.bundle?.shippedRefs[sourceKey(plan)]?.ref ?? plan.ref,
            mergeTarget: (plan.mergeTarget && this.bundle?.shippedRefs[sourceKey(plan)]?.mergeTarget) ?? plan.mergeTarget ?? '',
            method: b.method,
            command: b.command ?? '',
            subdir: b.subdir ?? '',
            bundled: this.bundle?.sourceBundles[sourceKey(plan)] ?? '',
          };
        });
        const script = this.renderer.render('stage-build.sh.hbs', { workspace: h.workspace, builds: items });
        const r = await this.exec(h, 'build', 'build', script, { timeoutMs: this.remainingMs() });
        const markers = parseMarkers(r.stdout);
        for (const item of items) {
          const s = this.sourceFor(`build:${item.index}`)!;
          const rev = markerValue(markers, 'revision', item.index)?.[0];
          if (rev) s.revision = rev;
          const target = markerValue(markers, 'merge-target', item.index)?.[0];
          if (target) s.mergeTargetRevision = target;
          const failedRc = markerValue(markers, 'build-failed', item.index)?.[0];
          if (failedRc !== undefined) {
            const stage = rev ? 'build' : 'fetch';
            failures.push(`${stage} of ${item.name} failed on ${h.host.name} (exit ${failedRc})${rev ? '' : ` for ref ${JSON.stringify(item.ref)}`}`);
          }
        }
        if (r.code !== 0 && !markers.some((m) => m.key === 'build-failed')) {
          if (killedScript(r.code)) killed.push(`build script on ${h.host.name} was killed (exit ${r.code}) before a build finished`);
          else failures.push(`build script on ${h.host.name} exited ${r.code}: ${lastLine(r.stderr)}`);
        }
        try {
          await h.conn!.download(path.posix.join(h.workspace, 'debs'), path.join(this.jobDir, 'packages', h.host.name));
        } catch (err) {
          // A failed build explains a missing package directory; otherwise losing the packages is the machinery's fault.
          if (failures.length === 0) throw new StageFailure('infra', `fetching the packages built on ${h.host.name} failed: ${errorMessage(err)}`);
        }
      }),
    );
    if (failures.length > 0) throw new StageFailure('build', failures.join('; '));
    if (killed.length > 0) throw new StageFailure('infra', killed.join('; '));
    const count = this.packageFiles().length;
    return `${builds.length} build(s), ${count} package(s)`;
  }

  private packageFiles(): string[] {
    const dir = path.join(this.jobDir, 'packages');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).flatMap((host) => fs.readdirSync(path.join(dir, host)).map((f) => path.join(dir, host, f)));
  }

  // -- repo -----------------------------------------------------------------------------------

  private async repo(): Promise<string> {
    if (this.plan.definition.builds.length === 0) return 'skipped: no packages to publish';
    const gw = this.gateway();
    for (const hostName of this.buildHosts().keys()) {
      const local = path.join(this.jobDir, 'packages', hostName);
      if (hostName !== gw.host.name && fs.existsSync(local)) {
        await gw.conn!.upload(local, path.posix.join(gw.workspace, 'incoming', 'debs'));
      }
    }
    const publish = await this.exec(gw, 'repo', 'repo-publish', this.renderer.render('stage-repo-publish.sh.hbs', { workspace: gw.workspace }), {
      timeoutMs: 600_000,
    });
    if (publish.code !== 0) throw new StageFailure('build', `publishing the package repository on ${gw.host.name} failed (exit ${publish.code}): ${lastLine(publish.stderr)}`);
    const [repoPath, count] = markerValue(parseMarkers(publish.stdout), 'repo') ?? [];
    if (!repoPath || count === '0') throw new StageFailure('build', 'the builds produced no .deb packages to publish');
    const sameMachine = this.group!.provider === 'local';
    // One download from the gateway, shared by every other host (which all wait for it to finish).
    let localCopy: Promise<string> | undefined;
    await Promise.all(
      this.hosts.map(async (h) => {
        let hostRepo = repoPath;
        if (h !== gw && !sameMachine) {
          const copy = path.join(this.jobDir, 'repo');
          localCopy ??= gw.conn!.download(repoPath, copy).then(() => copy);
          hostRepo = path.posix.join(h.workspace, 'repo');
          await h.conn!.upload(await localCopy, hostRepo);
        }
        const script = this.renderer.render('stage-repo-client.sh.hbs', { workspace: h.workspace, repoPath: hostRepo });
        const r = await this.exec(h, 'repo', 'repo-client', script, { timeoutMs: 600_000 });
        if (r.code !== 0) throw new StageFailure('build', `pointing ${h.host.name} at the package repository failed (exit ${r.code}): ${lastLine(r.stderr)}`);
      }),
    );
    return `${count} package(s) published on ${gw.host.name}`;
  }

  // -- configure ------------------------------------------------------------------------------

  private async configure(): Promise<string> {
    const puppet = this.plan.definition.puppet;
    if (!puppet) return 'skipped: the template has no puppet section';
    const targets = this.hosts.filter((h) => this.bundle?.manifests[h.host.name]);
    if (targets.length === 0) return 'skipped: no manifest applies to any host';
    const gitModules = this.plan.sources
      .filter((s) => s.kind === 'module')
      .map((s) => ({ index: s.index, dir: s.name, url: s.url, ref: this.bundle?.shippedRefs[sourceKey(s)]?.ref ?? s.ref, bundled: this.bundle?.sourceBundles[sourceKey(s)] ?? '' }));
    const packages = puppet.modules.flatMap((m) => (m.package ? [m.package] : []));
    const failures: string[] = [];
    const killed: string[] = [];
    await Promise.all(
      targets.map(async (h) => {
        const script = this.renderer.render('stage-configure.sh.hbs', {
          workspace: h.workspace,
          gitModules,
          packages,
          // Paths on the hosts themselves (modules shipped from here go through modules[].path).
          modulepath: puppet.modulepath,
          manifest: this.bundle!.manifests[h.host.name],
          noop: puppet.noop,
          idempotence: puppet.idempotence && !puppet.noop,
        });
        const r = await this.exec(h, 'configure', 'configure', script, { timeoutMs: puppet.timeoutSeconds * 2000 + 600_000 });
        const markers = parseMarkers(r.stdout);
        for (const m of gitModules) {
          const rev = markerValue(markers, 'module-revision', m.index)?.[0];
          if (rev) this.sourceFor(`module:${m.index}`)!.revision = rev;
        }
        const first = markerValue(markers, 'puppet-end', 1)?.[0];
        const second = markerValue(markers, 'puppet-end', 2)?.[0];
        if (first === undefined) {
          if (killedScript(r.code)) killed.push(`configure script on ${h.host.name} was killed (exit ${r.code}) before Puppet ran`);
          else if (r.code !== 0) failures.push(`preparing Puppet on ${h.host.name} failed (exit ${r.code}): ${lastLine(r.stderr)}`);
          return;
        }
        if (first !== '0' && first !== '2') {
          const error = firstPuppetError(`${r.stdout}\n${r.stderr}`);
          failures.push(`Puppet apply failed on ${h.host.name} (exit ${first})${error ? `: ${error}` : ''}`);
          return;
        }
        if (second !== undefined && second !== '0') {
          const changed = changedResources(sectionBetween(r.stdout, 'puppet', 2));
          const names = changed.map((c) => c.resource).join(', ');
          if (second === '2') failures.push(`Puppet is not idempotent on ${h.host.name}: the second apply changed ${names || 'resources'}`);
          else failures.push(`Puppet's second apply failed on ${h.host.name} (exit ${second})${names ? `; changed ${names}` : ''}: ${firstPuppetError(`${r.stdout}\n${r.stderr}`) ?? ''}`);
          return;
        }
        if (r.code !== 0) failures.push(`configure on ${h.host.name} exited ${r.code}: ${lastLine(r.stderr)}`);
      }),
    );
    if (failures.length > 0) throw new StageFailure('build', failures.join('; '));
    if (killed.length > 0) throw new StageFailure('infra', killed.join('; '));
    return `Puppet applied on ${targets.length} host(s)${puppet.noop ? ' (noop)' : puppet.idempotence ? ', idempotent' : ''}`;
  }

  // -- test -----------------------------------------------------------------------------------

  private suiteHosts(suite: { host?: string; role?: string }): HostRun[] {
    if (suite.host) return [this.hostRun(suite.host)];
    if (suite.role) return this.hosts.filter((h) => h.host.roles.includes(suite.role!));
    return [this.gateway()];
  }

  private async test(): Promise<string> {
    const suites = this.plan.definition.suites;
    if (suites.length === 0) return 'skipped: the template has no suites';
    const perHost = new Map<HostRun, Array<{ index: number; name: string; command: string; results: string; timeoutSeconds: number }>>();
    suites.forEach((suite, index) => {
      if (suite.skip) {
        this.suiteReports.push({
          name: suite.name,
          format: suite.format,
          files: [],
          skipped: suite.skip,
          results: suiteFromCases([{ id: suite.name, outcome: 'skipped', durationMs: 0, message: suite.skip }]),
        });
        return;
      }
      for (const h of this.suiteHosts(suite)) {
        perHost.set(h, [...(perHost.get(h) ?? []), { index, name: suite.name, command: suite.command, results: suite.results ?? '', timeoutSeconds: suite.timeoutSeconds }]);
        this.suiteRuns.push({ index, name: suite.name, host: h.host.name });
      }
    });
    const failures: string[] = [];
    const notRun: string[] = [];
    await Promise.all(
      [...perHost].map(async ([h, items]) => {
        const total = items.reduce((sum, s) => sum + s.timeoutSeconds + 10, 60);
        const r = await this.exec(h, 'test', 'test', this.renderer.render('stage-test.sh.hbs', { workspace: h.workspace, suites: items }), {
          timeoutMs: total * 1000,
        });
        const markers = parseMarkers(r.stdout);
        for (const item of items) {
          const run = this.suiteRuns.find((s) => s.index === item.index && s.host === h.host.name)!;
          const [rc, elapsed] = markerValue(markers, 'suite-exit', item.index) ?? [];
          run.exitCode = rc === undefined ? undefined : Number(rc);
          // timeout(1) answers 124, or 137 when the suite outlived TERM; a 137 long before the
          // deadline is somebody else's SIGKILL (the OOM killer, a dying host), not our timeout.
          const timedOut = rc === '124' || (rc === '137' && Number(elapsed ?? item.timeoutSeconds) >= item.timeoutSeconds);
          if (rc === undefined) notRun.push(`suite ${item.name} on ${h.host.name} did not run (test script exited ${r.code}: ${lastLine(r.stderr)})`);
          else if (timedOut) failures.push(`suite ${item.name} on ${h.host.name} timed out after ${item.timeoutSeconds}s`);
          else if (rc === '137') failures.push(`suite ${item.name} on ${h.host.name} was killed (SIGKILL) after ${elapsed}s`);
          else if (rc !== '0') failures.push(`suite ${item.name} on ${h.host.name} exited ${rc}`);
        }
      }),
    );
    // A suite that never reported its exit status did not fail: the machinery around it did.
    if (failures.length > 0) throw new StageFailure('test', [...failures, ...notRun].join('; '));
    if (notRun.length > 0) throw new StageFailure('infra', notRun.join('; '));
    return `${this.suiteRuns.length} suite run(s) passed`;
  }

  // -- harvest --------------------------------------------------------------------------------

  private async harvest(): Promise<string> {
    const problems: string[] = [];
    await Promise.all(
      this.hosts
        .filter((h) => h.prepared)
        .map(async (h) => {
          if (h.lost) {
            problems.push(`${h.host.name}: not harvested (${h.lost})`);
            return;
          }
          const paths = this.plan.definition.logs
            .filter((l) => (l.host ? l.host === h.host.name : l.role ? h.host.roles.includes(l.role) : true))
            .flatMap((l) => l.paths);
          try {
            const r = await this.exec(h, 'harvest', 'harvest', this.renderer.render('stage-harvest.sh.hbs', { workspace: h.workspace, paths }), {
              timeoutMs: 300_000,
              live: false,
            });
            if (r.code !== 0) throw new InfraError(`harvest script exited ${r.code}: ${lastLine(r.stderr)}`);
            await h.conn!.download(path.posix.join(h.workspace, 'harvest'), path.join(this.jobDir, 'hosts', h.host.name));
          } catch (err) {
            problems.push(`${h.host.name}: ${errorMessage(err)}`);
          }
        }),
    );
    this.parseSuites();
    if (problems.length > 0) throw new StageFailure('infra', `could not harvest from ${problems.join('; ')}`);
    return `results and logs of ${this.hosts.filter((h) => h.prepared).length} host(s) in ${this.jobDir}`;
  }

  private parseSuites(): void {
    const suites = this.plan.definition.suites;
    const multi = (name: string) => this.suiteRuns.filter((r) => r.name === name).length > 1;
    for (const run of this.suiteRuns) {
      const suite = suites[run.index]!;
      const dir = path.join(this.jobDir, 'hosts', run.host, 'results', `suite-${run.index}`);
      const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort().map((f) => path.join(dir, f)) : [];
      const cases: SuiteResults['cases'] = [];
      let durationMs = 0;
      for (const file of files) {
        const rel = path.relative(this.jobDir, file);
        try {
          const parsed =
            suite.format === 'subunit'
              ? parseSubunitV2(fs.readFileSync(file), rel)
              : file.endsWith('.xml')
                ? parseJunitXml(fs.readFileSync(file, 'utf8'), rel)
                : undefined;
          if (!parsed) continue;
          cases.push(...parsed.cases);
          durationMs += parsed.durationMs;
        } catch (err) {
          cases.push({ id: `${suite.name} (${path.basename(file)})`, outcome: 'error', durationMs: 0, message: errorMessage(err) });
        }
      }
      const failedCases = cases.some((c) => c.outcome === 'failed' || c.outcome === 'error');
      if (cases.length === 0 || (run.exitCode !== 0 && !failedCases)) {
        // No results (or none explaining a failing command): the suite itself is the test.
        const outcome = run.exitCode === 0 ? 'passed' : 'failed';
        const message = run.exitCode === undefined ? 'did not run' : run.exitCode === 0 ? undefined : `exited ${run.exitCode}`;
        cases.push({ id: suite.name, outcome, durationMs: 0, ...(message ? { message } : {}) });
      }
      const prefixed = multi(run.name) ? cases.map((c) => ({ ...c, id: `${run.host}:${c.id}` })) : cases;
      this.suiteReports.push({
        name: suite.name,
        host: run.host,
        ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
        format: suite.format,
        files: files.map((f) => path.relative(this.jobDir, f)),
        results: suiteFromCases(prefixed, durationMs || undefined),
      });
    }
  }

  // -- verdict and teardown -------------------------------------------------------------------

  private verdict(): Classification {
    const rollup = rollUpResults(this.suiteReports.map((s) => ({ name: s.name, results: s.results })));
    const verdict = classifyJob(this.outcomes, { ...rollup.summary, failedTests: rollup.failedTests });
    if (verdict.status === 'test_failed' && rollup.failedTests.length > 0) {
      const decisive = this.outcomes.find((o) => o.status === 'failed' && o.stage === 'test');
      const names = rollup.failedTests.slice(0, 10).join(', ') + (rollup.failedTests.length > 10 ? ', …' : '');
      return { status: 'test_failed', message: `${rollup.failedTests.length} failing test(s): ${names}${decisive?.message ? ` (${decisive.message})` : ''}` };
    }
    return verdict;
  }

  private async teardownStage(ctx: ProviderContext, failed: boolean): Promise<boolean> {
    let kept = false;
    const started = Date.now();
    const keepOnFailure = this.options.keepOnFailure ?? this.plan.definition.keepOnFailure;
    try {
      if (this.options.group) {
        this.record({ stage: 'teardown', status: 'skipped', message: `existing server group ${this.options.group} left as it is` });
        kept = true;
      } else if (!this.groupName) {
        this.record({ stage: 'teardown', status: 'skipped', message: 'no server group was created' });
      } else if (this.group && (this.options.keep || (failed && keepOnFailure))) {
        kept = true;
        this.record({
          stage: 'teardown',
          status: 'skipped',
          message: `kept server group ${this.groupName}${this.options.keep ? ' (--keep)' : ' (keep on failure)'}; delete it with: firestack group delete ${this.groupName}`,
        });
      } else {
        const stored = (await this.options.store.read()).groups[this.groupName];
        if (stored && stored.state !== 'deleted') {
          await this.stopRemote();
          await Promise.all(this.hosts.map((h) => h.conn?.close().catch(() => undefined)));
          await deleteGroup(this.groupName, ctx);
          this.record({ stage: 'teardown', status: 'passed', durationMs: Date.now() - started, message: `deleted server group ${this.groupName}` });
        } else {
          this.record({ stage: 'teardown', status: 'passed', durationMs: Date.now() - started, message: `server group ${this.groupName} already removed` });
        }
      }
    } catch (err) {
      this.record({ stage: 'teardown', status: 'failed', kind: 'infra', durationMs: Date.now() - started, message: errorMessage(err) });
    }
    if (kept) await Promise.all(this.hosts.map((h) => h.conn?.close().catch(() => undefined)));
    return kept;
  }

  private finish(verdict: Classification, kept: boolean, started: number): PipelineResult {
    const rollup = rollUpResults(this.suiteReports.map((s) => ({ name: s.name, results: s.results })));
    const wallMs = Date.now() - started;
    const remoteMs = coveredMs(this.intervals);
    const result: PipelineResult = {
      jobId: this.job.id,
      template: this.plan.template,
      status: verdict.status,
      message: verdict.message,
      stages: this.outcomes,
      summary: rollup.summary,
      skipped: rollup.skipped,
      failedTests: rollup.failedTests,
      suites: this.suiteReports,
      sources: this.sources,
      ...(this.groupName ? { group: this.groupName } : {}),
      kept,
      logDir: this.jobDir,
      timing: { wallMs, remoteMs, overheadMs: wallMs - remoteMs },
    };
    fs.writeFileSync(path.join(this.jobDir, 'summary.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
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
