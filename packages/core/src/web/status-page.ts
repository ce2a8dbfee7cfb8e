import fs from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { TemplateRenderer } from '../render/render.js';
import type { Store } from '../store/types.js';
import { writeFilesAtomically } from './atomic.js';
import { pageFile, pagePaths, pageUrl, webSettings, type WebSettings } from './layout.js';
import { webRenderer } from './render.js';
import { statusData, type StatusData } from './status.js';

export interface StatusRequest {
  store: Store;
  loaded: LoadedConfig;
  now?: Date;
  /** Write status/index.html and status/status.json under the pages directory (this one, else web.dir). */
  write?: boolean;
  out?: string;
  cwd?: string;
  renderer?: TemplateRenderer;
}

export interface StatusResult {
  status: StatusData;
  written?: { file: string; json: string; url?: string };
}

/** Renders the status page and its JSON into the pages directory, each replaced atomically. */
export async function writeStatusPage(status: StatusData, web: WebSettings, renderer?: TemplateRenderer): Promise<NonNullable<StatusResult['written']>> {
  const r = webRenderer(renderer);
  r.registerPartial('status-row', fs.readFileSync(path.join(r.dir, 'status-row.html.hbs'), 'utf8'));
  const html = r.render('status.html.hbs', { ...status, title: 'SmokeStack status' });
  const dir = path.dirname(pageFile(web, pagePaths.status()));
  await writeFilesAtomically(dir, { 'index.html': html, 'status.json': `${JSON.stringify(status, null, 2)}\n` });
  const url = pageUrl(web, pagePaths.status());
  return { file: pageFile(web, pagePaths.status()), json: pageFile(web, pagePaths.statusJson()), ...(url ? { url } : {}) };
}

/** `bellows status`: the status from the live state; written as a page with --write or --out. */
export async function statusReport(request: StatusRequest): Promise<StatusResult> {
  const { loaded } = request;
  const configured = webSettings(loaded, request.store);
  const web = request.out ? { ...configured, dir: path.resolve(request.cwd ?? process.cwd(), request.out) } : configured;
  const status = statusData({
    state: await request.store.read(),
    now: request.now ?? new Date(),
    staleMs: (loaded.config.worker?.staleSeconds ?? 60) * 1000,
    ...(web.url ? { url: web.url } : {}),
  });
  if (!request.write && !request.out) return { status };
  return { status, written: await writeStatusPage(status, web, request.renderer) };
}
