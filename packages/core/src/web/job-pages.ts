import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Job, JobStageRecord } from '../model.js';
import type { SourcePlan } from '../pipeline/plan.js';
import { reproduceJob } from '../pipeline/reproduce.js';
import { listStageLogs } from '../pipeline/stage-log.js';
import type { TemplateRenderer } from '../render/render.js';
import type { Store } from '../store/types.js';
import { writeFilesAtomically } from './atomic.js';
import { jobPageData, type FileEntry, type JobPage, type LogEntry, type StoredSummary, type TestVerdictNote } from './job-page.js';
import { pageFile, pagePaths, pageUrl, relativeLink, type WebSettings } from './layout.js';
import { chunkLogFile, chunkScript, tailLines } from './log-chunks.js';
import { jsonForScript, sizeText, webRenderer } from './render.js';
import { durationText } from './words.js';

export interface JobPageOptions {
  store: Store;
  web: WebSettings;
  renderer?: TemplateRenderer;
  gerritUrl?: string;
  /** The template's own sources, so the reproduce command names only what the job changed. */
  templateSources?: (template: string) => ReadonlyArray<Pick<SourcePlan, 'kind' | 'name' | 'url'>> | undefined;
  /** Stage outcomes so far, for a page written while the job runs. */
  stagesSoFar?: JobStageRecord[];
  verdicts?: ReadonlyMap<string, TestVerdictNote>;
  now?: () => Date;
  logger?: Logger;
}

export interface WrittenJobPage {
  job: string;
  file: string;
  url?: string;
  logs: number;
}

/** What a job directory holds that is never published: the template's whole definition, and the bundle of sources shipped to the hosts. */
const PRIVATE = new Set(['plan.json', 'bundle', 'bundle.tgz']);
/** Harvested files shown line by line besides the stage logs. */
const TEXT_LOG = /\.(log|txt|out|err)$/;
/** Raw files listed on the page (all of them stay under raw/). */
const FILES_LISTED = 1000;
/** Lines of the failing stage's log shown on the page. */
const TAIL_LINES = 40;

/** Every file under `dir`, relative, "/"-separated, in a stable order. */
function walk(dir: string, prefix = ''): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(dir, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (!prefix && PRIVATE.has(e.name)) continue;
    if (e.isDirectory()) out.push(...walk(dir, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** The job's files under raw/: hard links where the file system allows (no copy), copies otherwise. */
function publishRaw(jobDir: string, rawDir: string): Array<{ rel: string; bytes: number }> {
  const files = walk(jobDir);
  for (const rel of files) {
    const from = path.join(jobDir, ...rel.split('/'));
    const to = path.join(rawDir, ...rel.split('/'));
    try {
      if (fs.statSync(to).ino === fs.statSync(from).ino) continue;
      fs.rmSync(to, { force: true });
    } catch {
      fs.mkdirSync(path.dirname(to), { recursive: true });
    }
    try {
      fs.linkSync(from, to);
    } catch {
      fs.copyFileSync(from, to);
    }
  }
  return files.map((rel) => ({ rel, bytes: fs.statSync(path.join(jobDir, ...rel.split('/'))).size }));
}

const encodePath = (rel: string) => rel.split('/').map(encodeURIComponent).join('/');

/** A file name for a log's viewer: its path with every unusual character made "_". */
function viewerName(rel: string): string {
  return rel.replace(/\.log$/, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
}

interface ChunkState {
  bytes: number;
  mtimeMs: number;
  lines: number;
  chunks: Array<{ index: number; from: number; count: number }>;
}

/** Splits one log into its parts and writes its viewer; a log unchanged since the last time is left as it is. */
async function publishLog(source: string, entry: Omit<LogEntry, 'lines' | 'bytes'>, pageDir: string, renderer: TemplateRenderer, jobId: string): Promise<LogEntry> {
  const stat = fs.statSync(source);
  const partsDir = path.join(pageDir, 'log', entry.viewer.replace(/^log\//, '').replace(/\.html$/, ''));
  const stateFile = `${partsDir}.parts.json`;
  let state: ChunkState | undefined;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as ChunkState;
  } catch {
    state = undefined;
  }
  if (!state || state.bytes !== stat.size || state.mtimeMs !== stat.mtimeMs) {
    fs.mkdirSync(partsDir, { recursive: true });
    let inline: string[] | undefined;
    const result = await chunkLogFile(source, async (chunk) => {
      if (chunk.index === 0) inline = chunk.lines;
      await writeFilesAtomically(partsDir, { [`${chunk.index}.js`]: chunkScript(chunk) });
    });
    for (const stale of fs.readdirSync(partsDir)) if (Number(stale.replace(/\.js$/, '')) >= result.chunks.length) fs.rmSync(path.join(partsDir, stale), { force: true });
    state = { bytes: stat.size, mtimeMs: stat.mtimeMs, lines: result.lines, chunks: result.chunks };
    const view = {
      title: entry.title,
      job: jobId,
      lines: result.lines,
      size: sizeText(stat.size),
      raw: relativeLink(entry.viewer, entry.raw),
      jobPage: relativeLink(entry.viewer, 'index.html'),
      dataJson: jsonForScript({ base: `${path.basename(partsDir)}/`, lines: result.lines, chunks: result.chunks, ...(result.chunks.length === 1 && inline ? { inline } : {}) }),
    };
    await writeFilesAtomically(path.join(pageDir, 'log'), { [path.basename(entry.viewer)]: renderer.render('log.html.hbs', view) });
    fs.writeFileSync(stateFile, `${JSON.stringify(state)}\n`);
  }
  return { ...entry, bytes: stat.size, lines: state.lines };
}

async function publishLogs(jobDir: string, raw: Array<{ rel: string }>, pageDir: string, renderer: TemplateRenderer, jobId: string): Promise<LogEntry[]> {
  const logs: LogEntry[] = [];
  for (const { stage, file } of listStageLogs(jobDir)) {
    const entry = { name: stage, title: `${stage} stage log`, stage, viewer: `log/${viewerName(stage)}.html`, raw: `raw/${encodePath(`logs/${stage}.log`)}` };
    logs.push(await publishLog(file, entry, pageDir, renderer, jobId));
  }
  for (const { rel } of raw) {
    if (!rel.startsWith('hosts/') || !TEXT_LOG.test(rel)) continue;
    const entry = { name: rel, title: rel, viewer: `log/${viewerName(rel)}.html`, raw: `raw/${encodePath(rel)}` };
    logs.push(await publishLog(path.join(jobDir, ...rel.split('/')), entry, pageDir, renderer, jobId));
  }
  return logs;
}

function readSummary(jobDir: string): StoredSummary | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(jobDir, 'summary.json'), 'utf8')) as StoredSummary;
  } catch {
    return undefined;
  }
}

/** The end of the log of the stage that decided the job's failure. */
function failureTail(job: Job, stages: readonly JobStageRecord[], logs: LogEntry[], jobDir: string) {
  if (job.status === 'success') return undefined;
  const decisive = stages.find((s) => s.status === 'failed' && s.stage !== 'teardown');
  const log = decisive && logs.find((l) => l.stage === decisive.stage);
  if (!log) return undefined;
  return { log, ...tailLines(path.join(jobDir, 'logs', `${log.stage}.log`), TAIL_LINES) };
}

/** Writes (or rewrites) a job's page: index.html, job.json, a viewer per log, and raw/ with its files. */
export async function writeJobPage(job: Job, options: JobPageOptions): Promise<WrittenJobPage> {
  const now = (options.now ?? (() => new Date()))();
  const renderer = webRenderer(options.renderer);
  const jobDir = jobFilesDir(options.store, job);
  const pagePath = pagePaths.job(job.id);
  const pageDir = pageFile(options.web, pagePaths.jobDir(job.id));
  const raw = publishRaw(jobDir, path.join(pageDir, 'raw'));
  const logs = await publishLogs(jobDir, raw, pageDir, renderer, job.id);
  const files: FileEntry[] = raw
    .filter((f) => !f.rel.startsWith('logs/'))
    .slice(0, FILES_LISTED)
    .map((f) => ({ path: f.rel, href: `raw/${encodePath(f.rel)}`, bytes: f.bytes }));
  const state = await options.store.read();
  const stages = job.stages ?? options.stagesSoFar ?? [];
  const defaults = safely(() => options.templateSources?.(job.template));
  const data = jobPageData({
    job,
    config: state.configs[job.configId],
    summary: readSummary(jobDir),
    logs,
    files,
    failureTail: failureTail(job, stages, logs, jobDir),
    ...(job.sources?.length || job.changes?.length ? { reproduce: reproduceJob(job, defaults) } : {}),
    ...(options.stagesSoFar ? { stagesSoFar: options.stagesSoFar } : {}),
    ...(options.verdicts ? { verdicts: options.verdicts } : {}),
    gerritUrl: options.gerritUrl,
    links: pageLinks(job, pagePath),
    now,
  });
  await writeFilesAtomically(pageDir, { 'index.html': renderer.render('job.html.hbs', jobPageView(data)), 'job.json': `${JSON.stringify(data, null, 2)}\n` });
  return { job: job.id, file: pageFile(options.web, pagePath), ...(pageUrl(options.web, pagePath) ? { url: pageUrl(options.web, pagePath) } : {}), logs: logs.length };
}

/** The job's files where the store records them (`logDir`, relative to the store's directory), else jobs/<id>. */
export function jobFilesDir(store: Pick<Store, 'dataDir' | 'jobDir'>, job: Pick<Job, 'id' | 'logDir'>): string {
  if (!job.logDir) return store.jobDir(job.id);
  return path.resolve(store.dataDir, job.logDir);
}

function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function pageLinks(job: Job, from: string): JobPage['links'] {
  return {
    status: relativeLink(from, pagePaths.status()),
    ...(job.revision ? { revision: relativeLink(from, pagePaths.revision(job.revision)) } : {}),
    ...(job.number ? { change: relativeLink(from, pagePaths.change(job.number, job.patchSet)) } : {}),
    ...(job.retryOf ? { retryOf: relativeLink(from, pagePaths.job(job.retryOf)) } : {}),
  };
}

/** What the template needs beyond the data: sizes in words, a title. */
function jobPageView(data: JobPage) {
  const change = data.change ? `${data.change.project} ${data.change.number},${data.change.patchSet}` : 'ad hoc run';
  return {
    ...data,
    title: `${data.job.words.label}: ${data.template} on ${change} (job ${data.job.id})`,
    changeLabel: change,
    logs: data.logs.map((l) => ({ ...l, size: sizeText(l.bytes) })),
    files: data.files.map((f) => ({ ...f, size: sizeText(f.bytes) })),
    skippedOpen: data.tests.skipped.others.length <= 20,
    testsDuration: data.tests.counts.duration || durationText(0),
  };
}

/** Writes a job's page, saying so and never failing the caller (a page is a view; the job is what counts). */
export async function writeJobPageSafely(job: Job, options: JobPageOptions): Promise<WrittenJobPage | undefined> {
  try {
    return await writeJobPage(job, options);
  } catch (err) {
    options.logger?.warn(`job ${job.id}: could not write its page: ${errorMessage(err)}`);
    return undefined;
  }
}
