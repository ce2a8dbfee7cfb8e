import { renderTable } from '@smokestack/core/cli';
import type { ConfigView } from '@smokestack/core/bellows/configs';

/** A test configuration and its sources as people read them (configs show, set and reset print the same). */
export function formatConfigView(view: ConfigView, color: boolean): string[] {
  const c = view.config;
  const dependencies = (c.dependencies ?? []).map((d) => `${d.project} ${d.number}${d.status === 'MERGED' ? ' (merged: its branch)' : `,${d.patchSet}`}`);
  return [
    `${c.id}: ${c.description} (patch set ${c.patchSet}, ${c.revision.slice(0, 12)})`,
    `templates: ${c.templates.join(', ') || '(none)'}`,
    ...(dependencies.length ? [`depends on: ${dependencies.join(', ')}`] : []),
    ...(c.dependencyProblem ? [`cannot be tested: ${c.dependencyProblem}`] : []),
    renderTable(
      ['project', 'used as', 'url', 'ref', 'merge trunk', 'from'],
      view.sources.map((s) => [s.project, s.uses.join(', ') || '(no template)', s.url, [s.ref, ...s.merges.map((m) => `+ ${m}`)].join('\n'), s.mergeTrunk ?? 'no', s.from]),
      { color },
    ),
  ];
}
