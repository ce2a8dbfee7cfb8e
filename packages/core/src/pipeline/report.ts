import { describeRequiredSkip } from '../results/required.js';
import type { PipelineResult } from './runner.js';

const seconds = (ms?: number) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)}s`);

/** The human summary of a finished run: verdict, stages, tests, sources and where the logs are. */
export function formatRunReport(result: PipelineResult): string[] {
  const lines = [`Job ${result.jobId} (${result.template}): ${result.status} — ${result.message}`];
  for (const s of result.stages) {
    lines.push(`  ${s.stage.padEnd(10)} ${s.status.padEnd(8)} ${seconds(s.durationMs).padStart(7)}  ${s.message ?? ''}`.trimEnd());
  }
  const t = result.summary;
  if (t.tests > 0) lines.push(`Tests: ${t.tests} run, ${t.failures} failed, ${t.errors} errors, ${t.skipped} skipped`);
  for (const name of result.failedTests) lines.push(`  failed:  ${name}`);
  const required = result.requiredSkipped ?? [];
  for (const r of required) lines.push(`  required, did not run: ${r.id} — ${describeRequiredSkip(r)}`);
  for (const s of result.skipped.filter((t) => !required.some((r) => r.id === t.id))) lines.push(`  skipped: ${s.id}${s.reason ? ` (${s.reason})` : ''}`);
  for (const s of result.sources) lines.push(`Source ${s.project}: ${s.ref} at ${s.revision ?? '(not fetched)'}${s.changed ? ' (under test)' : ''}`);
  lines.push(`Time: ${seconds(result.timing.wallMs)} total, ${seconds(result.timing.remoteMs)} in remote commands, ${seconds(result.timing.overheadMs)} pipeline overhead`);
  lines.push(`Logs: ${result.logDir}`);
  return lines;
}
