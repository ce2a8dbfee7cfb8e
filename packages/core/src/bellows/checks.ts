import { UserError, errorMessage } from '../errors.js';
import { ensureChecker, gerritTimestamp, listChecks, postCheck, type CheckInfo, type CheckInput, type CheckState, type CheckerInput } from '../gerrit/checks.js';
import type { Job, JobStatus } from '../model.js';
import { olderFirst } from '../queue/jobs.js';
import { jobPageLocation, pagePaths, pageUrl, type WebSettings } from '../web/layout.js';
import { statusWords } from '../web/words.js';
import { noteActivity } from './activity.js';
import type { BellowsContext } from './context.js';

/**
 * Gerrit's checks plugin, beside the review comment: one checker per project and template,
 * one check per template and patch set, moved SCHEDULED → RUNNING → SUCCESSFUL / FAILED /
 * NOT_RELEVANT as its latest job moves. Each run compares what Gerrit shows with what the
 * store says and posts only the differences, so it can run from cron every minute.
 */

/** Patch sets whose latest jobs all ended longer ago than this are no longer looked at. */
export const CHECKS_WINDOW_MS = 24 * 60 * 60_000;
/** Gerrit shows a check's message in one line. */
const MESSAGE_CHARS = 1000;

const STATE_OF: Record<JobStatus, CheckState> = {
  queued: 'SCHEDULED',
  running: 'RUNNING',
  success: 'SUCCESSFUL',
  build_failed: 'FAILED',
  test_failed: 'FAILED',
  // No retry left: not the change's fault, and not a pass either.
  infra_failed: 'FAILED',
  // Required tests did not run: no vote, and not a pass either.
  incomplete: 'FAILED',
  superseded: 'NOT_RELEVANT',
  cancelled: 'NOT_RELEVANT',
};

/** The check state a job's status stands for (pure). */
export function checkStateOf(status: JobStatus): CheckState {
  return STATE_OF[status] ?? 'NOT_STARTED';
}

const slug = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '_');

/** `scheme:project.template`: the checker of one template on one project. */
export function checkerUuid(scheme: string, project: string, template: string): string {
  return `${scheme}:${slug(project)}.${slug(template)}`;
}

export function checkerInput(settings: { scheme: string; blocking: boolean }, project: string, template: string): CheckerInput {
  return {
    uuid: checkerUuid(settings.scheme, project, template),
    name: `SmokeStack ${template}`,
    description: `SmokeStack integration tests: template ${template}`,
    repository: project,
    query: 'status:open',
    blocking: settings.blocking ? ['STATE_NOT_PASSING'] : [],
    status: 'ENABLED',
  };
}

export interface WantedCheck {
  project: string;
  number: number;
  patchSet: number;
  revision: string;
  template: string;
  job: string;
  input: CheckInput;
}

function messageOf(job: Job): string {
  const words = statusWords(job);
  const s = job.summary;
  const counts = s.tests > 0 ? ` ${s.tests} tests, ${s.failures + s.errors} failed, ${s.skipped} skipped.` : '';
  return `${words.label}.${counts} ${words.whose}`.slice(0, MESSAGE_CHARS);
}

/** A queued job has no page yet: its check links to the status page. */
function urlOf(job: Job, web: WebSettings | undefined): string | undefined {
  if (!web?.url) return undefined;
  return job.status === 'queued' ? pageUrl(web, pagePaths.status()) : jobPageLocation(web, job.id);
}

/** The check each template of each recent patch set should show, from its latest job (pure). */
export function planChecks(jobs: readonly Job[], options: { scheme: string; web?: WebSettings; now: Date; windowMs?: number }): WantedCheck[] {
  const latest = new Map<string, Job>();
  for (const job of [...jobs].sort(olderFirst)) {
    if (job.kind === 'adhoc' || !job.number) continue;
    latest.set(`${job.project}~${job.number}~${job.patchSet}~${job.template}`, job);
  }
  const since = options.now.getTime() - (options.windowMs ?? CHECKS_WINDOW_MS);
  const wanted: WantedCheck[] = [];
  for (const job of latest.values()) {
    const last = Date.parse(job.finishedAt ?? job.startedAt ?? job.createdAt);
    if (job.finishedAt && last < since) continue;
    const url = urlOf(job, options.web);
    const input: CheckInput = {
      checker_uuid: checkerUuid(options.scheme, job.project, job.template),
      state: checkStateOf(job.status),
      message: messageOf(job),
      ...(url ? { url } : {}),
      ...(job.startedAt ? { started: gerritTimestamp(job.startedAt) } : {}),
      ...(job.finishedAt ? { finished: gerritTimestamp(job.finishedAt) } : {}),
    };
    wanted.push({ project: job.project, number: job.number, patchSet: job.patchSet, revision: job.revision, template: job.template, job: job.id, input });
  }
  return wanted;
}

/** The checks Gerrit does not show as wanted yet (pure). */
export function checksToPost(wanted: readonly WantedCheck[], shown: readonly CheckInfo[]): WantedCheck[] {
  return wanted.filter((w) => {
    const current = shown.find((c) => c.checker_uuid === w.input.checker_uuid);
    return !current || current.state !== w.input.state || (current.url ?? undefined) !== w.input.url || (current.message ?? undefined) !== w.input.message;
  });
}

export interface ChecksResult {
  posted: Array<{ project: string; number: number; patchSet: number; template: string; job: string; state: CheckState }>;
  unchanged: number;
  /** Checkers registered by this run. */
  checkers: string[];
  errors: Array<{ project: string; number: number; patchSet: number; message: string }>;
  dryRun: boolean;
}

/** `bellows checks`: brings every recent patch set's checks on Gerrit in line with the store. */
export async function reportChecks(ctx: BellowsContext, options: { dryRun?: boolean } = {}): Promise<ChecksResult> {
  const settings = ctx.settings.checks;
  if (!settings) throw new UserError('gerrit.checks is not set: nothing reports to the checks plugin', { hint: 'add "checks: {}" under gerrit: in smokestack.yaml' });
  const state = await ctx.store.read();
  const wanted = planChecks(Object.values(state.jobs), { scheme: settings.scheme, ...(ctx.settings.web ? { web: ctx.settings.web } : {}), now: ctx.now() });
  const result: ChecksResult = { posted: [], unchanged: 0, checkers: [], errors: [], dryRun: Boolean(options.dryRun) };
  const known = new Set<string>();
  for (const group of byPatchSet(wanted)) {
    const { project, number, patchSet, revision } = group[0]!;
    try {
      const due = checksToPost(group, await listChecks(ctx.gerrit, project, number, revision));
      result.unchanged += group.length - due.length;
      for (const w of due) {
        if (!options.dryRun && !known.has(w.input.checker_uuid)) {
          if (await ensureChecker(ctx.gerrit, checkerInput(settings, project, w.template))) result.checkers.push(w.input.checker_uuid);
          known.add(w.input.checker_uuid);
        }
        if (!options.dryRun) await postCheck(ctx.gerrit, project, number, revision, w.input);
        result.posted.push({ project, number, patchSet, template: w.template, job: w.job, state: w.input.state });
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      result.errors.push({ project, number, patchSet, message: errorMessage(err) });
    }
  }
  if (!options.dryRun) await ctx.store.update((s) => noteActivity(s, 'checks', checksActivity(result), ctx.now()));
  return result;
}

function byPatchSet(wanted: readonly WantedCheck[]): WantedCheck[][] {
  const groups = new Map<string, WantedCheck[]>();
  for (const w of wanted) {
    const key = `${w.project}~${w.number}~${w.patchSet}`;
    groups.set(key, [...(groups.get(key) ?? []), w]);
  }
  return [...groups.values()];
}

function checksActivity(result: ChecksResult): { ok: boolean; summary: string } {
  const done = `${result.posted.length} check(s) updated, ${result.unchanged} unchanged`;
  if (result.errors.length === 0) return { ok: true, summary: done };
  return { ok: false, summary: `${result.errors.map((e) => `${e.project} ${e.number},${e.patchSet}: ${e.message}`).join('; ')} (${done})` };
}
