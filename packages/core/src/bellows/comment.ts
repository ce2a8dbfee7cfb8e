import path from 'node:path';
import { UserError, errorMessage, isUserError } from '../errors.js';
import { formatDuration } from '../cli/table.js';
import { GerritHttpError } from '../gerrit/rest.js';
import type { ReviewInput } from '../gerrit/wire.js';
import type { Job, TestConfig, Vote } from '../model.js';
import type { StateData } from '../store/schema.js';
import { listConfigs } from './configs.js';
import type { BellowsContext } from './context.js';
import { indexJobs, isActive, jobsOfPatchSet, latestByTemplate, voteKey } from './patchsets.js';
import { DEFAULT_TEMPLATE_POLICY, findTarget, selectTargets, type ProjectTarget, type TemplatePolicy } from './settings.js';

/** Gerrit keeps review messages short; Zuul cuts at about 16 KB too. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

export type ReportDecision =
  | { kind: 'wait'; reason: string }
  /** `vote` null: report without a label (infrastructure failure with no retries left). */
  | { kind: 'report'; vote: 1 | -1 | null; jobs: Job[] };

/** Whether a patch set's jobs (latest attempt per template) are ready to be reported, and with which vote. Pure. */
export function decideReport(config: TestConfig, jobs: Job[], policies: Record<string, TemplatePolicy>): ReportDecision {
  if (config.templates.length === 0) return { kind: 'wait', reason: 'no templates configured' };
  const latest = latestByTemplate(jobs.filter((j) => j.patchSet === config.patchSet));
  const results: Job[] = [];
  for (const template of config.templates) {
    const job = latest.get(template);
    const policy = policies[template] ?? DEFAULT_TEMPLATE_POLICY;
    if (!job) return { kind: 'wait', reason: `${template}: no job yet` };
    if (isActive(job)) return { kind: 'wait', reason: `${template}: ${job.id} is ${job.status}` };
    if (job.status === 'cancelled' || job.status === 'superseded') return { kind: 'wait', reason: `${template}: ${job.id} was ${job.status}` };
    if (job.status === 'infra_failed' && job.attempt <= policy.maxInfraRetries) {
      return { kind: 'wait', reason: `${template}: ${job.id} failed for infrastructure reasons; attempt ${job.attempt + 1} is due` };
    }
    if ((job.status === 'build_failed' || job.status === 'test_failed') && !policy.autoApprove && !job.approvedBy) {
      return { kind: 'wait', reason: `${template}: ${job.id} failed and awaits "bellows jobs approve ${job.id}"` };
    }
    results.push(job);
  }
  const failed = results.some((j) => j.status === 'build_failed' || j.status === 'test_failed');
  const infra = results.some((j) => j.status === 'infra_failed');
  return { kind: 'report', vote: failed ? -1 : infra ? null : 1, jobs: results };
}

export interface MessageOptions {
  /** `<logsUrl>/<job id>/` links; without it, local paths under jobsDir. */
  logsUrl?: string;
  jobsDir?: string;
}

function jobDuration(job: Job): string {
  let ms = job.summary.durationMs;
  if (!ms && job.startedAt && job.finishedAt) ms = Date.parse(job.finishedAt) - Date.parse(job.startedAt);
  return formatDuration(ms || 0) || '0s';
}

function logsLink(job: Job, options: MessageOptions): string {
  if (options.logsUrl) return `${options.logsUrl.replace(/\/+$/, '')}/${job.id}/`;
  if (options.jobsDir) return path.join(options.jobsDir, job.id);
  return job.logDir;
}

/** Cuts a message to `maxBytes` of UTF-8 at a line boundary where possible, saying so. */
export function truncateMessage(message: string, maxBytes = MAX_MESSAGE_BYTES): string {
  if (Buffer.byteLength(message) <= maxBytes) return message;
  const note = '\n\n(message truncated)';
  const budget = maxBytes - Buffer.byteLength(note);
  const lines = message.split('\n');
  while (lines.length > 1 && Buffer.byteLength(lines.join('\n')) > budget) lines.pop();
  let cut = lines.join('\n');
  // One huge line: cut its bytes, dropping a character split in half.
  if (Buffer.byteLength(cut) > budget) cut = Buffer.from(cut).subarray(0, budget).toString('utf8').replace(/\uFFFD+$/, '');
  return cut + note;
}

/** The Zuul-like review message: a header, then one line per template, skipped tests named. */
export function formatReviewMessage(config: TestConfig, decision: Extract<ReportDecision, { kind: 'report' }>, options: MessageOptions = {}): string {
  const header =
    decision.vote === 1
      ? `SmokeStack: build succeeded for patch set ${config.patchSet}.`
      : decision.vote === -1
        ? `SmokeStack: build failed for patch set ${config.patchSet}.`
        : `SmokeStack: build could not finish for patch set ${config.patchSet}: infrastructure failure, no vote (comment "recheck" to run it again).`;
  const lines = [header, ''];
  for (const job of decision.jobs) {
    const s = job.summary;
    lines.push(
      `- ${job.template} ${logsLink(job, options)} : ${job.status.toUpperCase()} in ${jobDuration(job)} (${s.tests} tests, ${s.failures + s.errors} failures, ${s.skipped} skipped)`,
    );
    if (job.status !== 'success' && job.message) lines.push(`  ${job.message.split('\n')[0]!.slice(0, 300)}`);
    if (job.approvedBy) lines.push(`  failure approved by ${job.approvedBy}`);
    if (job.skipped.length) lines.push(`  skipped tests: ${job.skipped.map((t) => (t.reason ? `${t.id} (${t.reason})` : t.id)).join(', ')}`);
  }
  return truncateMessage(lines.join('\n'));
}

export interface CommentItem {
  config: TestConfig;
  key: string;
  decision: ReportDecision;
}

/** For each config of the targets not yet reported, whether to report now or wait, and why. Pure. */
export function planComment(state: StateData, targets: ProjectTarget[], policies: Record<string, TemplatePolicy>): CommentItem[] {
  const out: CommentItem[] = [];
  const index = indexJobs(state);
  for (const config of listConfigs(state)) {
    if (!findTarget(targets, config.project, config.branch)) continue;
    const key = voteKey(config.project, config.number, config.patchSet);
    if (state.votes[key]) continue;
    out.push({ config, key, decision: decideReport(config, jobsOfPatchSet(state, config.id, config.patchSet, index), policies) });
  }
  return out;
}

export interface CommentOptions {
  projects?: string[];
  dryRun?: boolean;
}

export interface PostedReview {
  configId: string;
  patchSet: number;
  revision: string;
  vote: number | null;
  label?: string;
  message: string;
}

export interface CommentResult {
  posted: PostedReview[];
  /** Ready but not posted: the revision is outdated or the change closed (recorded, never retried). */
  skipped: Array<{ configId: string; patchSet: number; reason: string }>;
  waiting: Array<{ configId: string; patchSet: number; reason: string }>;
  errors: Array<{ configId: string; patchSet: number; message: string }>;
  requests: number;
  dryRun: boolean;
}

/**
 * Posts one review per finished current patch set: a vote only while the revision is still current
 * (asked right before posting), recorded as a Vote so it is posted exactly once.
 */
export async function commentResults(ctx: BellowsContext, options: CommentOptions = {}): Promise<CommentResult> {
  const targets = selectTargets(ctx.settings, options.projects);
  const startRequests = ctx.gerrit.requestCount;
  const result: CommentResult = { posted: [], skipped: [], waiting: [], errors: [], requests: 0, dryRun: Boolean(options.dryRun) };
  const items = planComment(await ctx.store.read(), targets, ctx.settings.templates);
  if (!options.dryRun && !ctx.gerrit.authenticated && items.some((i) => i.decision.kind === 'report')) {
    throw new UserError('gerrit: posting reviews needs the HTTP password of gerrit.username', {
      hint: 'set GERRIT_HTTP_PASSWORD, add it to ~/.netrc, or run "bellows login"',
    });
  }
  const { label, tag } = ctx.settings;
  for (const { config, key, decision } of items) {
    const where = { configId: config.id, patchSet: config.patchSet };
    if (decision.kind === 'wait') {
      result.waiting.push({ ...where, reason: decision.reason });
      continue;
    }
    const record = (vote: Vote): Promise<void> =>
      options.dryRun
        ? Promise.resolve()
        : ctx.store.update((state) => {
            state.votes[key] ??= vote;
          });
    const base = { project: config.project, number: config.number, patchSet: config.patchSet, revision: config.revision };
    try {
      const change = await ctx.gerrit.getChange({ project: config.project, number: config.number }, ['CURRENT_REVISION']);
      const skip = !change ? undefined : change.status !== 'NEW' ? `change is ${change.status.toLowerCase()}` : change.currentPatchSet.revision !== config.revision ? 'outdated' : undefined;
      if (!change) {
        result.errors.push({ ...where, message: 'Gerrit does not show this change (deleted, private or no permission)' });
        continue;
      }
      if (skip) {
        result.skipped.push({ ...where, reason: skip === 'outdated' ? `revision ${config.revision.slice(0, 12)} is no longer current` : skip });
        await record({ ...base, vote: null, message: '', postedAt: ctx.now().toISOString(), skipped: skip });
        continue;
      }
      const message = formatReviewMessage(config, decision, { logsUrl: ctx.settings.logsUrl, jobsDir: ctx.settings.jobsDir });
      const input: ReviewInput = { message, tag, notify: 'OWNER' };
      if (decision.vote !== null) input.labels = { [label]: decision.vote };
      if (!options.dryRun) {
        // Another run may have reported it meanwhile.
        if ((await ctx.store.read()).votes[key]) continue;
        try {
          await ctx.gerrit.postReview({ project: config.project, number: config.number }, config.revision, input);
        } catch (err) {
          if (err instanceof GerritHttpError && err.status === 409) {
            result.skipped.push({ ...where, reason: 'Gerrit refused the review (change closed)' });
            await record({ ...base, vote: null, message: '', postedAt: ctx.now().toISOString(), skipped: 'closed' });
            continue;
          }
          throw err;
        }
      }
      await record({ ...base, vote: decision.vote, label: decision.vote !== null ? label : undefined, message, postedAt: ctx.now().toISOString() });
      result.posted.push({ ...where, revision: config.revision, vote: decision.vote, label: decision.vote !== null ? label : undefined, message });
      ctx.logger.info(`${options.dryRun ? 'would post' : 'posted'} ${config.project} ${config.number},${config.patchSet}: ${decision.vote === null ? 'no vote' : `${label} ${decision.vote > 0 ? '+' : ''}${decision.vote}`}`);
    } catch (err) {
      if (isUserError(err)) throw err;
      result.errors.push({ ...where, message: errorMessage(err) });
      ctx.logger.warn(`comment ${config.id},${config.patchSet}: ${errorMessage(err)}`);
    }
  }
  result.requests = ctx.gerrit.requestCount - startRequests;
  return result;
}
