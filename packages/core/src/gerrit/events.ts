import crypto from 'node:crypto';
import type { Account, Change } from '../model.js';
import { accountFromSsh, changeFromSsh, sshApprovals, toInt } from './map.js';
import type { SshAccount, SshStreamEvent } from './wire.js';

export const HANDLED_EVENT_TYPES = [
  'patchset-created',
  'comment-added',
  'change-merged',
  'change-abandoned',
  'change-restored',
  'wip-state-changed',
  'dropped-output',
] as const;

/** Parses one line of `gerrit stream-events`; undefined for blank or unparsable lines and objects without a type. */
export function parseStreamEvent(line: string): SshStreamEvent | undefined {
  const trimmed = line.trim();
  if (!trimmed) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const event = value as SshStreamEvent;
  return typeof event.type === 'string' && event.type !== '' ? event : undefined;
}

/** The account that caused the event, whatever the event type calls it. */
export function eventActor(event: SshStreamEvent): Account {
  const who: SshAccount | undefined = event.author ?? event.uploader ?? event.submitter ?? event.abandoner ?? event.restorer ?? event.changer ?? event.patchSet?.uploader;
  return accountFromSsh(who);
}

/**
 * The change an event is about, at the event's patch set. A `comment-added` event carries the votes
 * of that comment at its top level (`approvals`), not inside the patch set: those are kept.
 */
export function changeFromEvent(event: SshStreamEvent): Change {
  const change = changeFromSsh(event.change ?? {}, event.patchSet);
  const topLevel = sshApprovals(event.approvals);
  if (topLevel.length > 0 && change.approvals.length === 0) change.approvals = topLevel;
  return change;
}

/**
 * The key under which an event is remembered, so a replayed or duplicated event is handled once:
 * type, change, patch set, time and author, plus what tells apart two events of one second
 * (the WIP state reached, the comment's text).
 */
export function eventKey(event: SshStreamEvent): string {
  const actor = eventActor(event);
  const parts = [
    event.type,
    event.change?.project ?? event.refUpdate?.project ?? '',
    toInt(event.change?.number) ?? event.refUpdate?.refName ?? '',
    toInt(event.patchSet?.number) ?? '',
    toInt(event.eventCreatedOn) ?? '',
    actor.username ?? actor.email ?? actor.name ?? '',
  ];
  if (event.type === 'wip-state-changed') parts.push(event.change?.wip === true ? 'wip' : 'ready');
  if (event.type === 'comment-added' && event.comment) parts.push(crypto.createHash('sha1').update(event.comment).digest('hex').slice(0, 12));
  return parts.join('|');
}

/** Strips Gerrit's `Patch Set N: Label+1` header from a comment so the recheck pattern sees what was written. */
export function commentBody(comment: string | undefined): string {
  if (!comment) return '';
  return comment.replace(/^Patch Set \d+:[^\n]*(\n\n?|$)/, '');
}

/** Whether a comment asks for a recheck; the pattern is applied per line (multiline). */
export function isRecheck(comment: string | undefined, pattern: string): boolean {
  const body = commentBody(comment);
  if (!body.trim()) return false;
  return new RegExp(pattern, 'm').test(body);
}
