import type { JobSource } from '../model.js';
import { describeRequiredSkip } from '../results/required.js';
import { jobKey } from '../queue/jobs.js';
import type { PipelineResult } from './runner.js';

const seconds = (ms?: number) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)}s`);

/** The human summary of a finished run: verdict, stages, tests, sources and where the logs are. */
export function formatRunReport(result: PipelineResult, page?: string): string[] {
  const lines = [`Job ${result.jobId} (${jobKey(result.template, result.configuration)}): ${result.status} — ${result.message}`];
  for (const s of result.stages) {
    lines.push(`  ${s.stage.padEnd(10)} ${s.status.padEnd(8)} ${seconds(s.durationMs).padStart(7)}  ${s.message ?? ''}`.trimEnd());
  }
  const t = result.summary;
  if (t.tests > 0) lines.push(`Tests: ${t.tests} run, ${t.failures} failed, ${t.errors} errors, ${t.skipped} skipped`);
  for (const name of result.failedTests) lines.push(`  failed:  ${name}`);
  const required = result.requiredSkipped ?? [];
  for (const r of required) lines.push(`  required, did not run: ${r.id} — ${describeRequiredSkip(r)}`);
  for (const s of result.skipped.filter((t) => !required.some((r) => r.id === t.id))) lines.push(`  skipped: ${s.id}${s.reason ? ` (${s.reason})` : ''}`);
  lines.push(...formatSources(result.sources, 'Source '));
  lines.push(`Time: ${seconds(result.timing.wallMs)} total, ${seconds(result.timing.remoteMs)} in remote commands, ${seconds(result.timing.overheadMs)} pipeline overhead`);
  lines.push(`Logs: ${result.logDir}`);
  if (page) lines.push(`Page: ${page}`);
  return lines;
}

/** Pure: what one source was; a local checkout by its HEAD and uncommitted files, not by the throwaway commit built from them. */
export function sourceLine(s: JobSource): string {
  const tested = s.changed ? ' (under test)' : '';
  const built = s.revision ? `, built as ${s.revision.slice(0, 12)}` : '';
  if (s.localPath && s.localHead) {
    const edits = s.uncommitted?.length ? ` with ${s.uncommitted.length} uncommitted file(s)` : '';
    return `Source ${s.project}: ${s.localPath} at ${s.localHead.slice(0, 12)}${edits}${built}${tested}`;
  }
  if (s.localPath) return `Source ${s.project}: the directory ${s.localPath} as it is${built}${tested}`;
  const merged = s.mergeTarget ? `, merged onto ${s.mergeTarget} at ${s.mergeTargetRevision ?? '(not fetched)'}` : '';
  return `Source ${s.project}: ${s.ref} at ${s.revision ?? '(not fetched)'}${tested}${merged}`;
}

/** Each source of a job (`prefix` and its line), then the changes merged into it (Depends-On) with the revision each resolved to. */
export function formatSources(sources: readonly JobSource[], prefix = ''): string[] {
  return sources.flatMap((s) => [
    `${prefix}${sourceLine(s).slice('Source '.length)}`,
    ...(s.merges ?? []).map((m) => `  + ${m.name}: ${m.ref} at ${m.revision ? m.revision.slice(0, 12) : '(not fetched)'}`),
  ]);
}
