import type { RequiredSkip } from '../model.js';
import { testIdPattern } from './patterns.js';
import type { TestCaseResult } from './types.js';

/**
 * The required tests of a template that did not run: every skipped case a pattern names (with its
 * skip reason), and every pattern no case matched at all (absent). A pattern whose tests ran is met. Pure.
 */
export function requiredTestsNotRun(template: string, patterns: readonly string[], cases: readonly TestCaseResult[]): RequiredSkip[] {
  const out: RequiredSkip[] = [];
  for (const pattern of patterns) {
    const re = testIdPattern(pattern);
    const named = cases.filter((c) => re.test(c.id));
    if (named.length === 0) {
      out.push({ id: pattern, pattern, reason: 'absent: no test matched', template });
      continue;
    }
    for (const c of named) {
      if (c.outcome !== 'skipped') continue;
      if (out.some((r) => r.id === c.id)) continue;
      out.push({ id: c.id, pattern, reason: c.message?.trim() || 'skipped without a reason', template });
    }
  }
  return out;
}

/** How a required test that did not run reads in a review: "skipped: libvirt not available — required by template nova-libvirt". */
export function describeRequiredSkip(skip: RequiredSkip): string {
  const why = skip.reason.startsWith('absent') ? skip.reason : `skipped: ${skip.reason}`;
  return `${why} — required by template ${skip.template}`;
}
