import { GerritHttpError, type GerritRestClient } from './rest.js';
import { restChangeId } from './map.js';

/**
 * Gerrit's checks plugin over REST: checkers (`/plugins/checks/checkers/`) and the checks of a
 * patch set (`/changes/{id}/revisions/{rev}/checks/`). See reference/gerrit.md.
 */

export const CHECK_STATES = ['NOT_STARTED', 'FAILED', 'SCHEDULED', 'RUNNING', 'SUCCESSFUL', 'NOT_RELEVANT'] as const;
export type CheckState = (typeof CHECK_STATES)[number];

export interface CheckerInput {
  uuid: string;
  name: string;
  description?: string;
  repository: string;
  query?: string;
  blocking?: string[];
  status?: 'ENABLED' | 'DISABLED';
}

export interface CheckInput {
  checker_uuid: string;
  state: CheckState;
  message?: string;
  url?: string;
  started?: string;
  finished?: string;
}

/** What Gerrit shows of a check (the fields read here). */
export interface CheckInfo {
  checker_uuid: string;
  state: CheckState;
  message?: string;
  url?: string;
}

/** Registers the checker unless Gerrit has it already; true when it was created now. */
export async function ensureChecker(client: GerritRestClient, input: CheckerInput): Promise<boolean> {
  const known = await client.request('GET', `/plugins/checks/checkers/${encodeURIComponent(input.uuid)}`, { allow404: true });
  if (known !== undefined) return false;
  try {
    await client.request('POST', '/plugins/checks/checkers/', { body: input });
    return true;
  } catch (err) {
    // Another run registered it between the two calls.
    if (err instanceof GerritHttpError && err.status === 409) return false;
    throw err;
  }
}

export async function listChecks(client: GerritRestClient, project: string, number: number, revision: string): Promise<CheckInfo[]> {
  const found = await client.request('GET', `/changes/${restChangeId(project, number)}/revisions/${encodeURIComponent(revision)}/checks/`, { allow404: true });
  return Array.isArray(found) ? (found as CheckInfo[]) : [];
}

export async function postCheck(client: GerritRestClient, project: string, number: number, revision: string, input: CheckInput): Promise<void> {
  await client.request('POST', `/changes/${restChangeId(project, number)}/revisions/${encodeURIComponent(revision)}/checks/`, { body: input });
}

/** Gerrit's timestamp format ("2026-11-22 09:31:00.000000000", UTC). */
export function gerritTimestamp(iso: string): string {
  return `${iso.replace('T', ' ').replace('Z', '')}000000`;
}
