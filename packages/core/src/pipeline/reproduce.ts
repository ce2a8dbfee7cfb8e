import path from 'node:path';
import { sortedPairs } from '../config/axes.js';
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
  /** The --axis values: the job's combination of the template's axes. */
  axes: string[];
  notes: string[];
}

/**
 * Pure: the `firestack run` command that re-creates a job's environment from a laptop — its
 * config file (absolute, so the line works wherever it is pasted), its template and combination of axes,
 * and every source pinned to the revision the job recorded. `templateDefaults` are the template's own
 * sources (planned, so URLs are resolved): a source fetched from there needs no URL.
 */
export function reproduceJob(
  job: Job,
  templateDefaults?: ReadonlyArray<Pick<SourcePlan, 'kind' | 'name' | 'url'>>,
  options: { configPath?: string } = {},
): Reproduction {
  const defaults = new Map((templateDefaults ?? []).map((s) => [`${s.kind}:${s.name}`, s.url]));
  const notes: string[] = [];
  const byProject = new Map<string, ChangeSpec[]>();
  const sources: JobSource[] = job.sources ?? [];
  for (const s of sources) {
    if (byProject.has(s.project)) continue;
    const spec = sourceSpec(s, defaults, notes);
    if (spec) byProject.set(s.project, [spec, ...mergedSpecs(s, notes)]);
    if (s.mergeTarget) notes.push(`${s.project} was merged onto ${s.mergeTarget} at ${s.mergeTargetRevision ?? '(unrecorded)'}; the run merges onto that branch as it is now`);
  }
  if (!job.sources && job.changes) {
    for (const c of job.changes) {
      const project = c.slice(0, c.indexOf('='));
      byProject.set(project, [...(byProject.get(project) ?? []), { project, ref: c.slice(c.indexOf('=') + 1) }]);
    }
    notes.push('the job recorded no revisions; its --change arguments are repeated as given');
  }
  const changes = [...byProject.values()].flat().map(formatChangeSpec);
  const axes = sortedPairs(job.configuration).map(([axis, value]) => `${axis}=${value}`);
  const config = options.configPath ? ['--config', path.resolve(options.configPath)] : [];
  const argv = ['firestack', 'run', ...config, '--template', job.template, ...axes.flatMap((a) => ['--axis', a]), ...changes.flatMap((c) => ['--change', c])];
  // Flags are literal words; only values are quoted (a quoted `--change` would still work, but reads badly).
  const command = [
    'firestack run',
    ...(config.length ? [`--config ${shellQuote(config[1]!)}`] : []),
    `--template ${shellQuote(job.template)}`,
    ...axes.map((a) => `--axis ${shellQuote(a)}`),
    ...changes.map((c) => `--change ${shellQuote(c)}`),
  ].join(' ');
  return { argv, command, changes, axes, notes };
}

/** A source as one --change: at its recorded revision where there is one; none for a plain directory shipped as it is. */
function sourceSpec(s: JobSource, defaults: ReadonlyMap<string, string>, notes: string[]): ChangeSpec | undefined {
  if (s.localPath && !s.localHead && !s.changed) {
    notes.push(`${s.project} is the directory ${s.localPath}, shipped as it is when the run starts`);
    return undefined;
  }
  if (s.localPath) {
    const at = s.localHead ?? s.revision ?? 'an unrecorded revision';
    const edits = s.uncommitted?.length ? ` with uncommitted changes to ${s.uncommitted.join(', ')}` : '';
    notes.push(`${s.project} came from the local checkout ${s.localPath} at ${at}${edits}; the run ships that checkout as it is then`);
    return { project: s.project, path: s.localPath };
  }
  const sameUrl = s.url === defaults.get(`${s.kind}:${s.name}`);
  if (!s.revision) {
    notes.push(`${s.project}: no revision was recorded (the job stopped before fetching it); using ${s.ref}`);
    return { project: s.project, ...(sameUrl ? {} : { url: s.url }), ref: s.ref };
  }
  return { project: s.project, ...(sameUrl ? {} : { url: s.url }), ref: s.revision };
}

/** The changes merged into a source after its ref (Depends-On): each a further --change of the project, which the run merges in. */
function mergedSpecs(s: JobSource, notes: string[]): ChangeSpec[] {
  return (s.merges ?? []).map((m) => {
    if (!m.revision) notes.push(`${s.project}: ${m.name} was not fetched (the job stopped first); using ${m.ref}`);
    return { project: s.project, url: m.url, ref: m.revision ?? m.ref };
  });
}
