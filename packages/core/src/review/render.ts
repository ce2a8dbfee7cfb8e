import path from 'node:path';
import { configurationLabel } from '../config/axes.js';
import { writeFilesAtomically } from '../web/atomic.js';
import { jsonForScript } from '../web/render.js';
import { TemplateRenderer } from '../render/render.js';
import { describeRequiredSkip } from '../results/required.js';
import { reportJsonHead, reportJsonTail, sectionJsonPieces, type Report, type ReportHead, type ReportRow, type ReportSection, type TemplateResult } from './report.js';

export { jsonForScript, writeFilesAtomically };

export const REPORT_TEMPLATE = 'report.html.hbs';

/** Rows per page of a project's table; the page shows one page per project at a time. Each sort, filter or page
 * lays out one page of rows anew, so the page is about two screens: 50 rows took about 80 ms to re-sort in Chromium
 * on the 2-core benchmark machine, 25 take 50–60 ms (bench/report.mjs). */
export const PAGE_SIZE = 25;
/** Skipped test ids listed in the page per cell; reviewday.json always has all of them. */
const SKIPPED_SHOWN = 50;

/** Strings that repeat across rows (owners, causes, test ids, reasons, votes) are sent once, rows hold their index. */
class StringTable {
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  id(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.strings.push(value) - 1;
      this.index.set(value, i);
    }
    return i;
  }
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : value < 0 ? `−${-value}` : '0';
}

/** The part of `link` before `tail`, when it ends so; links sharing a prefix are sent as the prefix once. */
function prefixOf(link: string | undefined, tail: string): string | undefined {
  return link?.endsWith(tail) ? link.slice(0, link.length - tail.length) : undefined;
}

/** A job link ends `<job id>/`, or `<job id>/index.html` for pages opened from disk. */
const JOB_SUFFIXES = ['', 'index.html'];
const jobTail = (jobId: string, suffix = '') => `${encodeURIComponent(jobId)}/${suffix}`;

/**
 * One template's result as the page's script reads it (`resultCell` in the template draws it):
 * st status, t tests, f failed (failures + errors), s skipped, ft failing test ids, sk skipped
 * [id, reason] (ordinary skips), sm skipped not listed, os ordinary skips (when required tests were skipped
 * too), rq required tests that did not run [id, why], a attempt (when > 1), m message, j job id, l link when
 * it is not `jobLinks` + job id + "/", c the combination of the template's axes it ran with. Statuses, ids,
 * reasons, messages and combinations are indexes into `strings`.
 */
function resultData(result: TemplateResult, strings: StringTable, jobLinks: string | undefined, jobSuffix = ''): PageResult {
  const data: PageResult = { st: strings.id(result.status), t: result.tests, f: result.failures + result.errors, s: result.skipped, j: result.jobId };
  if (result.failedTests.length) data.ft = result.failedTests.map((t) => strings.id(t));
  if (result.skippedTests.length) {
    data.sk = result.skippedTests.slice(0, SKIPPED_SHOWN).map((t) => (t.reason ? [strings.id(t.id), strings.id(t.reason)] : [strings.id(t.id)]));
  }
  if (result.skippedTests.length > SKIPPED_SHOWN) data.sm = result.skippedTests.length - SKIPPED_SHOWN;
  if (result.requiredSkipped.length) {
    data.rq = result.requiredSkipped.slice(0, SKIPPED_SHOWN).map((r) => [strings.id(r.id), strings.id(describeRequiredSkip(r))]);
    // Required tests that were skipped are counted among the skips, but listed apart from the ordinary ones.
    data.os = Math.max(0, result.skipped - result.requiredSkipped.filter((r) => !r.reason.startsWith('absent')).length);
  }
  if (result.attempt > 1) data.a = result.attempt;
  if (result.message) data.m = strings.id(result.message);
  if (jobLinks === undefined || result.link !== `${jobLinks}${jobTail(result.jobId, jobSuffix)}`) data.l = result.link;
  const combination = configurationLabel(result.configuration);
  if (combination) data.c = strings.id(combination);
  return data;
}

interface PageResult {
  st: number;
  t: number;
  f: number;
  s: number;
  j: string;
  ft?: number[];
  sk?: number[][];
  sm?: number;
  os?: number;
  rq?: number[][];
  a?: number;
  m?: number;
  l?: string;
  c?: number;
}

/**
 * One change as the page's script reads it: n number, p patch set, u URL (absent: the section's
 * `changeLinks` + number; "": none), s subject, o owner, c cause, b base score, q priority unknown,
 * w reasons, a age in minutes, sc score, v feedback [shown vote, votes], r results in the section's
 * template order (0: no job).
 */
function rowData(row: ReportRow, templates: readonly string[], strings: StringTable, links: { change?: string; job?: string; jobSuffix?: string }) {
  const fb = row.feedback;
  const votes = fb.votes.map((v) => `${v.label} ${signed(v.value)} by ${v.by}${v.bot ? ' (CI)' : ''}`).join('; ');
  // "Unknown …" causes say it themselves; a topic that could not be checked needs the words.
  const cause = row.priorityUnknown && !row.cause.startsWith('Unknown') ? `${row.cause} (not checked)` : row.cause;
  const data: Record<string, unknown> = { n: row.number, p: row.patchSet };
  if (row.url === undefined) data.u = '';
  else if (links.change === undefined || row.url !== `${links.change}${row.number}`) data.u = row.url;
  data.s = row.subject;
  data.o = strings.id(row.owner);
  data.c = strings.id(cause);
  data.b = row.baseScore;
  if (row.priorityUnknown) data.q = 1;
  data.w = row.reasons.map((r) => strings.id(r));
  data.a = row.ageMs === undefined ? null : Math.floor(row.ageMs / 60_000);
  data.sc = row.score;
  data.v = [fb.shown, strings.id(votes || 'no votes')];
  data.r = templates.map((t) => (row.results[t] ? resultData(row.results[t]!, strings, links.job, links.jobSuffix) : 0));
  return data;
}

/**
 * Everything the page's script renders, built a section at a time: per section its templates and rows
 * (as script-safe JSON text as soon as the section is added), and the strings they share.
 */
export class PageData {
  private readonly strings = new StringTable();
  private readonly sectionTexts: string[] = [];
  /** Job links share a prefix, read from the first result of the report. */
  private jobLinks?: string;
  private jobSuffix = '';
  private linksSeen = false;

  add(section: ReportSection): void {
    if (!this.linksSeen) {
      const first = section.rows.find((r) => Object.keys(r.results).length > 0);
      const firstResult = first && Object.values(first.results)[0];
      if (firstResult) {
        this.linksSeen = true;
        this.jobSuffix = JOB_SUFFIXES.find((suffix) => prefixOf(firstResult.link, jobTail(firstResult.jobId, suffix)) !== undefined) ?? '';
        this.jobLinks = prefixOf(firstResult.link, jobTail(firstResult.jobId, this.jobSuffix));
      }
    }
    const firstLinked = section.rows.find((r) => r.url);
    const changeLinks = firstLinked && prefixOf(firstLinked.url, String(firstLinked.number));
    const links = { change: changeLinks, job: this.jobLinks, jobSuffix: this.jobSuffix };
    this.sectionTexts.push(
      jsonForScript({
        project: section.name,
        templates: section.templates,
        ...(changeLinks ? { changeLinks } : {}),
        rows: section.rows.map((row) => rowData(row, section.templates, this.strings, links)),
      }),
    );
  }

  /** The whole page data as JSON text safe inside a script element. */
  text(): string {
    const links = this.jobLinks !== undefined ? { jobLinks: this.jobLinks, ...(this.jobSuffix ? { jobSuffix: this.jobSuffix } : {}) } : {};
    const head = jsonForScript({ pageSize: PAGE_SIZE, ...links, strings: this.strings.strings });
    return `${head.slice(0, -1)},"sections":[${this.sectionTexts.join(',')}]}`;
  }
}

function utcText(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** What the page's frame shows of a section (its rows are in the page data). */
export type SectionSummary = Pick<ReportSection, 'name' | 'branch' | 'launchpad' | 'count' | 'excluded' | 'templates'>;

function summaryOf(section: ReportSection): SectionSummary {
  return { name: section.name, branch: section.branch, launchpad: section.launchpad, count: section.count, excluded: section.excluded, templates: section.templates };
}

/** The data the HTML template sees: the page's frame, and the rows as JSON for its script. */
function viewOf(head: ReportHead, sections: readonly SectionSummary[], dataJson: string) {
  return {
    title: head.title,
    generated: head.generated,
    generatedText: utcText(head.generated),
    changesAsOfText: head.changesAsOf ? utcText(head.changesAsOf) : undefined,
    total: sections.reduce((n, s) => n + s.count, 0),
    warnings: head.warnings,
    sections: sections.map((section, i) => ({
      id: `p${i + 1}`,
      name: section.name,
      branch: section.branch,
      launchpad: section.launchpad,
      count: section.count,
      excluded: section.excluded,
      templates: section.templates,
      columns: 6 + section.templates.length,
    })),
    dataJson,
  };
}

/** The data the HTML template sees for a whole report. */
export function reportView(report: Report) {
  const page = new PageData();
  for (const section of report.sections) page.add(section);
  return viewOf(report, report.sections, page.text());
}

export interface RenderReportOptions {
  outDir: string;
  renderer?: TemplateRenderer;
}

export interface RenderedReport {
  outDir: string;
  indexPath: string;
  jsonPath: string;
  bytes: number;
  /** What each section of the page showed. */
  sections: SectionSummary[];
  /** Milliseconds spent building the sections (with their page data and reviewday.json text), rendering the page, and writing both files. */
  buildMs: number;
  htmlMs: number;
  writeMs: number;
}

/** Renders the HTML page (escaped by the renderer; Gerrit text is never markup). */
export function renderReportHtml(report: Report, renderer: TemplateRenderer = new TemplateRenderer()): string {
  return renderer.render(REPORT_TEMPLATE, reportView(report));
}

/** Writes `index.html` and `reviewday.json` of a whole report into `outDir`, each replaced atomically. */
export async function renderReport(report: Report, options: RenderReportOptions): Promise<RenderedReport> {
  return renderReportSections(report, report.sections, options);
}

/**
 * Writes `index.html` and `reviewday.json` into `outDir`, each replaced atomically, taking the sections
 * one at a time: each becomes page data and reviewday.json text, and is let go before the next is built.
 */
export async function renderReportSections(head: ReportHead, sections: Iterable<ReportSection>, options: RenderReportOptions): Promise<RenderedReport> {
  const started = performance.now();
  const page = new PageData();
  const json = [reportJsonHead(head)];
  const summaries: SectionSummary[] = [];
  for (const section of sections) {
    page.add(section);
    json.push(...sectionJsonPieces(section, summaries.length === 0));
    summaries.push(summaryOf(section));
  }
  json.push(reportJsonTail(head), '\n');
  const built = performance.now();
  const html = (options.renderer ?? new TemplateRenderer()).render(REPORT_TEMPLATE, viewOf(head, summaries, page.text()));
  const rendered = performance.now();
  await writeFilesAtomically(options.outDir, { 'reviewday.json': json, 'index.html': html });
  return {
    outDir: options.outDir,
    indexPath: path.join(options.outDir, 'index.html'),
    jsonPath: path.join(options.outDir, 'reviewday.json'),
    bytes: Buffer.byteLength(html) + json.reduce((n, piece) => n + Buffer.byteLength(piece), 0),
    sections: summaries,
    buildMs: Math.round(built - started),
    htmlMs: Math.round(rendered - built),
    writeMs: Math.round(performance.now() - rendered),
  };
}
