import pLimit from 'p-limit';
import { LaunchpadUnavailableError, type LaunchpadBug, type LaunchpadBugTask, type LaunchpadClient, type LaunchpadSpecification } from './client.js';

/** Bug importance for one Launchpad project, as resolved before scoring (tags are read only for High/Critical bugs). */
export type BugPriority =
  | { status: 'found'; importance?: string; target: string; tags: string[] }
  | { status: 'no-task'; targets: string[]; tags: string[] }
  | { status: 'not-found' }
  | { status: 'unknown'; why: string };

export type BlueprintPriority = { status: 'found'; priority?: string } | { status: 'not-found' } | { status: 'unknown'; why: string };

const IMPORTANCE_RANK: Record<string, number> = { Critical: 6, High: 5, Medium: 4, Low: 3, Wishlist: 2, Undecided: 1, Unknown: 0 };

/**
 * The task of `project`: the project's own task, else the most important of its series tasks
 * (`project/series`). Tasks of other projects never count.
 */
export function pickBugTask(tasks: readonly LaunchpadBugTask[], project: string): LaunchpadBugTask | undefined {
  const own = tasks.find((t) => t.bug_target_name === project);
  if (own) return own;
  const series = tasks.filter((t) => t.bug_target_name?.startsWith(`${project}/`));
  const rank = (t: LaunchpadBugTask) => IMPORTANCE_RANK[t.importance ?? ''] ?? -1;
  return series.sort((a, b) => rank(b) - rank(a))[0];
}

/** Tags only matter for a regression, which needs High or Critical: they are read for those alone. */
function needsTags(task: LaunchpadBugTask | undefined): boolean {
  return task?.importance === 'High' || task?.importance === 'Critical';
}

function tagsOf(info: LaunchpadBug | undefined): string[] {
  return Array.isArray(info?.tags) ? info.tags.filter((t): t is string => typeof t === 'string') : [];
}

function bugAnswer(tasks: readonly LaunchpadBugTask[], task: LaunchpadBugTask | undefined, project: string, tags: string[]): BugPriority {
  if (!task) return { status: 'no-task', targets: tasks.map((t) => t.bug_target_name ?? '?'), tags };
  return { status: 'found', importance: task.importance ?? undefined, target: task.bug_target_name ?? project, tags };
}

export async function bugPriority(client: LaunchpadClient, bug: number, project: string): Promise<BugPriority> {
  try {
    const tasks = await client.bugTasks(bug);
    if (!tasks) return { status: 'not-found' };
    const task = pickBugTask(tasks, project);
    return bugAnswer(tasks, task, project, needsTags(task) ? tagsOf(await client.bug(bug)) : []);
  } catch (err) {
    if (err instanceof LaunchpadUnavailableError) return { status: 'unknown', why: `Launchpad unavailable: ${err.message}` };
    throw err;
  }
}

/** The same answer as `bugPriority` when the client's cache holds all it needs; undefined when Launchpad must be asked. */
export function cachedBugPriority(client: LaunchpadClient, bug: number, project: string): BugPriority | undefined {
  const tasks = client.cachedBugTasks(bug);
  if (!tasks) return undefined;
  if (!tasks.answer) return { status: 'not-found' };
  const task = pickBugTask(tasks.answer, project);
  if (!needsTags(task)) return bugAnswer(tasks.answer, task, project, []);
  const info = client.cachedBug(bug);
  return info && bugAnswer(tasks.answer, task, project, tagsOf(info.answer));
}

function specificationAnswer(spec: LaunchpadSpecification | undefined): BlueprintPriority {
  if (!spec) return { status: 'not-found' };
  return { status: 'found', priority: typeof spec.priority === 'string' ? spec.priority : undefined };
}

export async function blueprintPriority(client: LaunchpadClient, project: string, name: string): Promise<BlueprintPriority> {
  try {
    return specificationAnswer(await client.specification(project, name));
  } catch (err) {
    if (err instanceof LaunchpadUnavailableError) return { status: 'unknown', why: `Launchpad unavailable: ${err.message}` };
    throw err;
  }
}

/** The same answer as `blueprintPriority` from the client's cache; undefined when Launchpad must be asked. */
export function cachedBlueprintPriority(client: LaunchpadClient, project: string, name: string): BlueprintPriority | undefined {
  const spec = client.cachedSpecification(project, name);
  return spec && specificationAnswer(spec.answer);
}

/** The bugs and blueprints one Launchpad project's changes link to. */
export interface PriorityRequest {
  project: string;
  bugs: Iterable<number>;
  blueprints: Iterable<string>;
}

/** Resolved answers, by Launchpad project. */
export interface PriorityAnswers {
  bugs: Map<string, Map<number, BugPriority>>;
  blueprints: Map<string, Map<string, BlueprintPriority>>;
  /** One line per problem worth telling the user (outage, stale cache, cache not writable). */
  warnings: string[];
}

/** Looks up every requested bug and blueprint with bounded concurrency; never fails on an outage. */
export async function resolvePriorities(
  client: LaunchpadClient | undefined,
  requests: readonly PriorityRequest[],
  options: { concurrency?: number; offlineReason?: string } = {},
): Promise<PriorityAnswers> {
  const answers: PriorityAnswers = { bugs: new Map(), blueprints: new Map(), warnings: [] };
  const limit = pLimit(options.concurrency ?? 8);
  const work: Array<Promise<void>> = [];
  let unknown = 0;
  // What the cache answers is answered at once; only the rest waits its turn for Launchpad.
  await client?.loadCache();
  for (const request of requests) {
    const bugs = new Map<number, BugPriority>();
    const blueprints = new Map<string, BlueprintPriority>();
    answers.bugs.set(request.project, bugs);
    answers.blueprints.set(request.project, blueprints);
    for (const bug of new Set(request.bugs)) {
      const cached = client && cachedBugPriority(client, bug, request.project);
      if (cached) {
        bugs.set(bug, cached);
        continue;
      }
      work.push(
        limit(async () => {
          const answer = client ? await bugPriority(client, bug, request.project) : offline(options.offlineReason);
          if (answer.status === 'unknown') unknown++;
          bugs.set(bug, answer);
        }),
      );
    }
    for (const name of new Set(request.blueprints)) {
      const cached = client && cachedBlueprintPriority(client, request.project, name);
      if (cached) {
        blueprints.set(name, cached);
        continue;
      }
      work.push(
        limit(async () => {
          const answer = client ? await blueprintPriority(client, request.project, name) : offline(options.offlineReason);
          if (answer.status === 'unknown') unknown++;
          blueprints.set(name, answer);
        }),
      );
    }
  }
  await Promise.all(work);
  await client?.flush();
  if (client?.unavailable && client.unavailable !== 'offline') {
    answers.warnings.push(
      `Launchpad (${client.base}) is unavailable: ${client.unavailable}; ${unknown} bug/blueprint priorities are shown as unknown` +
        (client.stats.staleHits ? `, ${client.stats.staleHits} answers came from an expired cache` : ''),
    );
  } else if (unknown > 0) {
    answers.warnings.push(`${unknown} bug/blueprint priorities are unknown: ${client ? 'offline and not in the cache' : (options.offlineReason ?? 'Launchpad not consulted')}`);
  }
  if (client) answers.warnings.push(...client.warnings);
  return answers;
}

function offline(reason = 'Launchpad not consulted'): { status: 'unknown'; why: string } {
  return { status: 'unknown', why: reason };
}
