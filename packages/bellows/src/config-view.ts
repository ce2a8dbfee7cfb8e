import { renderTable } from '@smokestack/core/cli';
import type { ConfigView } from '@smokestack/core';

/** A test configuration and its sources as people read them (configs show, set and reset print the same). */
export function formatConfigView(view: ConfigView, color: boolean): string[] {
  const c = view.config;
  return [
    `${c.id}: ${c.description} (patch set ${c.patchSet}, ${c.revision.slice(0, 12)})`,
    `templates: ${c.templates.join(', ') || '(none)'}`,
    renderTable(
      ['project', 'used as', 'url', 'ref', 'merge trunk', 'from'],
      view.sources.map((s) => [s.project, s.uses.join(', ') || '(no template)', s.url, s.ref, s.mergeTrunk ?? 'no', s.from]),
      { color },
    ),
  ];
}
