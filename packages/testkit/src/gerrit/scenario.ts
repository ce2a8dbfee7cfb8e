import fs from 'node:fs';
import path from 'node:path';
import type { GitRepos } from './git.js';
import { commitMessage } from './json.js';
import type { SimState } from './state.js';
import type { CommentInput, CreateChangeInput, GerritUser, SimChange, SimFiles, SimReview } from './types.js';

/** A change written by hand in a scenario file: created through the scenario API when loaded. */
export interface SeedChange extends Omit<CreateChangeInput, 'created'> {
  /** ISO time, as a JSON file holds it */
  created?: string;
  /** how many patch sets to upload in total (default 1) */
  patchSets?: number;
  comments?: CommentInput[];
  status?: 'NEW' | 'MERGED' | 'ABANDONED';
}

/** A change as saved by the simulator (dates as ISO strings). */
type SavedChange = Omit<SimChange, 'created' | 'updated' | 'submitted' | 'patchSets' | 'messages' | 'approvals'> & {
  created: string; updated: string; submitted?: string;
  patchSets: Array<Omit<SimChange['patchSets'][number], 'created'> & { created: string }>;
  messages: Array<Omit<SimChange['messages'][number], 'date'> & { date: string }>;
  approvals: Array<Omit<SimChange['approvals'][number], 'date'> & { date: string }>;
};

export interface ScenarioFile {
  version?: 1;
  users?: GerritUser[];
  projects?: Array<{ name: string; branch?: string; files?: SimFiles; branches?: Record<string, string> }>;
  nextNumber?: number;
  changes?: Array<SeedChange | SavedChange>;
  reviews?: SimReview[];
}

function isSaved(entry: SeedChange | SavedChange): entry is SavedChange {
  return Array.isArray(entry.patchSets) && typeof (entry as SavedChange).number === 'number';
}

export function readScenario(file: string): ScenarioFile | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ScenarioFile;
  } catch (err) {
    throw new Error(`Gerrit simulator: cannot read scenario ${file}: ${(err as Error).message}`);
  }
}

/** Loads a scenario into a fresh state (no stream clients are connected yet, so no events reach anyone). */
export function loadScenario(state: SimState, scenario: ScenarioFile, git?: GitRepos): void {
  for (const user of scenario.users ?? []) if (!state.accounts.has(user.username)) state.addUser(user);
  for (const project of scenario.projects ?? []) {
    const saved = project.branches ?? {};
    const branches = Object.keys(saved);
    const reusable = branches.length > 0 && (!git || branches.every((b) => git.exists(project.name) && git.resolve(project.name, saved[b]!) === saved[b]));
    if (reusable) {
      state.createProject(project.name, { branch: project.branch ?? branches[0] });
      const p = state.projects.get(project.name)!;
      for (const b of branches) p.branches.set(b, saved[b]!);
    } else {
      state.createProject(project.name, { branch: project.branch, files: project.files });
      for (const b of branches) state.createProject(project.name, { branch: b });
    }
  }
  for (const entry of scenario.changes ?? []) {
    if (isSaved(entry)) restoreChange(state, entry, git);
    else seedChange(state, entry);
  }
  if (scenario.nextNumber && scenario.nextNumber > state.nextNumber) state.nextNumber = scenario.nextNumber;
  state.reviewLog.push(...(scenario.reviews ?? []));
}

function seedChange(state: SimState, seed: SeedChange): void {
  const change = state.createChange({
    project: seed.project, branch: seed.branch, subject: seed.subject, owner: seed.owner, topic: seed.topic, wip: seed.wip,
    files: seed.files, created: seed.created ? new Date(seed.created) : undefined, message: seed.message,
  });
  for (let n = 2; n <= (seed.patchSets ?? 1); n++) state.uploadPatchSet(change.number);
  for (const comment of seed.comments ?? []) state.comment(change.number, comment);
  if (seed.status === 'MERGED') state.merge(change.number);
  if (seed.status === 'ABANDONED') state.abandon(change.number);
}

function restoreChange(state: SimState, saved: SavedChange, git?: GitRepos): void {
  state.createProject(saved.project, { branch: saved.branch });
  const { submitted, ...rest } = saved;
  const change: SimChange = {
    ...rest,
    created: new Date(saved.created),
    updated: new Date(saved.updated),
    ...(submitted ? { submitted: new Date(submitted) } : {}),
    patchSets: saved.patchSets.map((ps) => ({ ...ps, created: new Date(ps.created) })),
    messages: saved.messages.map((m) => ({ ...m, date: new Date(m.date) })),
    approvals: saved.approvals.map((a) => ({ ...a, date: new Date(a.date) })),
  };
  if (git) {
    for (const ps of change.patchSets) {
      if (git.resolve(change.project, ps.revision) !== ps.revision) {
        // The repository was not kept: rebuild the patch set's commit on the current branch tip.
        ps.parent = state.branchTip(change.project, change.branch)!;
        ps.revision = git.commit(change.project, { parent: ps.parent, files: ps.files, message: commitMessage(change, ps), author: state.account(change.owner), date: ps.created });
      }
      git.updateRef(change.project, ps.ref, ps.revision);
    }
  }
  state.restoreChange(change);
}

export function saveScenario(state: SimState, file: string): void {
  const scenario: ScenarioFile = {
    version: 1,
    users: [...state.accounts.values()].map((a) => ({
      username: a.username, password: a.password ?? '', name: a.name, email: a.email, accountId: a.accountId,
      ...(a.sshPublicKey ? { sshPublicKey: a.sshPublicKey } : {}), streamEvents: a.streamEvents,
    })),
    projects: [...state.projects.values()].map((p) => ({ name: p.name, branch: p.headBranch, branches: Object.fromEntries(p.branches) })),
    nextNumber: state.nextNumber,
    changes: [...state.changes.values()] as unknown as SavedChange[],
    reviews: state.reviewLog,
  };
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(scenario, null, 2)}\n`);
  fs.renameSync(tmp, file);
}
