import os from 'node:os';
import type { ActivityKind, ActivityMark, StateData } from '../store/schema.js';

/** The longest summary kept: one line for the status page, never a log. */
const SUMMARY_CHARS = 300;

/** Pure: records the outcome of a run of `kind`, replacing the previous one (a failure keeps when it last went well). */
export function noteActivity(state: StateData, kind: ActivityKind, mark: { ok: boolean; summary: string; since?: string }, now: Date, by = `${os.hostname()}:${process.pid}`): void {
  const previous = state.activity?.[kind];
  const at = now.toISOString();
  const summary = mark.summary.split('\n')[0]!.slice(0, SUMMARY_CHARS);
  const record: ActivityMark = { at, ok: mark.ok, summary, by };
  const lastOkAt = mark.ok ? at : (previous?.ok ? previous.at : previous?.lastOkAt);
  if (lastOkAt && !mark.ok) record.lastOkAt = lastOkAt;
  // Down since the first failure of a run of failures (a stream retrying every minute is down since the first).
  const since = !mark.ok && previous && !previous.ok && previous.since ? previous.since : mark.since;
  if (since) record.since = since;
  state.activity = { ...state.activity, [kind]: record };
}
