import fs from 'node:fs';
import path from 'node:path';

/** One `deb` source apt is configured with (one-line or deb822 form). */
export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  signedBy?: string;
  file: string;
}

/** Parses a one-line `sources.list` file: `deb [options] URI SUITE COMPONENT...`. */
export function parseSourcesList(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const options = Object.fromEntries((m[1] ?? '').split(/\s+/).filter(Boolean).map((o) => o.split('=', 2) as [string, string]));
    out.push({ uri: m[2]!, suites: [m[3]!], components: m[4]!.split(/\s+/).filter(Boolean), signedBy: options['signed-by'], file });
  }
  return out;
}

/** Parses a deb822 `.sources` file: stanzas of `Types: URIs: Suites: Components: Signed-By: Enabled:`. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields[last] += `\n${raw.trim()}`;
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) fields[(last = m[1]!.toLowerCase())] = m[2]!.trim();
    }
    const words = (key: string) => (fields[key] ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb') || fields.enabled?.toLowerCase() === 'no') continue;
    for (const uri of words('uris')) {
      out.push({ uri, suites: words('suites'), components: words('components'), signedBy: fields['signed-by']?.includes('\n') ? undefined : fields['signed-by'], file });
    }
  }
  return out;
}

/** Every `deb` source of an apt configuration root (`/etc/apt` under `root`), in apt's own file order. */
export function readAptSources(root = '/'): AptSource[] {
  const etc = path.join(root, 'etc', 'apt');
  const sources: AptSource[] = [];
  const list = path.join(etc, 'sources.list');
  if (fs.existsSync(list)) sources.push(...parseSourcesList(fs.readFileSync(list, 'utf8'), list));
  const dir = path.join(etc, 'sources.list.d');
  const entries = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  for (const name of entries) {
    const file = path.join(dir, name);
    if (name.endsWith('.list')) sources.push(...parseSourcesList(fs.readFileSync(file, 'utf8'), file));
    else if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(fs.readFileSync(file, 'utf8'), file));
  }
  return sources;
}

/**
 * The archive to bootstrap `suite` from: the source that carries that suite, else the one carrying
 * this machine's own release (same archive, another suite), never a security or updates pocket.
 */
export function pickMirror(sources: readonly AptSource[], suite: string, hostSuite?: string): AptSource | undefined {
  const main = sources.filter((s) => s.suites.some((x) => !/[-/](security|updates|backports|proposed)$/.test(x)));
  return main.find((s) => s.suites.includes(suite)) ?? (hostSuite ? main.find((s) => s.suites.includes(hostSuite)) : undefined);
}

/** `VERSION_CODENAME` of an os-release file (the release this machine runs), if it names one. */
export function hostCodename(osRelease = '/etc/os-release'): string | undefined {
  try {
    const m = /^VERSION_CODENAME=["']?([A-Za-z0-9.-]+)["']?$/m.exec(fs.readFileSync(osRelease, 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}
