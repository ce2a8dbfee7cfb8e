/**
 * Quotes a value for POSIX sh so that it always reaches the command as one literal word.
 * Single quotes protect everything except a single quote, which is closed, escaped and reopened.
 */
export function shellQuote(value: unknown): string {
  if (value === undefined || value === null) return "''";
  const text = typeof value === 'string' ? value : String(value);
  if (text.includes('\0')) throw new Error('a shell value cannot contain a NUL byte');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text) && !text.startsWith('-')) return text;
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

/** Quotes each value and joins them with spaces: an argument vector for sh. */
export function shellJoin(values: readonly unknown[]): string {
  return values.map(shellQuote).join(' ');
}
