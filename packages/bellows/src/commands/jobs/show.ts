import path from 'node:path';
import { Args } from '@smokestack/core/oclif';
import { SmokestackCommand, formatDuration } from '@smokestack/core/cli';
import { configurationLabel } from '@smokestack/core/config/axes';
import { findJob } from '@smokestack/core/queue/queue';
import { jobDurationMs, jobKind } from '@smokestack/core/queue/jobs';
import { describeRequiredSkip } from '@smokestack/core/results/required';
import { formatSources } from '@smokestack/core/pipeline/report';
import type { Job } from '@smokestack/core/model';

export default class JobsShow extends SmokestackCommand {
  static override summary = 'Show one job: status, results, required tests that did not run, skipped tests and where its logs are.';
  static override examples = ['<%= config.bin %> jobs show j42', '<%= config.bin %> jobs show j42 --json'];
  static override args = { id: Args.string({ description: 'job id (see "bellows jobs list")', required: true }) };

  async run(): Promise<{ job: Job; logDir: string }> {
    const { args } = await this.parse(JobsShow);
    const job = await findJob(this.store, args.id);
    const logDir = path.join(this.store.dataDir, job.logDir);
    const s = job.summary;
    const took = jobDurationMs(job);
    const lines = [
      `job ${job.id}: ${job.status}${job.message ? ` — ${job.message}` : ''}`,
      jobKind(job) === 'adhoc'
        ? `change:    none, an ad-hoc run of firestack run${job.project ? ` (${job.project} at ${job.revision.slice(0, 12) || 'an unrecorded revision'})` : ''}`
        : job.baseline
          ? `baseline:  ${job.project} ${job.baseline.branch} at ${job.revision ? job.revision.slice(0, 12) : 'its tip'} (asked for by ${job.baseline.requestedBy}; never votes)`
        : `change:    ${job.project} ${job.number},${job.patchSet} (${job.revision.slice(0, 12)})`,
      `template:  ${job.template} (attempt ${job.attempt})`,
      ...(job.configuration ? [`axes:      ${configurationLabel(job.configuration)}`] : []),
      ...(job.dependencies?.length ? [`depends on: ${job.dependencies.map((d) => `${d.project} ${d.number}${d.status === 'MERGED' ? ' (merged)' : `,${d.patchSet}`}`).join(', ')}`] : []),
      `created:   ${job.createdAt}${job.startedAt ? `, started ${job.startedAt}` : ''}${job.finishedAt ? `, finished ${job.finishedAt}` : ''}${took ? ` (took ${formatDuration(took)})` : ''}`,
      `results:   ${s.tests} tests, ${s.failures} failures, ${s.errors} errors, ${s.skipped} skipped${s.durationMs ? ` in ${formatDuration(s.durationMs)}` : ''}`,
    ];
    if (job.worker) lines.push(`worker:    ${job.worker}`);
    if (job.supersededBy) lines.push(`superseded by: ${job.supersededBy}`);
    if (job.comparedWith) lines.push(`compared with: baseline ${job.comparedWith}`);
    if (job.failedTests?.length) lines.push('failed tests:', ...job.failedTests.map((t) => `  - ${t}`));
    const required = job.requiredSkipped ?? [];
    if (required.length) lines.push('required tests that did not run:', ...required.map((r) => `  - ${r.id} — ${describeRequiredSkip(r)}`));
    const skipped = job.skipped.filter((t) => !required.some((r) => r.id === t.id));
    if (skipped.length) lines.push('skipped tests:', ...skipped.map((t) => `  - ${t.id}${t.reason ? ` (${t.reason})` : ''}`));
    if (job.sources?.length) lines.push('sources:', ...formatSources(job.sources).map((l) => `  ${l}`));
    lines.push(`logs:      ${logDir}`);
    this.log(lines.join('\n'));
    return { job, logDir };
  }
}
