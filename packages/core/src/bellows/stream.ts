import { InfraError } from '../errors.js';
import type { GerritConfig } from '../config/schema.js';
import type { BackoffOptions } from '../net/retry.js';
import { sleep } from '../net/retry.js';
import { eventActor, eventKey, isRecheck } from '../gerrit/events.js';
import { toInt } from '../gerrit/map.js';
import { sshOptionsFromConfig } from '../gerrit/ssh.js';
import { GerritEventStream, type EventStreamHandlers, type EventStreamStats } from '../gerrit/stream.js';
import type { SshStreamEvent } from '../gerrit/wire.js';
import type { Logger } from '../log/logger.js';
import type { ChangeStatus, Job } from '../model.js';
import { enqueueJob, type NewJob } from '../queue/jobs.js';
import type { StateData } from '../store/schema.js';
import { noteActivity } from './activity.js';
import { configIdFor } from './configs.js';
import type { BellowsContext } from './context.js';
import { expectedJobs, isActive, jobsOfPatchSet, latestByKey, newJobFor, voteKey } from './patchsets.js';
import { planPurge } from './purge.js';
import { findTarget, type BellowsSettings, type TemplatePolicy } from './settings.js';
import { applySyncPlan, emptyOutcome, mergeOutcome, syncChange, syncProjects, type SyncOutcome } from './sync.js';

/** How many handled event keys the store remembers for deduplication. */
export const SEEN_EVENTS_LIMIT = 5000;

export type EventAction =
  | { kind: 'ignore'; reason: string }
  | { kind: 'sweep'; reason: string }
  | { kind: 'sync'; project: string; number: number }
  | { kind: 'purge'; project: string; number: number; status: ChangeStatus }
  | { kind: 'recheck'; project: string; number: number };

/** What a stream event asks bellows to do. Pure. */
export function decideEvent(event: SshStreamEvent, settings: Pick<BellowsSettings, 'projects' | 'botUsername' | 'recheck'>): EventAction {
  if (event.type === 'dropped-output') return { kind: 'sweep', reason: 'Gerrit dropped stream events' };
  const project = event.change?.project;
  const number = toInt(event.change?.number);
  if (!project || number === undefined) return { kind: 'ignore', reason: `${event.type}: no change in the event` };
  const branch = (event.change?.branch ?? 'master').replace(/^refs\/heads\//, '');
  if (!findTarget(settings.projects, project, branch)) return { kind: 'ignore', reason: `${project} ${branch} is not configured` };
  switch (event.type) {
    case 'patchset-created':
    case 'change-restored':
    case 'wip-state-changed':
      return { kind: 'sync', project, number };
    case 'change-merged':
      return { kind: 'purge', project, number, status: 'MERGED' };
    case 'change-abandoned':
      return { kind: 'purge', project, number, status: 'ABANDONED' };
    case 'comment-added': {
      const author = eventActor(event);
      if (settings.botUsername && author.username === settings.botUsername) return { kind: 'ignore', reason: 'our own comment' };
      return isRecheck(event.comment, settings.recheck) ? { kind: 'recheck', project, number } : { kind: 'ignore', reason: 'comment is not a recheck' };
    }
    default:
      return { kind: 'ignore', reason: `${event.type} events are not acted on` };
  }
}

/** New attempts of every template and combination of the current patch set that is not already queued or running. Pure. */
export function planRecheck(state: StateData, configId: string, policies: Record<string, TemplatePolicy>): NewJob[] {
  const config = state.configs[configId];
  if (!config || config.wip || config.dependencyProblem || (config.changeStatus && config.changeStatus !== 'NEW')) return [];
  const latest = latestByKey(jobsOfPatchSet(state, configId, config.patchSet));
  const out: NewJob[] = [];
  for (const expected of expectedJobs(config, policies)) {
    const job = latest.get(expected.key);
    if (job && isActive(job)) continue;
    out.push(newJobFor(config, expected, 'recheck', job ? job.attempt + 1 : 1, expected.policy.pool));
  }
  return out;
}

/** Remembers a handled event key, keeping the most recent ones only. */
export function rememberEvent(state: StateData, key: string, limit = SEEN_EVENTS_LIMIT): void {
  if (state.seenEvents.includes(key)) return;
  state.seenEvents.push(key);
  if (state.seenEvents.length > limit) state.seenEvents.splice(0, state.seenEvents.length - limit);
}

export interface EventResult {
  type: string;
  key: string;
  action: EventAction;
  duplicate: boolean;
  outcome: SyncOutcome;
}

/** Acts on one stream event (once: a key already seen is skipped). */
export async function handleEvent(
  ctx: BellowsContext,
  event: SshStreamEvent,
  options: { fire?: boolean; lagRetryMs?: number; receivedAt?: Date } = {},
): Promise<EventResult> {
  const key = eventKey(event);
  const action = decideEvent(event, ctx.settings);
  const result: EventResult = { type: event.type, key, action, duplicate: false, outcome: emptyOutcome() };
  if (action.kind !== 'sweep' && (await ctx.store.read()).seenEvents.includes(key)) {
    result.duplicate = true;
    return result;
  }
  switch (action.kind) {
    case 'ignore':
      break;
    case 'sweep': {
      const sweep = await syncProjects(ctx, { fire: options.fire });
      if (sweep.errors.length) throw new InfraError(`catch-up sweep: ${sweep.errors.map((e) => `${e.project}: ${e.message}`).join('; ')}`);
      result.outcome = sweep;
      break;
    }
    case 'sync': {
      const minPatchSet = event.type === 'patchset-created' ? toInt(event.patchSet?.number) : undefined;
      result.outcome = (await syncChange(ctx, action.project, action.number, { fire: options.fire, minPatchSet, lagRetryMs: options.lagRetryMs })) ?? emptyOutcome();
      break;
    }
    case 'purge': {
      // The event is the fact, as of when it arrived (the settle delay came after).
      result.outcome = await ctx.store.update((state) => applySyncPlan(state, planPurge(state, [action], options.receivedAt ?? ctx.now()), ctx.now()));
      // Changes that depend on it learn that it merged (taken from its branch now) or was abandoned (cannot be tested).
      const dependents = Object.values((await ctx.store.read()).configs).some((c) => c.dependencies?.some((d) => d.project === action.project && d.number === action.number));
      if (dependents) mergeOutcome(result.outcome, (await syncChange(ctx, action.project, action.number, { fire: options.fire })) ?? emptyOutcome());
      break;
    }
    case 'recheck': {
      result.outcome = (await syncChange(ctx, action.project, action.number, { fire: options.fire })) ?? emptyOutcome();
      const queued = await ctx.store.update((state): Job[] => {
        const id = configIdFor(action.project, action.number);
        const jobs = planRecheck(state, id, ctx.settings.templates).map((j) => enqueueJob(state, j, ctx.now()));
        const config = state.configs[id];
        // A recheck asks for a new report of the patch set.
        if (jobs.length && config) delete state.votes[voteKey(config.project, config.number, config.patchSet)];
        return jobs;
      });
      result.outcome.queued.push(...queued);
      break;
    }
  }
  if (action.kind !== 'sweep') await ctx.store.update((state) => rememberEvent(state, key));
  return result;
}

/** Anything that delivers Gerrit events with a connect hook: the SSH stream, or a test double. */
export interface EventSource {
  run(handlers: EventStreamHandlers, signal: AbortSignal): Promise<EventStreamStats>;
}

export interface StreamOptions {
  fire?: boolean;
  signal: AbortSignal;
  /** Called after each handled event (progress, tests). */
  onResult?: (result: EventResult) => void;
}

export interface StreamResult {
  events: number;
  handled: number;
  duplicates: number;
  ignored: number;
  sweeps: number;
  queued: number;
  connects: number;
  disconnects: number;
}

/**
 * The `bellows stream` loop: a catch-up sweep on every (re)connect, then each event after the
 * settle delay. Returns when the signal aborts, after the event in hand is finished.
 */
export async function runStream(ctx: BellowsContext, source: EventSource, options: StreamOptions): Promise<StreamResult> {
  const result: StreamResult = { events: 0, handled: 0, duplicates: 0, ignored: 0, sweeps: 0, queued: 0, connects: 0, disconnects: 0 };
  const settleMs = ctx.settings.settleSeconds * 1000;
  const stats = await source.run(
    {
      onConnect: async () => {
        const sweep = await syncProjects(ctx, { fire: options.fire });
        result.sweeps++;
        result.queued += sweep.queued.length;
        if (sweep.errors.length) throw new InfraError(`catch-up sweep: ${sweep.errors.map((e) => `${e.project}: ${e.message}`).join('; ')}`);
        const at = ctx.now();
        await ctx.store.update((state) => noteActivity(state, 'stream', { ok: true, summary: `connected; the catch-up sweep queued ${sweep.queued.length} job(s)`, since: at.toISOString() }, at));
      },
      onDisconnect: async (reason) => {
        const at = ctx.now();
        const summary = reason === 'stopped' ? 'stopped' : `disconnected: ${reason}; reconnecting`;
        await ctx.store.update((state) => noteActivity(state, 'stream', { ok: false, summary, since: at.toISOString() }, at));
      },
      onEvent: async (event, receivedAt) => {
        result.events++;
        // Gerrit's REST data can lag its events; act a little later.
        await sleep(receivedAt.getTime() + settleMs - Date.now(), options.signal);
        if (options.signal.aborted) return;
        const handled = await handleEvent(ctx, event, { ...options, receivedAt });
        if (handled.duplicate) result.duplicates++;
        else if (handled.action.kind === 'ignore') result.ignored++;
        else result.handled++;
        if (handled.action.kind === 'sweep') result.sweeps++;
        result.queued += handled.outcome.queued.length;
        if (handled.action.kind !== 'ignore' && !handled.duplicate) {
          ctx.logger.info(`${event.type} ${event.change?.project ?? ''} ${event.change?.number ?? ''}: ${describeOutcome(handled.outcome)}`);
        } else ctx.logger.debug(`${event.type}: ${handled.duplicate ? 'already handled' : (handled.action as { reason: string }).reason}`);
        options.onResult?.(handled);
      },
    },
    options.signal,
  );
  result.connects = stats.connects;
  result.disconnects = stats.disconnects;
  return result;
}

function describeOutcome(o: SyncOutcome): string {
  const parts = [
    o.created.length && `${o.created.length} created`,
    o.updated.length && `${o.updated.length} updated`,
    o.purged.length && `${o.purged.length} purged`,
    o.superseded.length && `${o.superseded.length} superseded`,
    o.cancelled.length && `${o.cancelled.length} cancelled`,
    o.queued.length && `${o.queued.length} queued`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'nothing to do';
}

export interface EventStreamSettings {
  insecureAcceptHostKey?: boolean;
  logger?: Logger;
  backoff?: BackoffOptions;
  /** Overrides gerrit.ssh.silenceSeconds / keepaliveSeconds (tests use short ones). */
  silenceMs?: number;
  keepaliveMs?: number;
  stableMs?: number;
}

/** The SSH event stream described by the `gerrit:` config. */
export function eventStreamFromConfig(gerrit: GerritConfig, options: EventStreamSettings = {}): GerritEventStream {
  const ssh = sshOptionsFromConfig(gerrit, { insecureAcceptHostKey: options.insecureAcceptHostKey, logger: options.logger });
  if (options.keepaliveMs) ssh.keepaliveMs = options.keepaliveMs;
  return new GerritEventStream({
    ssh,
    silenceMs: options.silenceMs ?? (gerrit.ssh?.silenceSeconds ?? 120) * 1000,
    backoff: options.backoff,
    stableMs: options.stableMs,
    logger: options.logger,
  });
}
