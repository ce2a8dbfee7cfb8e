import { SimRequestError } from './errors.js';
import { gerritTimestamp } from './format.js';
import type { SimChange, SimPatchSet } from './types.js';

/** The checks plugin's states (plugins/checks CheckState). */
export const CHECK_STATES = ['NOT_STARTED', 'FAILED', 'SCHEDULED', 'RUNNING', 'SUCCESSFUL', 'NOT_RELEVANT'] as const;
export type SimCheckState = (typeof CHECK_STATES)[number];

export interface SimChecker {
  uuid: string;
  name: string;
  description?: string;
  url?: string;
  repository: string;
  status: 'ENABLED' | 'DISABLED';
  blocking: string[];
  query: string;
  created: string;
  updated: string;
  /** Who registered it. */
  by: string;
}

export interface SimCheck {
  repository: string;
  change_number: number;
  patch_set_id: number;
  checker_uuid: string;
  state: SimCheckState;
  message?: string;
  url?: string;
  started?: string;
  finished?: string;
  created: string;
  updated: string;
}

/** One accepted POST of a check, in order: what tests assert transitions against. */
export interface SimCheckUpdate {
  number: number;
  patchSet: number;
  checker: string;
  state: SimCheckState;
  url?: string;
  message?: string;
  by: string;
}

// CheckerUuid: "scheme:id"; the scheme is a valid ref name part.
const UUID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*:.+$/;
const BLOCKING = new Set(['STATE_NOT_PASSING']);

function optionalString(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SimRequestError(400, `${name} must be a string`);
  return value;
}

/** The checks plugin: checkers registered under /plugins/checks/checkers/, checks per patch set under /changes/…/checks/. */
export class SimChecks {
  readonly checkers = new Map<string, SimChecker>();
  private readonly checks = new Map<string, SimCheck>();
  readonly updates: SimCheckUpdate[] = [];

  constructor(private readonly clock: () => Date, private readonly hasProject: (name: string) => boolean) {}

  createChecker(input: Record<string, unknown>, by: string): SimChecker {
    const uuid = optionalString(input, 'uuid');
    if (!uuid) throw new SimRequestError(400, 'uuid is required');
    if (!UUID.test(uuid)) throw new SimRequestError(400, `invalid uuid: ${uuid}`);
    if (this.checkers.has(uuid)) throw new SimRequestError(409, `checker ${uuid} already exists`);
    const repository = optionalString(input, 'repository');
    if (!repository) throw new SimRequestError(400, 'repository is required');
    if (!this.hasProject(repository)) throw new SimRequestError(422, `repository ${repository} not found`);
    const blocking = input.blocking ?? [];
    if (!Array.isArray(blocking) || blocking.some((b) => typeof b !== 'string' || !BLOCKING.has(b))) throw new SimRequestError(400, `invalid blocking conditions: ${JSON.stringify(blocking)}`);
    const now = gerritTimestamp(this.clock());
    const description = optionalString(input, 'description');
    const url = optionalString(input, 'url');
    const checker: SimChecker = {
      uuid,
      name: optionalString(input, 'name') ?? uuid,
      ...(description ? { description } : {}),
      ...(url ? { url } : {}),
      repository,
      status: optionalString(input, 'status') === 'DISABLED' ? 'DISABLED' : 'ENABLED',
      blocking: blocking as string[],
      query: optionalString(input, 'query') ?? 'status:open',
      created: now,
      updated: now,
      by,
    };
    this.checkers.set(uuid, checker);
    return checker;
  }

  getChecker(uuid: string): SimChecker {
    const checker = this.checkers.get(uuid);
    if (!checker) throw new SimRequestError(404, `Not found: ${uuid}`);
    return checker;
  }

  list(change: SimChange, ps: SimPatchSet): SimCheck[] {
    return [...this.checks.values()].filter((c) => c.change_number === change.number && c.patch_set_id === ps.number);
  }

  get(change: SimChange, ps: SimPatchSet, uuid: string): SimCheck {
    const check = this.checks.get(`${change.number}~${ps.number}~${uuid}`);
    if (!check) throw new SimRequestError(404, `Not found: ${uuid}`);
    return check;
  }

  /** POST …/checks/: creates the check, or updates the fields given. */
  post(change: SimChange, ps: SimPatchSet, input: Record<string, unknown>, by: string): SimCheck {
    const uuid = optionalString(input, 'checker_uuid');
    if (!uuid) throw new SimRequestError(400, 'checker UUID is required');
    const checker = this.checkers.get(uuid);
    if (!checker) throw new SimRequestError(400, `checker ${uuid} not found`);
    if (checker.repository !== change.project) throw new SimRequestError(400, `checker ${uuid} does not apply to repository ${change.project}`);
    const state = optionalString(input, 'state');
    if (state !== undefined && !(CHECK_STATES as readonly string[]).includes(state)) throw new SimRequestError(400, `invalid state: ${state}`);
    const key = `${change.number}~${ps.number}~${uuid}`;
    const now = gerritTimestamp(this.clock());
    const previous = this.checks.get(key);
    const check: SimCheck = previous ?? { repository: change.project, change_number: change.number, patch_set_id: ps.number, checker_uuid: uuid, state: 'NOT_STARTED', created: now, updated: now };
    if (state) check.state = state as SimCheckState;
    for (const field of ['message', 'url', 'started', 'finished'] as const) {
      const value = optionalString(input, field);
      if (value !== undefined) check[field] = value;
    }
    check.updated = now;
    this.checks.set(key, check);
    this.updates.push({ number: change.number, patchSet: ps.number, checker: uuid, state: check.state, ...(check.url ? { url: check.url } : {}), ...(check.message ? { message: check.message } : {}), by });
    return { ...check };
  }
}
