import { createHash } from 'node:crypto';

/** Gerrit's REST timestamp: UTC, space separator, nanoseconds, no zone. */
export function gerritTimestamp(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000000`;
}

export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

export function sha1Hex(...parts: Array<string | number>): string {
  return createHash('sha1').update(parts.join('\0')).digest('hex');
}

/** refs/changes/NN/NUMBER/PS where NN is the last two digits of the change number. */
export function changeRef(number: number, patchSet: number): string {
  return `refs/changes/${String(number % 100).padStart(2, '0')}/${number}/${patchSet}`;
}

export const ZERO_SHA = '0'.repeat(40);

export interface LabelDefinition {
  min: number;
  max: number;
  values: Record<string, string>;
}

/** The labels of a stock Gerrit site with the usual CI setup. */
export const LABELS: Record<string, LabelDefinition> = {
  Verified: { min: -1, max: 1, values: { '-1': 'Fails', ' 0': 'No score', '+1': 'Verified' } },
  'Code-Review': {
    min: -2,
    max: 2,
    values: {
      '-2': 'This shall not be submitted',
      '-1': 'I would prefer this is not submitted as is',
      ' 0': 'No score',
      '+1': 'Looks good to me, but someone else must approve',
      '+2': 'Looks good to me, approved',
    },
  },
  Workflow: { min: -1, max: 1, values: { '-1': 'Work in progress', ' 0': 'Ready for reviews', '+1': 'Approved' } },
};

/** "Verified+1", "Code-Review-2", "-Verified" (vote removed) as Gerrit writes them in messages. */
export function formatVote(label: string, value: number): string {
  if (value === 0) return `-${label}`;
  return `${label}${value > 0 ? '+' : ''}${value}`;
}
