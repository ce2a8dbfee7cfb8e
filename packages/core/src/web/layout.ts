import path from 'node:path';
import { UserError } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';

/**
 * Where the generated pages live and how they are reached: one directory of static files
 * (`web.dir`, by default `web/` beside the state store) that any web server can serve at `web.url`.
 *
 *   jobs/<id>/index.html         the job page (job.json: its data)
 *   jobs/<id>/log/<name>.html    a log, line by line, loaded in parts from log/<name>/<n>.js
 *   jobs/<id>/raw/…              the job's own files (stage logs, harvested files, summary.json)
 *   revisions/<sha>.json         every job's result for a revision
 *   changes/<number>/<ps>.json   the same by change and patch set
 *   status/index.html            queued and running jobs, workers, the last sync, stream and comment run
 */
export interface WebSettings {
  dir: string;
  /** Public URL of `dir`, without a trailing slash. */
  url?: string;
}

/** The pages' directory and URL from the config (`web:`); the directory defaults to web/ beside the store. */
export function webSettings(loaded: LoadedConfig, store: { dataDir: string }): WebSettings {
  const web = loaded.config.web;
  const dir = web?.dir ? path.resolve(loaded.dir, web.dir) : path.join(store.dataDir, 'web');
  return { dir, ...(web?.url ? { url: web.url.replace(/\/+$/, '') } : {}) };
}

const SAFE_ID = /^[A-Za-z0-9_.-]+$/;

function checked(id: string, what: string): string {
  if (!SAFE_ID.test(id) || id === '.' || id === '..') throw new UserError(`${what} "${id}" cannot name a page`);
  return id;
}

/** Paths inside the pages directory, with "/" separators (also the path part of their URLs). */
export const pagePaths = {
  jobDir: (jobId: string) => `jobs/${checked(jobId, 'job id')}`,
  job: (jobId: string) => `jobs/${checked(jobId, 'job id')}/index.html`,
  revision: (sha: string) => `revisions/${checked(sha, 'revision')}.json`,
  change: (number: number, patchSet: number) => `changes/${number}/${patchSet}.json`,
  status: () => 'status/index.html',
  statusJson: () => 'status/status.json',
};

/** The file of a page on this machine. */
export function pageFile(web: WebSettings, relative: string): string {
  return path.join(web.dir, ...relative.split('/'));
}

/** The public URL of a page; a job page's URL is its directory (the server answers with index.html). */
export function pageUrl(web: WebSettings, relative: string): string | undefined {
  if (!web.url) return undefined;
  return `${web.url}/${relative.replace(/(^|\/)index\.html$/, '$1')}`;
}

/** Where a job's page is for people: its public URL, else its file on this machine. */
export function jobPageLocation(web: WebSettings, jobId: string): string {
  return pageUrl(web, pagePaths.job(jobId)) ?? pageFile(web, pagePaths.job(jobId));
}

/** A link from one page to another page of the same directory: relative, so it works served and from disk. */
export function relativeLink(from: string, to: string): string {
  const rel = path.posix.relative(path.posix.dirname(from), to);
  return rel || path.posix.basename(to);
}
