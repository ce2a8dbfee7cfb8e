import { UserError } from './errors.js';

/** Parses an age such as `90m`, `24h`, `7d` or `3600s`. */
export function parseAge(text: string, where = '--older-than'): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new UserError(`${where}: "${text}" is not an age`, { hint: 'use e.g. 30m, 24h or 7d' });
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(m[2] ?? 'h') as 's' | 'm' | 'h' | 'd' | 'w'];
  return Math.round(Number(m[1]) * unit * 1000);
}
