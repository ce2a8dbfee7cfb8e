import pLimit from 'p-limit';
import { dependencyRefKey, parseDependencyRef, type DependencyRef } from '../gerrit/footers.js';
import type { GerritRestClient } from '../gerrit/rest.js';
import type { ChangeOption } from '../gerrit/wire.js';
import type { Change, Dependency, Job, TestConfig } from '../model.js';

/** A change whose `Depends-On:` footers are to be followed. */
export interface DependencyRoot {
  project: string;
  number: number;
  branch: string;
  dependsOn?: string[];
}

export interface DependencyResolution {
  /** Every change it depends on, transitively, each before those that need it. */
  dependencies: Dependency[];
  /** Why it cannot be tested (abandoned, unknown, a cycle): one line. */
  problem?: string;
  /** Footers naming changes on other review servers: not ours to fetch. */
  ignored: string[];
}

/** What Gerrit answered for each reference (by dependencyRefKey): the changes it names, none when it knows none. */
export type DependencyAnswers = ReadonlyMap<string, readonly Change[]>;

export type DependencyWalk = { kind: 'resolved'; resolution: DependencyResolution } | { kind: 'ask'; refs: DependencyRef[] };

export interface WalkOptions {
  /** The Gerrit web URL: a Depends-On URL on another host is left alone. */
  gerritUrl: string;
  /** Where a project's changes are fetched from. */
  gitUrl: (project: string) => string;
}

/** More than this is a runaway chain, not a plan. */
export const MAX_DEPENDENCIES = 32;

const STATUS_RANK = { NEW: 0, MERGED: 1, ABANDONED: 2 } as const;

/** Of the changes a reference names (a Change-Id is per branch), the one meant: on the depending change's branch, open, newest. Pure. */
export function chooseDependency(candidates: readonly Change[], branch: string): Change | undefined {
  return [...candidates].sort(
    (a, b) => Number(b.branch === branch) - Number(a.branch === branch) || STATUS_RANK[a.status] - STATUS_RANK[b.status] || b.number - a.number,
  )[0];
}

function asDependency(change: Change, gitUrl: (project: string) => string): Dependency {
  const ps = change.currentPatchSet;
  const merged = change.status === 'MERGED';
  return {
    project: change.project,
    number: change.number,
    ...(change.changeId ? { changeId: change.changeId } : {}),
    branch: change.branch,
    status: merged ? 'MERGED' : 'NEW',
    patchSet: ps.number,
    revision: ps.revision,
    // A merged change is taken from its branch.
    ref: merged ? `refs/heads/${change.branch}` : ps.ref,
    url: gitUrl(change.project),
  };
}

const shown = (key: string) => key.replace('~', ' ');

/**
 * Follows a change's Depends-On footers through Gerrit's answers, depth first, so each dependency comes
 * after those it needs. Stops at the first problem: an abandoned or unknown change, a cycle (reported,
 * never followed), a runaway chain. References not answered yet are asked for. Pure.
 */
export function walkDependencies(root: DependencyRoot, answers: DependencyAnswers, options: WalkOptions): DependencyWalk {
  const order: Dependency[] = [];
  const done = new Set<string>();
  const missing = new Map<string, DependencyRef>();
  const ignored: string[] = [];
  let problem: string | undefined;
  const visit = (change: DependencyRoot, path: readonly string[]): void => {
    for (const footer of change.dependsOn ?? []) {
      if (problem) return;
      const ref = parseDependencyRef(footer, options.gerritUrl);
      if (ref.kind === 'foreign') {
        ignored.push(footer);
        continue;
      }
      if (ref.kind === 'invalid') return void (problem = `Depends-On: ${footer} names no change (expected a change URL of ${options.gerritUrl} or a Change-Id)`);
      const answer = answers.get(dependencyRefKey(ref));
      if (answer === undefined) {
        missing.set(dependencyRefKey(ref), ref);
        continue;
      }
      const dep = chooseDependency(answer, change.branch);
      if (!dep) return void (problem = `Depends-On: ${footer}: Gerrit shows no such change`);
      const key = `${dep.project}~${dep.number}`;
      const loop = path.indexOf(key);
      if (loop >= 0) return void (problem = `Depends-On cycle: ${[...path.slice(loop), key].map(shown).join(' → ')}`);
      if (done.has(key)) continue;
      if (dep.status === 'ABANDONED') return void (problem = `Depends-On ${shown(key)} (${dep.subject}) is abandoned`);
      if (dep.status === 'NEW') visit(dep, [...path, key]);
      if (problem || done.has(key)) continue;
      done.add(key);
      order.push(asDependency(dep, options.gitUrl));
      if (order.length > MAX_DEPENDENCIES) return void (problem = `more than ${MAX_DEPENDENCIES} Depends-On changes`);
    }
  };
  visit(root, [`${root.project}~${root.number}`]);
  if (problem) return { kind: 'resolved', resolution: { dependencies: [], problem, ignored } };
  if (missing.size) return { kind: 'ask', refs: [...missing.values()] };
  return { kind: 'resolved', resolution: { dependencies: order, ignored } };
}

/** The first dependency of the config that the job tested at an older patch set, or not at all (merged ones are taken from their branch). Pure. */
export function outdatedDependency(job: Pick<Job, 'dependencies'>, config: Pick<TestConfig, 'dependencies'>): Dependency | undefined {
  return (config.dependencies ?? []).find((d) => {
    if (d.status !== 'NEW') return false;
    const tested = job.dependencies?.find((j) => j.project === d.project && j.number === d.number);
    return !tested || tested.patchSet < d.patchSet;
  });
}

const DEPENDENCY_OPTIONS: ChangeOption[] = ['CURRENT_REVISION', 'CURRENT_COMMIT'];

/** Asks Gerrit what one reference names. */
async function ask(gerrit: GerritRestClient, ref: DependencyRef): Promise<Change[]> {
  if (ref.kind === 'changeId') return gerrit.queryChanges(`change:${ref.changeId}`, { options: DEPENDENCY_OPTIONS });
  if (ref.kind !== 'number') return [];
  const change = await gerrit.getChange(ref.project ? { project: ref.project, number: ref.number } : String(ref.number), DEPENDENCY_OPTIONS);
  return change ? [change] : [];
}

/**
 * Resolves the dependencies of each root, asking Gerrit only for what is not known yet (`known`: changes
 * already fetched, with their commit messages), a round per level of the chains.
 */
export async function resolveDependencies(gerrit: GerritRestClient, roots: readonly DependencyRoot[], options: WalkOptions & { known?: readonly Change[] }): Promise<DependencyResolution[]> {
  const answers = new Map<string, readonly Change[]>();
  for (const c of options.known ?? []) if (c.dependsOn) answers.set(`${c.project}~${c.number}`, [c]);
  const limit = pLimit(8);
  for (;;) {
    const walks = roots.map((root) => walkDependencies(root, answers, options));
    const refs = new Map(walks.flatMap((w) => (w.kind === 'ask' ? w.refs.map((r) => [dependencyRefKey(r), r] as const) : [])));
    if (refs.size === 0) return walks.map((w) => (w as Extract<DependencyWalk, { kind: 'resolved' }>).resolution);
    await Promise.all([...refs].map(([key, ref]) => limit(async () => void answers.set(key, await ask(gerrit, ref)))));
  }
}

/** A config whose Depends-On chain is to be resolved, and the change it rests on. */
export interface RootToResolve {
  configId: string;
  root: DependencyRoot;
}

/**
 * The configs whose Depends-On chains a batch of changes may have moved: open changes of the targets with
 * footers, unless their config already rests on the same patch set and footers; stored configs depending
 * on one of the changes at another patch set or status; and, of the targets' configs, those whose problem
 * deserves another look (a missing change may exist by now) or that depend on a project no sweep watches
 * (`watched`: the configured projects), whose moves only show when asked. Pure.
 */
export function rootsToResolve(
  state: { configs: Record<string, TestConfig> },
  changes: readonly Change[],
  targets: ReadonlyArray<{ name: string; branch: string }>,
  watched: ReadonlyArray<{ name: string }> = targets,
): RootToResolve[] {
  const out = new Map<string, RootToResolve>();
  const isTarget = (project: string, branch: string) => targets.some((t) => t.name === project && t.branch === branch);
  const rootOf = (c: { project: string; number: number; branch: string; dependsOn?: string[] }, id: string) =>
    out.set(id, { configId: id, root: { project: c.project, number: c.number, branch: c.branch, dependsOn: c.dependsOn! } });
  for (const c of changes) {
    const id = `${c.project}~${c.number}`;
    if (c.status !== 'NEW' || !c.dependsOn?.length || !isTarget(c.project, c.branch)) continue;
    const known = state.configs[id];
    const same = known && known.revision === c.currentPatchSet.revision && JSON.stringify(known.dependsOn ?? []) === JSON.stringify(c.dependsOn);
    if (!same) rootOf(c, id);
  }
  for (const config of Object.values(state.configs)) {
    if (out.has(config.id) || !config.dependsOn?.length) continue;
    const moved = (config.dependencies ?? []).some((d) =>
      changes.some((c) => c.project === d.project && c.number === d.number && (c.currentPatchSet.number !== d.patchSet || c.status !== d.status)),
    );
    const ours = isTarget(config.project, config.branch);
    const unwatched = (config.dependencies ?? []).some((d) => d.status === 'NEW' && !watched.some((w) => w.name === d.project));
    if (moved || (ours && (config.dependencyProblem !== undefined || unwatched))) rootOf(config, config.id);
  }
  return [...out.values()];
}
