import { changeRef } from '../gerrit/map.js';
import type { Change } from '../model.js';

/** Gerrit keeps change and patch-set numbers in 32-bit signed integers. */
export const MAX_GERRIT_NUMBER = 2 ** 31 - 1;

function inRange(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_GERRIT_NUMBER;
}

/** Why a project name cannot be used in paths, URLs and refs; undefined when it can. */
function unsafeProject(project: string): string | undefined {
  if (/[\u0000-\u001f\u007f\\]/.test(project)) return 'has control characters or a backslash';
  if (project.startsWith('/') || project.startsWith('-')) return `starts with "${project[0]}"`;
  if (project.split('/').some((part) => part === '' || part === '.' || part === '..')) return 'has an empty, "." or ".." path segment';
  return undefined;
}

/**
 * Why a change from Gerrit's answer cannot be trusted (its number, project, or the patch set an open
 * change would be tested at); undefined when it can. The reason names what is wrong. Pure.
 */
export function malformedChange(change: Change): string | undefined {
  if (!inRange(change.number)) return `change number ${change.number} is out of range`;
  const project = unsafeProject(change.project);
  if (project) return `project name ${JSON.stringify(change.project)} ${project}`;
  if (change.status !== 'NEW') return undefined;
  const ps = change.currentPatchSet;
  if (ps.number === 0 || ps.revision === '') return "no current patch set in Gerrit's answer";
  if (!inRange(ps.number)) return `patch set number ${ps.number} is out of range`;
  const expected = changeRef(change.number, ps.number);
  if (ps.ref !== expected) return `ref ${JSON.stringify(ps.ref)} of patch set ${ps.number} is not ${expected}`;
  return undefined;
}
