import path from 'node:path';
import pLimit from 'p-limit';
import { InfraError, UserError, errorMessage, isUserError } from '../errors.js';
import type { Change } from '../model.js';
import type { ProjectConfig } from '../config/schema.js';
import type { ProjectFileEntry } from './project-file.js';
import { gerritHttpPassword } from '../config/credentials.js';
import type { LoadedConfig } from '../config/load.js';
import { GerritRestClient } from '../gerrit/rest.js';
import type { ChangeOption } from '../gerrit/wire.js';
import { LaunchpadCache, defaultLaunchpadCachePath } from '../launchpad/cache.js';
import { LaunchpadClient } from '../launchpad/client.js';
import type { Env } from '../paths.js';
import { resolvePriorities, type PriorityRequest } from '../launchpad/priorities.js';
import type { Logger } from '../log/logger.js';
import type { TemplateRenderer } from '../render/render.js';
import type { Store } from '../store/types.js';
import { webSettings } from '../web/layout.js';
import { linksOf, reportHead, reportSections, type ReportProject } from './report.js';
import { renderReportSections } from './render.js';
import { defaultSnapshotPath, readSnapshot, saveSnapshot, snapshotChangeSource, sweepingChangeSource, type SweepingSource } from './snapshot.js';
import { KNOWN_CAUSES, resolveScores } from './score.js';

/** Where open changes come from (Gerrit REST in production, a saved snapshot offline, fixtures in tests). */
export interface ChangeSource {
  openChanges(project: string, branch: string): Promise<Change[]>;
  /** When the changes served were read from Gerrit, for a source that is not live. */
  asOf?(): string | undefined;
}

const LAUNCHPAD_NAME = /^[a-z0-9][a-z0-9+.-]*$/;

/** The Launchpad name a Gerrit project defaults to: its last path segment (openstack/nova → nova). */
export function defaultLaunchpadName(project: string): string {
  return (project.split('/').pop() ?? project).toLowerCase();
}

/**
 * The projects to report on: the projects file when given, else the config's projects; `only`
 * narrows to (or adds) the named projects. Settings missing from the file come from the config.
 */
export function resolveReportProjects(input: { configured: readonly ProjectConfig[]; fromFile?: readonly ProjectFileEntry[]; only?: readonly string[] }): ReportProject[] {
  const configured = new Map(input.configured.map((p) => [p.name, p]));
  const base: ProjectFileEntry[] = input.fromFile ? [...input.fromFile] : input.configured.map((p) => ({ ...p }));
  let chosen = base;
  if (input.only?.length) {
    const byName = new Map(base.map((p) => [p.name, p]));
    chosen = input.only.map((name) => byName.get(name) ?? { name });
  }
  if (chosen.length === 0) {
    throw new UserError('no projects to report on', { hint: 'add projects to smokestack.yaml, or pass --project or --project-file' });
  }
  const seen = new Set<string>();
  return chosen.flatMap((entry) => {
    if (seen.has(entry.name)) return [];
    seen.add(entry.name);
    const config = configured.get(entry.name);
    const launchpad = entry.launchpad ?? config?.launchpad ?? defaultLaunchpadName(entry.name);
    if (!LAUNCHPAD_NAME.test(launchpad)) {
      throw new UserError(`project ${entry.name}: "${launchpad}" is not a Launchpad project name`, { hint: 'lower-case letters, digits, + . -' });
    }
    return [{ name: entry.name, branch: entry.branch ?? config?.branch ?? 'master', launchpad, templates: entry.templates ?? config?.templates ?? [] }];
  });
}

export interface GenerateReportOptions {
  projects: readonly ReportProject[];
  changes: ChangeSource;
  /** Undefined: Launchpad is not consulted at all and every linked priority is unknown. */
  launchpad?: LaunchpadClient;
  store: Store;
  outDir: string;
  now?: Date;
  scores?: Readonly<Record<string, number>>;
  ageBonusPerDay?: number;
  botUsernames?: readonly string[];
  title?: string;
  /** Published location of the jobs/ directory; by default a path relative to the report. */
  logsUrl?: string;
  /** The pages directory (web.dir): without logsUrl, jobs link to their pages there, relative to the report. */
  pagesDir?: string;
  gerritUrl?: string;
  logger?: Logger;
  renderer?: TemplateRenderer;
  /** Concurrent Gerrit queries. */
  concurrency?: number;
  /** Called once every project's open changes are read, before priorities and rendering. */
  changesRead?: () => void;
}

export interface ReportResult {
  outDir: string;
  indexPath: string;
  jsonPath: string;
  generated: string;
  changes: number;
  projects: Array<{ name: string; changes: number; excluded: number; launchpad: string }>;
  warnings: string[];
  launchpad: { requests: number; cacheHits: number; staleHits: number };
  /** Project branches read from Gerrit in full and incrementally (none when offline). */
  gerrit: { full: number; incremental: number };
  /** When the open changes were read from Gerrit, when the report was rendered from a saved snapshot. */
  changesAsOf?: string;
  /**
   * Milliseconds per phase: reading open changes, Launchpad priorities, and the rest (renderMs), which is
   * waiting for the store (read while Gerrit and Launchpad are asked), building the report, rendering the
   * page and writing both files.
   */
  timings: { gerritMs: number; launchpadMs: number; renderMs: number; storeWaitMs: number; buildMs: number; htmlMs: number; writeMs: number };
}

/** The relative prefix from the report directory to the store's jobs/ directory. */
export function defaultLogsBase(outDir: string, jobsDir: string): string {
  const relative = path.relative(path.resolve(outDir), path.resolve(jobsDir)).split(path.sep).join('/');
  return relative ? `${relative}/` : './';
}

/** Reads open changes, Launchpad priorities and job results, then writes index.html and reviewday.json. */
export async function generateReport(options: GenerateReportOptions): Promise<ReportResult> {
  const now = options.now ?? new Date();
  const log = options.logger;
  const { scores, unknown } = resolveScores(options.scores);
  if (unknown.length) {
    throw new UserError(`report.scores: unknown cause ${unknown.map((c) => `"${c}"`).join(', ')}`, { hint: `known causes: ${KNOWN_CAUSES.join(', ')}` });
  }
  const started = performance.now();
  // The store is read (and parsed) while Gerrit and Launchpad are asked: its file read overlaps their answers.
  const stateRead = options.store.read();
  // Not awaited until the changes and priorities are in: a failed read must not be an unhandled rejection meanwhile.
  stateRead.catch(() => undefined);
  const changes = await readOpenChanges(options);
  options.changesRead?.();
  const gerritDone = performance.now();
  const priorities = await resolvePriorities(options.launchpad, priorityRequests(options.projects, changes), { offlineReason: 'Launchpad not consulted' });
  for (const warning of priorities.warnings) log?.warn(warning);
  const launchpadDone = performance.now();
  const state = await stateRead;
  const stateDone = performance.now();
  const logsBase = options.logsUrl
    ? options.logsUrl.replace(/\/*$/, '/')
    : defaultLogsBase(options.outDir, options.pagesDir ? path.join(options.pagesDir, 'jobs') : options.store.jobsDir);
  // A page opened from disk needs its file named; a server answers a directory with its index.html.
  const logsTail = !options.logsUrl && options.pagesDir ? 'index.html' : '';
  const input = {
    projects: options.projects,
    changes,
    priorities,
    jobs: state.jobs,
    now,
    scores,
    ageBonusPerDay: options.ageBonusPerDay,
    botUsernames: options.botUsernames,
    title: options.title,
    logsBase,
    logsTail,
    gerritUrl: options.gerritUrl,
    warnings: priorities.warnings,
    changesAsOf: options.changes.asOf?.(),
  };
  const head = reportHead(input);
  // Section by section: each project's rows are built, rendered into both files' text and let go.
  const written = await renderReportSections(head, reportSections(input), { outDir: options.outDir, renderer: options.renderer });
  const ms = (a: number, b: number) => Math.round(b - a);
  const timings = {
    gerritMs: ms(started, gerritDone),
    launchpadMs: ms(gerritDone, launchpadDone),
    renderMs: ms(launchpadDone, performance.now()),
    storeWaitMs: ms(launchpadDone, stateDone),
    buildMs: written.buildMs,
    htmlMs: written.htmlMs,
    writeMs: written.writeMs,
  };
  log?.debug(
    `gerrit ${timings.gerritMs} ms, launchpad ${timings.launchpadMs} ms, store + render ${timings.renderMs} ms ` +
      `(waiting for the store ${timings.storeWaitMs}, build ${timings.buildMs}, page ${timings.htmlMs}, write ${timings.writeMs}; ${written.bytes} bytes)`,
  );
  return {
    outDir: written.outDir,
    indexPath: written.indexPath,
    jsonPath: written.jsonPath,
    generated: head.generated,
    changes: written.sections.reduce((n, s) => n + s.count, 0),
    projects: written.sections.map((s) => ({ name: s.name, changes: s.count, excluded: s.excluded, launchpad: s.launchpad })),
    warnings: head.warnings,
    launchpad: { ...(options.launchpad?.stats ?? { requests: 0, cacheHits: 0, staleHits: 0 }) },
    gerrit: { full: 0, incremental: 0 },
    ...(head.changesAsOf ? { changesAsOf: head.changesAsOf } : {}),
    timings,
  };
}

/** Every project's open changes, a few projects at a time. */
async function readOpenChanges(options: GenerateReportOptions): Promise<Map<string, Change[]>> {
  const limit = pLimit(options.concurrency ?? 4);
  const changes = new Map<string, Change[]>();
  await Promise.all(
    options.projects.map((project) =>
      limit(async () => {
        try {
          const list = await options.changes.openChanges(project.name, project.branch);
          changes.set(project.name, list);
          options.logger?.debug(`${project.name}: ${list.length} open changes on ${project.branch}`);
        } catch (err) {
          if (isUserError(err) || err instanceof InfraError) throw err;
          throw new InfraError(`cannot list open changes of ${project.name} (${project.branch}): ${errorMessage(err)}`, { cause: err });
        }
      }),
    ),
  );
  return changes;
}

/** The bugs and blueprints to look up, per Launchpad project (two Gerrit projects may share one: ask once). */
function priorityRequests(projects: readonly ReportProject[], changes: Map<string, Change[]>): PriorityRequest[] {
  const byLaunchpad = new Map<string, { bugs: Set<number>; blueprints: Set<string> }>();
  for (const project of projects) {
    const links = linksOf(changes.get(project.name) ?? []);
    const entry = byLaunchpad.get(project.launchpad) ?? { bugs: new Set<number>(), blueprints: new Set<string>() };
    for (const bug of links.bugs) entry.bugs.add(bug);
    for (const name of links.blueprints) entry.blueprints.add(name);
    byLaunchpad.set(project.launchpad, entry);
  }
  return [...byLaunchpad].map(([project, links]) => ({ project, ...links }));
}

/** Every vote with its account and tag (DETAILED_LABELS), so CI votes can be told from human ones. */
export const REPORT_CHANGE_OPTIONS: ChangeOption[] = ['CURRENT_REVISION', 'DETAILED_ACCOUNTS', 'DETAILED_LABELS'];

export interface ReportRequest {
  loaded: LoadedConfig;
  store: Store;
  /** --out; else config `report.out` (relative to the config file), else ./out_report. */
  out?: string;
  /** --project: only these projects. */
  projects?: string[];
  /** --project-file: the original's `projects: [{name, launchpad_project}]`. */
  projectFile?: string;
  /** Contact neither Gerrit nor Launchpad: the last saved snapshot of open changes, cached priorities. */
  offline?: boolean;
  /** Read every open change from Gerrit, not only those updated since the last snapshot. */
  full?: boolean;
  logger?: Logger;
  env?: Env;
  cwd?: string;
  now?: Date;
  /** Where open changes come from; Gerrit REST from the config by default. */
  changes?: ChangeSource;
}

/**
 * Where the report's open changes come from: the request's own source, else Gerrit swept against the
 * saved snapshot (which the caller saves afterwards), or with --offline the snapshot alone.
 */
async function openChangeSource(request: ReportRequest, env: Env): Promise<{ changes: ChangeSource; sweeping?: SweepingSource; snapshotFile?: string }> {
  if (request.changes) return { changes: request.changes };
  const gerrit = request.loaded.config.gerrit!;
  const snapshotFile = defaultSnapshotPath(gerrit.url, env);
  const previous = await readSnapshot(snapshotFile);
  if (request.offline) return { changes: snapshotChangeSource(previous, gerrit.url), snapshotFile };
  const client = GerritRestClient.fromConfig(gerrit, { password: gerritHttpPassword(gerrit.url, gerrit.username, { env }), logger: request.logger });
  const sweeping = sweepingChangeSource(client, previous, {
    gerritUrl: gerrit.url,
    now: () => new Date(),
    overlapSeconds: gerrit.overlapSeconds,
    full: request.full,
    changeOptions: REPORT_CHANGE_OPTIONS,
  });
  return { changes: sweeping, sweeping, snapshotFile };
}

/** Where the report's jobs link: their pages' public URL, else the published logs, else their pages on disk. */
function jobLinks(request: ReportRequest): Pick<GenerateReportOptions, 'logsUrl' | 'pagesDir'> {
  const { config } = request.loaded;
  const web = webSettings(request.loaded, request.store);
  if (web.url) return { logsUrl: `${web.url}/jobs/` };
  const logsUrl = config.report?.logsUrl ?? config.logsUrl;
  return logsUrl ? { logsUrl } : { pagesDir: web.dir };
}

/** `reviewday report`: resolves projects, clients and paths from the config, then generates the report. */
export async function reportFromConfig(request: ReportRequest): Promise<ReportResult> {
  const { config } = request.loaded;
  const env = request.env ?? process.env;
  const cwd = request.cwd ?? process.cwd();
  const label = request.loaded.path ? path.basename(request.loaded.path) : 'smokestack.yaml';
  const gerrit = config.gerrit;
  if (!gerrit && !request.changes) {
    throw new UserError(`${label}: gerrit.url is not set`, { hint: 'reviewday reads open changes from Gerrit; add a gerrit: section with url' });
  }
  const projects = resolveReportProjects({
    configured: config.projects,
    // The projects file needs the YAML parser and the validator; a report without one loads neither.
    fromFile: request.projectFile ? (await import('./project-file.js')).loadProjectFile(path.resolve(cwd, request.projectFile)) : undefined,
    only: request.projects,
  });
  const outDir = request.out
    ? path.resolve(cwd, request.out)
    : config.report?.out
      ? path.resolve(request.loaded.dir, config.report.out)
      : path.resolve(cwd, 'out_report');
  const { changes, sweeping, snapshotFile } = await openChangeSource(request, env);
  const lp = config.launchpad;
  const launchpad = new LaunchpadClient({
    url: lp?.url ?? 'https://api.launchpad.net/devel',
    timeoutMs: lp?.timeoutMs ?? 15_000,
    cacheTtlSeconds: lp?.cacheTtlSeconds ?? 3600,
    cache: new LaunchpadCache(defaultLaunchpadCachePath(env)),
    offline: request.offline,
  });
  // The snapshot is saved as soon as the sweep is done: written while the report is built, not after it.
  // Nothing new: keeping the old file keeps its sweep times, so the next run asks from there.
  let saving: Promise<string | undefined> | undefined;
  const changesRead = () => {
    if (sweeping && snapshotFile && sweeping.changed()) saving = saveSnapshot(snapshotFile, sweeping.snapshot);
  };
  let result: ReportResult;
  try {
    result = await generateReport({
      projects,
      changes,
      launchpad,
      store: request.store,
      outDir,
      now: request.now,
      scores: config.report?.scores,
      ageBonusPerDay: config.report?.ageBonusPerDay,
      botUsernames: gerrit?.username ? [gerrit.username] : [],
      title: config.report?.title,
      ...jobLinks(request),
      gerritUrl: gerrit?.url,
      logger: request.logger,
      changesRead,
    });
  } finally {
    // A failed report still lets the snapshot's write finish (saveSnapshot never throws).
    await saving;
  }
  if (!sweeping || !snapshotFile) return result;
  const warning = await saving;
  if (warning) request.logger?.warn(warning);
  return { ...result, gerrit: { ...sweeping.sweeps }, warnings: warning ? [...result.warnings, warning] : result.warnings };
}
