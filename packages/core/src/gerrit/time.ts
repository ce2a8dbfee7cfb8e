/** Gerrit writes UTC timestamps as `2012-07-17 07:18:30.854000000` (space, nanoseconds, no zone). */
export function parseGerritTime(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return epochToIso(value);
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return epochToIso(Number(text));
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) {
    const parsed = Date.parse(text);
    return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
  }
  const millis = (m[3] ?? '').padEnd(3, '0').slice(0, 3);
  const date = new Date(`${m[1]}T${m[2]}.${millis}${m[4] ?? 'Z'}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** SSH JSON uses epoch seconds. */
export function epochToIso(seconds: number): string | undefined {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The form the `after:`/`before:` search operators accept: `2026-11-20 10:00:00` (UTC). */
export function formatGerritTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}
