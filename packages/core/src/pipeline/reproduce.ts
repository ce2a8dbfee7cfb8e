import path from 'node:path';
import { shellQuote } from '../render/quote.js';
import type { Job, JobSource } from '../model.js';
import { formatChangeSpec, type ChangeSpec, type SourcePlan } from './plan.js';

export interface Reproduction {
  /** The `firestack run` argument vector. */
  argv: string[];
  /** The same, as one copy-pasteable shell line. */
  command: string;
  /** The --change values, one per project. */
  changes: string[];
  notes: string[];
}

/**
 * Pure: the `firestack run` command that re-creates a job's environment from a laptop — its
 * config file (absolute, so the line works wherever it is pasted), its template, and every source
 * pinned to the revision the job recorded. `templateDefaults` are the template's own sources
 * (planned, so URLs are resolved): a source fetched from there needs no URL.
 */
export function reproduceJob(
  job: Job,
  templateDefaults?: ReadonlyArray<Pick<SourcePlan, 'kind' | 'name' | 'url'>>,
  options: { configPath?: string } = {},
): Reproduction {
  const defaults = new Map((templateDefaults ?? []).map((s) => [`${s.kind}:${s.name}`, s.url]));
  const notes: string[] = [];
  const byProject = new Map<string, ChangeSpec>();
  const sources: JobSource[] = job.sources ?? [];
  for (const s of sources) {
    if (byProject.has(s.project)) continue;
    if (s.localPath && !s.localHead && !s.changed) {
      notes.push(`${s.project} is the directory ${s.localPath}, shipped as it is when the run starts`);
      continue;
    }
    if (s.localPath) {
      byProject.set(s.project, { project: s.project, path: s.localPath });
      const at = s.localHead ?? s.revision ?? 'an unrecorded revision';
      const edits = s.uncommitted?.length ? ` with uncommitted changes to ${s.uncommitted.join(', ')}` : '';
      notes.push(`${s.project} came from the local checkout ${s.localPath} at ${at}${edits}; the run ships that checkout as it is then`);
      continue;
    }
    if (!s.revision) {
      byProject.set(s.project, { project: s.project, ...(s.url !== defaults.get(`${s.kind}:${s.name}`) ? { url: s.url } : {}), ref: s.ref });
      notes.push(`${s.project}: no revision was recorded (the job stopped before fetching it); using ${s.ref}`);
      continue;
    }
    const sameUrl = s.url === defaults.get(`${s.kind}:${s.name}`);
    byProject.set(s.project, { project: s.project, ...(sameUrl ? {} : { url: s.url }), ref: s.revision });
    if (s.mergeTarget) notes.push(`${s.project} was merged onto ${s.mergeTarget} at ${s.mergeTargetRevision ?? '(unrecorded)'}; the run merges onto that branch as it is now`);
  }
  if (!job.sources && job.changes) {
    for (const c of job.changes) {
      const project = c.slice(0, c.indexOf('='));
      byProject.set(project, { project, ref: c.slice(c.indexOf('=') + 1) });
    }
    notes.push('the job recorded no revisions; its --change arguments are repeated as given');
  }
  const changes = [...byProject.values()].map(formatChangeSpec);
  const config = options.configPath ? ['--config', path.resolve(options.configPath)] : [];
  const argv = ['firestack', 'run', ...config, '--template', job.template, ...changes.flatMap((c) => ['--change', c])];
  // Flags are literal words; only values are quoted (a quoted `--change` would still work, but reads badly).
  const command = [
    'firestack run',
    ...(config.length ? [`--config ${shellQuote(config[1]!)}`] : []),
    `--template ${shellQuote(job.template)}`,
    ...changes.map((c) => `--change ${shellQuote(c)}`),
  ].join(' ');
  return { argv, command, changes, notes };
}
