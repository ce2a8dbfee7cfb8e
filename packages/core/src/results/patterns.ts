/**
 * Test-id patterns as templates (`requiredTests:`) and the quarantine list name tests: `*` matches
 * any run of characters, `?` one character, everything else itself; a pattern names whole ids.
 */
export function testIdPattern(pattern: string): RegExp {
  const body = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 's');
}

/** Whether a test id matches a pattern. Pure. */
export function matchesTestId(pattern: string, id: string): boolean {
  return testIdPattern(pattern).test(id);
}

/** The quarantine entry that keeps a test of a template from voting, if any. Pure. */
export function quarantineEntryFor<T extends { test: string; templates?: string[] }>(entries: readonly T[], template: string, id: string): T | undefined {
  return entries.find((e) => (!e.templates || e.templates.includes(template)) && matchesTestId(e.test, id));
}
