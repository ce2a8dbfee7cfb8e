import type { JobSource } from '../model.js';
import { jobKey } from '../queue/jobs.js';
import type { PipelineResult } from './runner.js';

const seconds = (ms?: number) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)}s`);

/** The human summary of a finished run: verdict, stages, tests, sources and where the logs are. */
export function formatRunReport(result: PipelineResult): string[] {
  const lines = [`Job ${result.jobId} (${jobKey(result.template, result.configuration)}): ${result.status} — ${result.message}`];
  for (const s of result.stages) {
    lines.push(`  ${s.stage.padEnd(10)} ${s.status.padEnd(8)} ${seconds(s.durationMs).padStart(7)}  ${s.message ?? ''}`.trimEnd());
  }
  const t = result.summary;
  if (t.tests > 0) lines.push(`Tests: ${t.tests} run, ${t.failures} failed, ${t.errors} errors, ${t.skipped} skipped`);
  for (const name of result.failedTests) lines.push(`  failed:  ${name}`);
  for (const s of result.skipped) lines.push(`  skipped: ${s.id}${s.reason ? ` (${s.reason})` : ''}`);
  lines.push(...formatSources(result.sources).map((l) => `Source ${l}`));
  lines.push(`Time: ${seconds(result.timing.wallMs)} total, ${seconds(result.timing.remoteMs)} in remote commands, ${seconds(result.timing.overheadMs)} pipeline overhead`);
  lines.push(`Logs: ${result.logDir}`);
  return lines;
}

const short = (revision: string | undefined) => (revision ? revision.slice(0, 12) : '(not fetched)');

/** Each source of a job with the revision it resolved to, the changes merged into it and its merge with trunk. */
export function formatSources(sources: readonly JobSource[]): string[] {
  const lines: string[] = [];
  for (const s of sources) {
    const merged = s.mergeTarget ? `, merged onto ${s.mergeTarget} at ${short(s.mergeTargetRevision)}` : '';
    lines.push(`${s.project} (${s.kind} ${s.name}): ${s.ref} at ${short(s.revision)}${s.changed ? ' (under test)' : ''}${merged}`);
    for (const m of s.merges ?? []) lines.push(`  + ${m.name}: ${m.ref} at ${short(m.revision)}`);
  }
  return lines;
}
