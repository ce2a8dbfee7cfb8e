import fs from 'node:fs';
import path from 'node:path';
import { InfraError, errorMessage } from '../errors.js';
import type { JobStatus } from '../model.js';
import { TemplateRenderer } from '../render/render.js';
import { reportJson, type Report, type ReportRow, type TemplateResult } from './report.js';

export const REPORT_TEMPLATE = 'report.html.hbs';

/** Shown per status: a word and a symbol, so colour is never the only signal. */
const STATUS_VIEW: Record<JobStatus, { word: string; symbol: string; tone: string; rank: number }> = {
  success: { word: 'passed', symbol: '✓', tone: 'good', rank: 8 },
  running: { word: 'running', symbol: '…', tone: 'info', rank: 7 },
  queued: { word: 'queued', symbol: '…', tone: 'info', rank: 6 },
  superseded: { word: 'superseded', symbol: '–', tone: 'muted', rank: 5 },
  cancelled: { word: 'cancelled', symbol: '–', tone: 'muted', rank: 4 },
  incomplete: { word: 'incomplete', symbol: '◌', tone: 'warn', rank: 3 },
  infra_failed: { word: 'infra error', symbol: '!', tone: 'warn', rank: 2 },
  build_failed: { word: 'build failed', symbol: '✗', tone: 'bad', rank: 1 },
  test_failed: { word: 'failed', symbol: '✗', tone: 'bad', rank: 0 },
};

/** Skipped test ids listed in the page per cell; reviewday.json always has all of them. */
const SKIPPED_SHOWN = 50;

function signed(value: number): string {
  return value > 0 ? `+${value}` : value < 0 ? `−${-value}` : '0';
}

function ageText(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h`;
  return `${Math.floor(ms / 86_400_000)}d`;
}

function resultView(result: TemplateResult | undefined, template: string) {
  if (!result) return { present: false, template, sort: '' };
  const status = STATUS_VIEW[result.status] ?? { word: result.status, symbol: '?', tone: 'muted', rank: 0 };
  const failed = result.failures + result.errors;
  return {
    present: true,
    template,
    sort: String(status.rank * 1_000_000 + Math.min(result.tests, 999_999)),
    word: status.word,
    symbol: status.symbol,
    tone: status.tone,
    tests: result.tests,
    failed,
    skipped: result.skipped,
    // Required tests that were skipped are shown apart, not among the ordinary skips.
    ordinarySkipped: Math.max(0, result.skipped - result.requiredSkipped.filter((r) => !r.reason.startsWith('absent')).length),
    skippedTests: result.skippedTests.slice(0, SKIPPED_SHOWN),
    skippedMore: Math.max(0, result.skippedTests.length - SKIPPED_SHOWN),
    skippedUnnamed: result.skippedTests.length === 0 && result.requiredSkipped.length === 0 && result.skipped > 0,
    requiredSkipped: result.requiredSkipped.slice(0, SKIPPED_SHOWN),
    link: result.link,
    jobId: result.jobId,
    attempt: result.attempt > 1 ? result.attempt : undefined,
    message: result.message,
  };
}

function rowView(row: ReportRow, templates: readonly string[]) {
  const fb = row.feedback;
  const votes = fb.votes.map((v) => `${v.label} ${signed(v.value)} by ${v.by}${v.bot ? ' (CI)' : ''}`).join('; ');
  return {
    url: row.url,
    number: row.number,
    patchSet: row.patchSet,
    subject: row.subject,
    subjectSort: row.subject.toLowerCase(),
    owner: row.owner,
    ownerSort: row.owner.toLowerCase(),
    cause: row.cause,
    // "Unknown …" causes say it themselves; a topic that could not be checked needs the words.
    causeText: row.priorityUnknown && !row.cause.startsWith('Unknown') ? `${row.cause} (not checked)` : row.cause,
    causeSort: `${String(row.baseScore).padStart(6, '0')} ${row.cause.toLowerCase()}`,
    reasons: row.reasons.join('; '),
    priorityUnknown: row.priorityUnknown,
    age: ageText(row.ageMs),
    ageSort: row.ageMs === undefined ? '' : String(row.ageMs),
    score: row.score,
    feedback: {
      text: fb.shown === null ? '—' : signed(fb.shown),
      tone: fb.tone,
      sort: fb.shown === null ? '' : String(fb.shown),
      votes: votes || 'no votes',
      label: fb.tone === 'negative' ? 'lowest vote' : fb.tone === 'positive' ? 'highest vote' : fb.tone === 'neutral' ? 'no positive or negative votes' : 'no votes',
    },
    results: templates.map((t) => resultView(row.results[t], t)),
  };
}

function utcText(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** The data the HTML template sees: everything pre-formatted, nothing left to compute. */
export function reportView(report: Report) {
  return {
    title: report.title,
    generated: report.generated,
    generatedText: utcText(report.generated),
    total: report.sections.reduce((n, s) => n + s.count, 0),
    warnings: report.warnings,
    sections: report.sections.map((section, i) => ({
      id: `p${i + 1}`,
      name: section.name,
      branch: section.branch,
      launchpad: section.launchpad,
      count: section.count,
      excluded: section.excluded,
      templates: section.templates,
      columns: 6 + section.templates.length,
      rows: section.rows.map((row) => rowView(row, section.templates)),
    })),
  };
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
}

/** Renders the HTML page (escaped by the renderer; Gerrit text is never markup). */
export function renderReportHtml(report: Report, renderer: TemplateRenderer = new TemplateRenderer()): string {
  return renderer.render(REPORT_TEMPLATE, reportView(report));
}

/** Writes `index.html` and `reviewday.json` into `outDir`, each replaced atomically. */
export async function renderReport(report: Report, options: RenderReportOptions): Promise<RenderedReport> {
  const html = renderReportHtml(report, options.renderer);
  const json = `${JSON.stringify(reportJson(report))}\n`;
  await writeFilesAtomically(options.outDir, { 'reviewday.json': json, 'index.html': html });
  return {
    outDir: options.outDir,
    indexPath: path.join(options.outDir, 'index.html'),
    jsonPath: path.join(options.outDir, 'reviewday.json'),
    bytes: Buffer.byteLength(html) + Buffer.byteLength(json),
  };
}

/**
 * Writes every file into a temp directory inside `dir`, fsyncs, then renames each into place, so a
 * reader (a web server, a browser) sees the old or the new file, never a torn one. Other files in
 * `dir` are left alone.
 */
export async function writeFilesAtomically(dir: string, files: Record<string, string>): Promise<void> {
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new InfraError(`${dir}: cannot create the report directory (${errorMessage(err)})`);
  }
  const temp = await fs.promises.mkdtemp(path.join(dir, '.reviewday-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      const handle = await fs.promises.open(path.join(temp, name), 'w', 0o644);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const name of Object.keys(files)) await fs.promises.rename(path.join(temp, name), path.join(dir, name));
  } finally {
    await fs.promises.rm(temp, { recursive: true, force: true });
  }
}
