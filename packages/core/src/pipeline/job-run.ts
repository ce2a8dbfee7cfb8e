import fs from 'node:fs';
import path from 'node:path';
import { InfraError, UserError, errorMessage } from '../errors.js';
import type { ImageSettings } from '../images/service.js';
import type { Logger } from '../log/logger.js';
import type { Host, JobSource } from '../model.js';
import type { ProviderMap } from '../providers/registry.js';
import type { ExecResult, HostConnection, ProviderContext } from '../providers/types.js';
import { TemplateRenderer } from '../render/render.js';
import type { FailureKind, StageName, StageOutcome } from '../results/classify.js';
import type { Store } from '../store/types.js';
import { sourceKey } from './bundle.js';
import type { SourceRevision } from './judge.js';
import type { JobPlan } from './plan.js';
import { StageLogs } from './stage-log.js';

export interface PipelineOptions {
  store: Store;
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
  /** Called after each stage ended, with every outcome so far (the worker rewrites the job's page). */
  onStageEnd?: (outcomes: readonly StageOutcome[]) => void;
  /** Called the moment the job's group name is chosen, before anything exists. */
  onGroup?: (name: string) => Promise<void> | void;
  /** Echo each remote output line (e.g. `firestack run --verbose`). */
  echo?: (stage: StageName, host: string, line: string) => void;
  /** Shows stage progress (a live board on a TTY); the stage lines are then not logged. */
  stageView?: { start(stage: StageName): void; end(stage: StageName, outcome: StageOutcome): void };
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

/** A suite planned on one host (its exit code once reported), or a suite the template skips. */
export type SuiteRun = { index: number; name: string; host: string; exitCode?: number } | { index: number; name: string; skipped: string };

/** One host of the job's group: its connection and the job's working directory there. */
export interface HostRun {
  host: Host;
  conn?: HostConnection;
  workspace: string;
  prepared: boolean;
  /** The connection broke; nothing more is attempted on this host. */
  lost?: string;
  /** Hosts with the same machine are one computer (the local provider's hosts are all this one). */
  machine?: string;
}

export interface StageExecOptions {
  timeoutMs?: number;
  /** Follows the job's abort signal (false for harvest and teardown, which must still run). */
  live?: boolean;
}

/**
 * What every stage of one job shares: the job and its plan, the clock, its logs, the abort signal
 * and the one way to run a stage script on a host. Stages take it and return their outcome.
 */
export class JobRun {
  readonly now: () => Date;
  readonly env: Record<string, string | undefined>;
  readonly renderer: TemplateRenderer;
  readonly jobDir: string;
  readonly logs: StageLogs;
  /** Wall-clock intervals during which a remote command ran (for the pipeline's own overhead). */
  readonly intervals: Array<[number, number]> = [];
  /** Every source of the job; stages fill in the revisions they resolve. */
  readonly sources: JobSource[];
  /** The suites the test stage ran (or skipped), for harvest to collect. */
  readonly suiteRuns: SuiteRun[] = [];
  /** The group's hosts, once provisioned. */
  hosts: HostRun[] = [];
  private readonly controller = new AbortController();
  private readonly deadline: number;

  constructor(
    readonly job: { id: string; attempt?: number },
    readonly plan: JobPlan,
    readonly options: PipelineOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.env = options.env ?? process.env;
    this.renderer = options.renderer ?? new TemplateRenderer();
    this.jobDir = options.store.jobDir(job.id);
    this.logs = new StageLogs(path.join(this.jobDir, 'logs'), (t) => options.logger.redact(t), this.now);
    this.deadline = this.clock() + plan.definition.timeoutSeconds * 1000;
    this.sources = plan.sources.map((s) => ({
      kind: s.kind,
      name: s.name,
      project: s.project,
      url: s.url,
      ref: s.ref,
      ...(s.merges?.length ? { merges: s.merges.map((m) => ({ ...m })) } : {}),
      ...(s.mergeTarget ? { mergeTarget: s.mergeTarget } : {}),
      ...(s.mergeTarget && s.mergeUrl && s.mergeUrl !== s.url ? { mergeUrl: s.mergeUrl } : {}),
      ...(s.localPath ? { localPath: s.localPath } : {}),
      changed: s.changed,
    }));
  }

  /** Records the revisions a stage resolved (kept even when the stage then fails, for reproduce). */
  recordRevisions(revisions: readonly SourceRevision[]): void {
    for (const r of revisions) {
      const i = this.plan.sources.findIndex((s) => sourceKey(s) === r.key);
      const source = this.sources[i];
      if (!source) continue;
      if (r.revision) source.revision = r.revision;
      if (r.mergeTargetRevision) source.mergeTargetRevision = r.mergeTargetRevision;
      for (const [n, revision] of (r.mergedRevisions ?? []).entries()) if (source.merges?.[n] && revision) source.merges[n]!.revision = revision;
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  clock(): number {
    return this.now().getTime();
  }

  /** Time left before the template's timeoutSeconds runs out (a stage never gets less than a second). */
  remainingMs(): number {
    return Math.max(1000, this.deadline - this.clock());
  }

  providerContext(withSignal: boolean, pool?: ProviderContext['pool']): ProviderContext {
    const o = this.options;
    return {
      store: o.store,
      logger: o.logger,
      now: this.now,
      env: this.env,
      ...(withSignal ? { signal: this.signal } : {}),
      ...(pool ? { pool } : {}),
      ...(o.providers ? { providers: o.providers } : {}),
      ...(o.insecureAcceptHostKeys ? { insecureAcceptHostKeys: true } : {}),
      ...(o.reachableTimeoutMs ? { reachableTimeoutMs: o.reachableTimeoutMs } : {}),
      ...(o.images ? { images: o.images } : {}),
    };
  }

  abort(reason: string): void {
    if (this.signal.aborted) return;
    this.controller.abort(reason);
    this.options.logger.warn(`job ${this.job.id}: stopping (${reason})`);
    void this.stopRemote();
  }

  /** Why the job stopped: its own timeout is the machinery's fault; anything else is a cancellation. */
  abortOutcome(): { kind: FailureKind; message: string } {
    const reason = String(this.signal.reason ?? 'cancelled');
    if (reason === 'timeout') return { kind: 'infra', message: `job timed out after ${this.plan.definition.timeoutSeconds}s` };
    return { kind: 'cancelled', message: `stopped: ${reason}` };
  }

  /** Kills every stage script of this job still running on the hosts (each runs in its own session). */
  async stopRemote(): Promise<void> {
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

  gateway(): HostRun {
    return this.hosts.find((h) => h.host.gateway) ?? this.hosts[0]!;
  }

  hostRun(name: string): HostRun {
    const h = this.hosts.find((x) => x.host.name === name);
    if (!h) throw new UserError(`the server group has no host "${name}"`);
    return h;
  }

  /** Runs one stage script on one host: launched in its own session, output streamed to the stage log. */
  async exec(h: HostRun, stage: StageName, label: string, script: string, options: StageExecOptions = {}): Promise<ExecResult> {
    if (!h.conn) throw new InfraError(`host ${h.host.name}: not connected`);
    if (h.lost) throw new InfraError(`host ${h.host.name}: ${h.lost}`);
    const live = options.live ?? true;
    this.throwIfStopped(live);
    const scripts = path.join(this.jobDir, 'scripts');
    fs.mkdirSync(scripts, { recursive: true });
    fs.writeFileSync(path.join(scripts, `${label}-${h.host.name}.sh`), script);
    const launcher = this.renderer.render('stage-launch.sh.hbs', { workspace: h.workspace, name: label, env: this.plan.definition.env });
    const echo = this.options.echo;
    const log = this.logs.writer(stage, h.host.name, echo ? (line) => echo(stage, h.host.name, line) : undefined);
    const started = this.clock();
    try {
      const result = await h.conn.exec(launcher, {
        stdin: script,
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(live ? { signal: this.signal } : {}),
        onStdout: log.out,
        onStderr: log.err,
      });
      this.throwIfStopped(live);
      if (result.timedOut) throw new StageFailure('infra', `host ${h.host.name}: ${label} timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)}s`);
      // The launcher only ends by a signal when something outside the job killed it (sshd dying,
      // the host shutting down, the OOM killer); whatever the stage script did is reported by its exit code.
      if (result.signal) throw new StageFailure('infra', `host ${h.host.name}: ${label} script killed by SIG${result.signal.replace(/^SIG/, '')}`);
      return result;
    } catch (err) {
      if (err instanceof InfraError) h.lost = errorMessage(err);
      throw err;
    } finally {
      this.intervals.push([started, this.clock()]);
      log.flush();
    }
  }

  private throwIfStopped(live: boolean): void {
    if (!live || !this.signal.aborted) return;
    const { kind, message } = this.abortOutcome();
    throw new StageFailure(kind, message);
  }
}
