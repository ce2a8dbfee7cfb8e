import os from 'node:os';
import path from 'node:path';
import { InfraError, UserError, errorMessage, isUserError } from '../errors.js';
import { formatDuration } from '../cli/table.js';
import { GerritHttpError } from '../gerrit/rest.js';
import type { ReviewInput } from '../gerrit/wire.js';
import type { Change, Job, ReportClaimant, TestConfig, Vote } from '../model.js';
import { jobKind } from '../queue/jobs.js';
import { mayRetryInfra } from '../queue/transitions.js';
import { pidAlive } from '../store/lock.js';
import { writeJobPage } from '../web/job-pages.js';
import { jobPageLocation, type WebSettings } from '../web/layout.js';
import type { StateData } from '../store/schema.js';
import { noteActivity } from './activity.js';
import { listConfigs } from './configs.js';
import type { BellowsContext } from './context.js';
import { outdatedDependency } from './dependencies.js';
import { claimReport, decideDelivery, landedReview, ownReviews, releaseClaim, settleVote, type ReviewIdentity } from './delivery.js';
import { ensureBaselines, gatherFaultEvidence, reportedJobs, withLiveBaselines } from './evidence.js';
import { analyzeJob, combineVotes, describeComparison, describeVerdict, pageVerdicts, type FaultEvidence, type FaultSettings, type JobFault } from './fault.js';
import { keyOfJob } from '../queue/jobs.js';
import { expectedJobs, indexJobs, isActive, jobsOfPatchSet, latestByKey, voteKey } from './patchsets.js';
import { findTarget, selectTargets, type ProjectTarget, type TemplatePolicy } from './settings.js';

/** Gerrit keeps review messages short; Zuul cuts at about 16 KB too. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

export type ReportDecision =
  | { kind: 'wait'; reason: string }
  /** `vote` null: report without a label (infrastructure failure with no retries left, required tests that did not run, failures no baseline answered, or `problem`: it cannot be tested). */
  | { kind: 'report'; vote: 1 | -1 | null; jobs: Job[]; faults: JobFault[]; problem?: string };

/** What the report's fault rules need besides the jobs: the settings, what the store told, and the time. */
export interface FaultContext {
  settings: FaultSettings;
  evidence: FaultEvidence;
  now: Date;
}

/**
 * Whether a patch set's jobs (the latest attempt of each template in each combination of its axes) are
 * ready to be reported, and with which vote: every combination counts. -1 only for a build failure or a
 * new test failure (see analyzeJob), no label while an infrastructure failure stands, a required test
 * did not run or a failure could not be compared with a baseline, else +1. A failure waits for its
 * baseline (bounded) and, on a template without autoApprove, for approval. Pure.
 */
export function decideReport(config: TestConfig, jobs: Job[], policies: Record<string, TemplatePolicy>, fault: FaultContext): ReportDecision {
  if (config.templates.length === 0) return { kind: 'wait', reason: 'no templates configured' };
  if (config.dependencyProblem) return { kind: 'report', vote: null, jobs: [], faults: [], problem: config.dependencyProblem };
  const latest = latestByKey(jobs.filter((j) => j.patchSet === config.patchSet && jobKind(j) === 'queue'));
  const results: Job[] = [];
  const faults: JobFault[] = [];
  for (const { key, policy } of expectedJobs(config, policies)) {
    const job = latest.get(key);
    if (!job) return { kind: 'wait', reason: `${key}: no job yet` };
    if (isActive(job)) return { kind: 'wait', reason: `${key}: ${job.id} is ${job.status}` };
    const outdated = outdatedDependency(job, config);
    if (outdated) return { kind: 'wait', reason: `${key}: ${job.id} tested an older patch set of Depends-On ${outdated.project} ${outdated.number}` };
    if (job.status === 'cancelled' || job.status === 'superseded') return { kind: 'wait', reason: `${key}: ${job.id} was ${job.status}` };
    if (job.status === 'infra_failed' && mayRetryInfra(job.attempt, policy.maxInfraRetries)) {
      return { kind: 'wait', reason: `${key}: ${job.id} failed for infrastructure reasons; attempt ${job.attempt + 1} is due` };
    }
    const analysis = analyzeJob(job, fault.settings, fault.evidence, fault.now);
    if (analysis.comparison.state === 'waiting') return { kind: 'wait', reason: `${key}: ${job.id} waits for its baseline (${analysis.comparison.reason})` };
    if (analysis.vote === -1 && !policy.autoApprove && !job.approvedBy) {
      return { kind: 'wait', reason: `${key}: ${job.id} failed and awaits "bellows jobs approve ${job.id}"` };
    }
    results.push(job);
    faults.push(analysis);
  }
  return { kind: 'report', vote: combineVotes(faults), jobs: results, faults };
}

export interface MessageOptions {
  /** The job pages: linked at their public URL when there is one. */
  web?: WebSettings;
  /** `<logsUrl>/<job id>/` links to the raw logs, when the pages have no public URL. */
  logsUrl?: string;
  jobsDir?: string;
}

function jobDuration(job: Job): string {
  let ms = job.summary.durationMs;
  if (!ms && job.startedAt && job.finishedAt) ms = Date.parse(job.finishedAt) - Date.parse(job.startedAt);
  return formatDuration(ms || 0) || '0s';
}

/** Where a reviewer finds the job: its page's URL, else the published logs, else where its page is on the control host. */
function logsLink(job: Job, options: MessageOptions): string {
  if (options.web?.url) return jobPageLocation(options.web, job.id);
  if (options.logsUrl) return `${options.logsUrl.replace(/\/+$/, '')}/${job.id}/`;
  if (options.web) return jobPageLocation(options.web, job.id);
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

/** Test lines shown per job; the rest are counted. */
const TEST_LINES_SHOWN = 60;

function reviewHeader(config: TestConfig, decision: Extract<ReportDecision, { kind: 'report' }>): string {
  const ps = config.patchSet;
  const excused = decision.faults.some((f) => f.tests.some((t) => t.kind === 'pre-existing' || t.kind === 'flaky' || t.kind === 'quarantined'));
  if (decision.vote === 1 && excused) return `SmokeStack: build succeeded for patch set ${ps}: no new test failures (the failures below are not caused by this change).`;
  if (decision.vote === 1) return `SmokeStack: build succeeded for patch set ${ps}.`;
  if (decision.vote === -1) return `SmokeStack: build failed for patch set ${ps}.`;
  if (decision.jobs.some((j) => j.status === 'infra_failed')) {
    return `SmokeStack: build could not finish for patch set ${ps}: infrastructure failure, no vote (comment "recheck" to run it again).`;
  }
  const tests = decision.faults.flatMap((f) => f.tests);
  const templates = [...new Set(tests.flatMap((t) => (t.kind === 'required-skipped' ? [t.skip.template] : [])))];
  const why = [
    ...(templates.length ? [`tests required by template ${templates.join(', ')} did not run`] : []),
    ...(tests.some((t) => t.kind === 'uncompared') ? ['test failures could not be compared with the target branch'] : []),
  ];
  return `SmokeStack: ${why.join(' and ')} for patch set ${ps}: no vote.`;
}

/** A job's lines under its result line: per-test verdicts, the comparison, ordinary skipped tests. */
function jobDetailLines(job: Job, fault: JobFault | undefined): string[] {
  const lines: string[] = [];
  const verdicts = fault?.tests ?? [];
  for (const v of verdicts.slice(0, TEST_LINES_SHOWN)) lines.push(`  ${describeVerdict(v)}`);
  if (verdicts.length > TEST_LINES_SHOWN) lines.push(`  … and ${verdicts.length - TEST_LINES_SHOWN} more (see the logs)`);
  const comparison = fault && describeComparison(fault.comparison);
  if (comparison) lines.push(`  ${comparison}`);
  const required = new Set((job.requiredSkipped ?? []).map((r) => r.id));
  const skipped = job.skipped.filter((t) => !required.has(t.id));
  if (skipped.length) lines.push(`  skipped tests: ${skipped.map((t) => (t.reason ? `${t.id} (${t.reason})` : t.id)).join(', ')}`);
  return lines;
}

/** The Zuul-like review message: a header, one line per template, then per test whose fault a failure is. */
export function formatReviewMessage(config: TestConfig, decision: Extract<ReportDecision, { kind: 'report' }>, options: MessageOptions = {}): string {
  if (decision.problem) return truncateMessage(`SmokeStack: cannot test patch set ${config.patchSet}, no vote: ${decision.problem}.`);
  const lines = [reviewHeader(config, decision), ''];
  const together = (config.dependencies ?? []).map((d) => `${d.project} ${d.number}${d.status === 'MERGED' ? ' (merged)' : `,${d.patchSet}`}`);
  if (together.length) lines.push(`Tested together with (Depends-On): ${together.join(', ')}`, '');
  for (const job of decision.jobs) {
    const s = job.summary;
    lines.push(
      `- ${keyOfJob(job)} ${logsLink(job, options)} : ${job.status.toUpperCase()} in ${jobDuration(job)} (${s.tests} tests, ${s.failures + s.errors} failures, ${s.skipped} skipped)`,
    );
    // A failure whose tests are named below needs no summary line; any other result says what happened.
    const named = job.status === 'test_failed' && (job.failedTests?.length ?? 0) > 0;
    if (job.status !== 'success' && job.status !== 'incomplete' && !named && job.message) lines.push(`  ${job.message.split('\n')[0]!.slice(0, 300)}`);
    if (job.approvedBy) lines.push(`  failure approved by ${job.approvedBy}`);
    lines.push(...jobDetailLines(job, decision.faults.find((f) => f.jobId === job.id)));
  }
  return truncateMessage(lines.join('\n'));
}

export interface CommentItem {
  config: TestConfig;
  key: string;
  decision: ReportDecision;
}

/** Whether a config's current patch set has its final Vote record (one with an intent is unfinished: planned again, so a run that stopped midway is finished). */
function isReported(state: StateData, config: TestConfig): boolean {
  const vote = state.votes[voteKey(config.project, config.number, config.patchSet)];
  return vote !== undefined && !vote.intent;
}

/** For each config of the targets not yet reported, whether to report now or wait, and why. Pure. */
export function planComment(state: StateData, targets: ProjectTarget[], policies: Record<string, TemplatePolicy>, fault: FaultContext): CommentItem[] {
  const out: CommentItem[] = [];
  const index = indexJobs(state);
  for (const config of listConfigs(state)) {
    if (!findTarget(targets, config.project, config.branch)) continue;
    const key = voteKey(config.project, config.number, config.patchSet);
    if (isReported(state, config)) continue;
    out.push({ config, key, decision: decideReport(config, jobsOfPatchSet(state, config.id, config.patchSet, index), policies, fault) });
  }
  return out;
}

export interface ClaimRequest {
  key: string;
  config: TestConfig;
  policies: Record<string, TemplatePolicy>;
  /** The fault rules' settings and evidence (baselines found in the live state are taken from there). */
  fault: Omit<FaultContext, 'now'>;
  claimant: ReportClaimant;
  /** Our reviews on the patch set as Gerrit showed them before the claim. */
  knownReviews: string[];
  label: string;
  message: MessageOptions;
  isAlive: (claimant: ReportClaimant) => boolean;
}

export type ClaimOutcome =
  | { kind: 'changed'; reason: string }
  | { kind: 'reported' }
  | { kind: 'busy'; claimant: ReportClaimant }
  | { kind: 'claimed'; vote: Vote; previous?: Vote; faults: JobFault[]; jobs: Job[] };

/**
 * Inside a store update: decides the report again on the stored jobs (they may have moved since the
 * plan was read) and, when it is still due and nobody else is posting it, records the intent to post.
 */
export function claimInState(state: StateData, request: ClaimRequest, now: Date): ClaimOutcome {
  const { key, claimant } = request;
  const config = state.configs[request.config.id];
  if (!config || config.patchSet !== request.config.patchSet || config.revision !== request.config.revision) {
    return { kind: 'changed', reason: 'the change moved on while the report was prepared' };
  }
  const fault: FaultContext = { ...request.fault, evidence: withLiveBaselines(request.fault.evidence, state), now };
  const decision: ReportDecision = decideReport(config, jobsOfPatchSet(state, config.id, config.patchSet), request.policies, fault);
  if (decision.kind !== 'report') return { kind: 'changed', reason: decision.reason };
  const claim = claimReport(state.votes[key], request.isAlive);
  if (claim.kind !== 'claimed') return claim;
  const vote: Vote = {
    project: config.project,
    number: config.number,
    patchSet: config.patchSet,
    revision: config.revision,
    vote: decision.vote,
    message: formatReviewMessage(config, decision, request.message),
    postedAt: now.toISOString(),
    intent: { claimant, knownReviews: claim.previous?.intent?.knownReviews ?? request.knownReviews },
  };
  if (decision.vote !== null) vote.label = request.label;
  if (decision.problem) vote.problem = decision.problem;
  state.votes[key] = vote;
  return { kind: 'claimed', vote, faults: decision.faults, jobs: structuredClone(decision.jobs), ...(claim.previous ? { previous: claim.previous } : {}) };
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
  /** Found on Gerrit already: a run that stopped right after posting never recorded it. Recorded now, not posted again. */
  recovered: PostedReview[];
  /** Ready but not posted: the revision is outdated or the change closed (recorded, never retried). */
  skipped: Array<{ configId: string; patchSet: number; reason: string }>;
  waiting: Array<{ configId: string; patchSet: number; reason: string }>;
  errors: Array<{ configId: string; patchSet: number; message: string }>;
  requests: number;
  dryRun: boolean;
}

/** A claim older than this is taken over even if its process seems alive (a posting takes seconds). */
export const CLAIM_STALE_MS = 15 * 60_000;

/** Whether the run that claimed a report may still be posting it. */
function claimantAlive(claimant: ReportClaimant, now: Date): boolean {
  if (now.getTime() - Date.parse(claimant.at) > CLAIM_STALE_MS) return false;
  return claimant.host !== os.hostname() || pidAlive(claimant.pid);
}

type ReadyItem = CommentItem & { decision: Extract<ReportDecision, { kind: 'report' }> };

/**
 * Posts one review per finished current patch set: a vote only while the revision is still current
 * (asked right before posting). The intent is recorded under the store lock before the review is sent
 * and Gerrit's own messages are checked before sending again, so concurrent runs and a crash at any
 * point still give exactly one review per patch set.
 */
export async function commentResults(ctx: BellowsContext, options: CommentOptions = {}): Promise<CommentResult> {
  const targets = selectTargets(ctx.settings, options.projects);
  const startRequests = ctx.gerrit.requestCount;
  const result: CommentResult = { posted: [], recovered: [], skipped: [], waiting: [], errors: [], requests: 0, dryRun: Boolean(options.dryRun) };
  const fault = await readFaultContext(ctx, targets, Boolean(options.dryRun));
  const items = planComment(fault.state, targets, ctx.settings.templates, fault);
  if (!options.dryRun && !ctx.gerrit.authenticated && items.some((i) => i.decision.kind === 'report')) {
    throw new UserError('gerrit: posting reviews needs the HTTP password of gerrit.username', {
      hint: 'set GERRIT_HTTP_PASSWORD, add it to ~/.netrc, or run "bellows login"',
    });
  }
  for (const item of items) {
    const where = { configId: item.config.id, patchSet: item.config.patchSet };
    if (item.decision.kind === 'wait') {
      result.waiting.push({ ...where, reason: item.decision.reason });
      continue;
    }
    try {
      await (options.dryRun ? previewReport(ctx, item as ReadyItem, result) : deliverReport(ctx, item as ReadyItem, fault, result));
    } catch (err) {
      if (isUserError(err)) throw err;
      result.errors.push({ ...where, message: errorMessage(err) });
      ctx.logger.warn(`comment ${item.config.id},${item.config.patchSet}: ${errorMessage(err)}`);
    }
  }
  result.requests = ctx.gerrit.requestCount - startRequests;
  if (!options.dryRun) await ctx.store.update((state) => noteActivity(state, 'comment', commentActivity(result), ctx.now()));
  return result;
}

/**
 * The state and what the fault rules need from the store: failing jobs get their baselines first
 * (queued when missing, except in a dry run), then the evidence is read for every reported job.
 */
async function readFaultContext(ctx: BellowsContext, targets: ProjectTarget[], dryRun: boolean): Promise<FaultContext & { state: StateData }> {
  const now = ctx.now();
  const configsOf = (state: StateData) => listConfigs(state).filter((c) => findTarget(targets, c.project, c.branch) && !isReported(state, c));
  let state = await ctx.store.read();
  if (!dryRun && (await ensureBaselines(ctx.store, reportedJobs(state, configsOf(state)), ctx.settings.fault, now))) state = await ctx.store.read();
  const evidence = await gatherFaultEvidence(ctx.store, state, reportedJobs(state, configsOf(state)), ctx.settings.fault, now);
  return { state, settings: ctx.settings.fault, evidence, now };
}

/** One line on the status page: what the run posted, and what failed. */
function commentActivity(result: CommentResult): { ok: boolean; summary: string } {
  const done = `${result.posted.length} posted, ${result.recovered.length} recovered, ${result.skipped.length} skipped, ${result.waiting.length} waiting`;
  if (result.errors.length === 0) return { ok: true, summary: done };
  return { ok: false, summary: `${result.errors.length} failed (${result.errors.map((e) => `${e.configId},${e.patchSet}: ${e.message}`).join('; ')}); ${done}` };
}

const NOT_SHOWN = 'Gerrit does not show this change (deleted, private or no permission)';

function describeVote(vote: number | null, label: string): string {
  return vote === null ? 'no vote' : `${label} ${vote > 0 ? '+' : ''}${vote}`;
}

function postedReview(config: TestConfig, vote: Vote): PostedReview {
  return { configId: config.id, patchSet: config.patchSet, revision: config.revision, vote: vote.vote, label: vote.label, message: vote.message };
}

/** --dry-run: what would be posted, asking Gerrit but recording nothing. */
async function previewReport(ctx: BellowsContext, item: ReadyItem, result: CommentResult): Promise<void> {
  const { config, decision } = item;
  const where = { configId: config.id, patchSet: config.patchSet };
  const fetched = await ctx.gerrit.getChangeWithMessages({ project: config.project, number: config.number });
  if (!fetched) return void result.errors.push({ ...where, message: NOT_SHOWN });
  const delivery = decideDelivery(config, fetched.change);
  if (delivery.kind === 'skip') return void result.skipped.push({ ...where, reason: delivery.reason });
  const { label } = ctx.settings;
  const message = formatReviewMessage(config, decision, { logsUrl: ctx.settings.logsUrl, jobsDir: ctx.settings.jobsDir, ...(ctx.settings.web ? { web: ctx.settings.web } : {}) });
  result.posted.push({ ...where, revision: config.revision, vote: decision.vote, label: decision.vote !== null ? label : undefined, message });
  ctx.logger.info(`would post ${config.project} ${config.number},${config.patchSet}: ${describeVote(decision.vote, label)}`);
}

/** Claims one ready report, checks Gerrit, posts it, and records the outcome. */
async function deliverReport(ctx: BellowsContext, item: ReadyItem, fault: FaultContext, result: CommentResult): Promise<void> {
  const { config, key } = item;
  const where = { configId: config.id, patchSet: config.patchSet };
  const change = { project: config.project, number: config.number };
  const who: ReviewIdentity = { tag: ctx.settings.tag, botUsername: ctx.settings.botUsername };
  let fetched = await ctx.gerrit.getChangeWithMessages(change);
  if (!fetched) return void result.errors.push({ ...where, message: NOT_SHOWN });
  const now = ctx.now();
  const claimant: ReportClaimant = { pid: process.pid, host: os.hostname(), at: now.toISOString() };
  const request: ClaimRequest = {
    key,
    config,
    policies: ctx.settings.templates,
    fault: { settings: fault.settings, evidence: fault.evidence },
    claimant,
    knownReviews: ownReviews(fetched.messages, who, config.patchSet),
    label: ctx.settings.label,
    message: { logsUrl: ctx.settings.logsUrl, jobsDir: ctx.settings.jobsDir, ...(ctx.settings.web ? { web: ctx.settings.web } : {}) },
    isAlive: (c) => claimantAlive(c, now),
  };
  const claim = await ctx.store.update((state) => claimInState(state, request, now));
  if (claim.kind === 'reported') return;
  if (claim.kind === 'changed') return void result.waiting.push({ ...where, reason: claim.reason });
  if (claim.kind === 'busy') {
    return void result.waiting.push({ ...where, reason: `another bellows comment (pid ${claim.claimant.pid} on ${claim.claimant.host}) is posting it` });
  }
  const settle = (vote: Vote) => ctx.store.update((state) => settleVote(state, key, vote));
  try {
    if (claim.previous) {
      // A run that claimed this report is gone: whether its review reached Gerrit, only Gerrit knows.
      fetched = await ctx.gerrit.getChangeWithMessages(change);
      if (!fetched) throw new InfraError(NOT_SHOWN);
      const landed = landedReview(fetched.messages, claim.previous, who);
      if (landed) {
        const vote: Vote = { ...claim.previous, postedAt: landed.date ?? ctx.now().toISOString() };
        delete vote.intent;
        await settle(vote);
        result.recovered.push(postedReview(config, vote));
        ctx.logger.info(`${config.project} ${config.number},${config.patchSet}: already on Gerrit (posted by a run that stopped before recording it)`);
        return;
      }
    }
    await postClaimed(ctx, config, claim.vote, fetched.change, settle, result);
    await publishVerdicts(ctx, claim.jobs, claim.faults);
  } catch (err) {
    await ctx.store.update((state) => releaseClaim(state, key, claimant)).catch(() => undefined);
    throw err;
  }
}

/** Rewrites the reported jobs' pages with each failing test's verdict (new, pre-existing, flaky, quarantined); a page that cannot be written costs a warning. */
async function publishVerdicts(ctx: BellowsContext, jobs: Job[], faults: JobFault[]): Promise<void> {
  const web = ctx.settings.web;
  if (!web) return;
  for (const job of jobs) {
    const fault = faults.find((f) => f.jobId === job.id);
    if (!fault?.tests.length) continue;
    await writeJobPage(job, { store: ctx.store, web, verdicts: pageVerdicts(fault), now: ctx.now, logger: ctx.logger }).catch((err) =>
      ctx.logger.warn(`job ${job.id}: could not write its page with the verdicts: ${errorMessage(err)}`),
    );
  }
}

async function postClaimed(
  ctx: BellowsContext,
  config: TestConfig,
  intent: Vote,
  current: Change,
  settle: (vote: Vote) => Promise<void>,
  result: CommentResult,
): Promise<void> {
  const where = { configId: config.id, patchSet: config.patchSet };
  const final: Vote = { ...intent };
  delete final.intent;
  const skip = async (skipped: string, reason: string) => {
    await settle({ ...final, vote: null, label: undefined, message: '', postedAt: ctx.now().toISOString(), skipped });
    result.skipped.push({ ...where, reason });
  };
  const delivery = decideDelivery(config, current);
  if (delivery.kind === 'skip') return skip(delivery.skipped, delivery.reason);
  const input: ReviewInput = { message: intent.message, tag: ctx.settings.tag, notify: 'OWNER' };
  if (intent.vote !== null) input.labels = { [ctx.settings.label]: intent.vote };
  try {
    await ctx.gerrit.postReview({ project: config.project, number: config.number }, config.revision, input);
  } catch (err) {
    if (err instanceof GerritHttpError && err.status === 409) return skip('closed', 'Gerrit refused the review (change closed)');
    throw err;
  }
  await settle({ ...final, postedAt: ctx.now().toISOString() });
  result.posted.push(postedReview(config, final));
  ctx.logger.info(`posted ${config.project} ${config.number},${config.patchSet}: ${describeVote(intent.vote, ctx.settings.label)}`);
}
