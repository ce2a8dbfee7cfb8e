/** Lines stage scripts print for the runner: `::smokestack:: KEY ARGS...`. */
export interface Marker {
  key: string;
  args: string[];
}

const PREFIX = '::smokestack:: ';

export function parseMarkers(stdout: string): Marker[] {
  const out: Marker[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(PREFIX)) continue;
    const [key, ...args] = line.slice(PREFIX.length).trim().split(' ');
    if (key) out.push({ key, args });
  }
  return out;
}

/** The first marker of a kind for an id (the script prints its own before anything it runs can). */
export function markerValue(markers: readonly Marker[], key: string, id?: string | number): string[] | undefined {
  const m = markers.find((x) => x.key === key && (id === undefined || x.args[0] === String(id)));
  return m ? (id === undefined ? m.args : m.args.slice(1)) : undefined;
}

/** The lines between `KEY-begin N` and `KEY-end N` markers (e.g. the output of the second Puppet apply). */
export function sectionBetween(stdout: string, name: string, id: string | number): string[] {
  const lines = stdout.split('\n');
  const begin = lines.findIndex((l) => l.trim() === `${PREFIX}${name}-begin ${id}`);
  if (begin < 0) return [];
  const end = lines.findIndex((l, i) => i > begin && l.startsWith(`${PREFIX}${name}-end ${id}`));
  return lines.slice(begin + 1, end < 0 ? undefined : end);
}

export interface ChangedResource {
  /** `Exec[regenerate-cache]`, `File[/etc/demoapp/demoapp.conf]`. */
  resource: string;
  /** The full containment path, e.g. `/Stage[main]/Demoapp/File[/etc/demoapp]`. */
  path: string;
  property?: string;
}

// `Notice: /Stage[main]/Demoapp/File[/etc/x]/content: content changed ...` — segments are Names or Type[title].
const CHANGE_LINE = /^Notice: ((?:\/[A-Z][\w:]*(?:\[[^\]\n]*\])?)+?)(?:\/([a-z_]+))?: /;

/** The resources Puppet reported changing, from `puppet apply` output, each named once. */
export function changedResources(lines: readonly string[]): ChangedResource[] {
  const seen = new Map<string, ChangedResource>();
  for (const line of lines) {
    const m = CHANGE_LINE.exec(line.trim());
    if (!m) continue;
    const fullPath = m[1]!;
    const segments = fullPath.match(/\/[A-Z][\w:]*(?:\[[^\]\n]*\])?/g) ?? [];
    const last = [...segments].reverse().find((s) => s.includes('['));
    if (!last) continue;
    const resource = last.slice(1);
    if (!seen.has(resource)) seen.set(resource, { resource, path: fullPath, ...(m[2] ? { property: m[2] } : {}) });
  }
  return [...seen.values()];
}

/** The first Puppet `Error:` line (what a user needs to see first), without Facter's noise. */
export function firstPuppetError(output: string): string | undefined {
  return output
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('Error:') && !l.startsWith('Error: Facter:'));
}
