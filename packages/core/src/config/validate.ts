import type { z } from '../vendor/zod.js';
import { UserError } from '../errors.js';

/** Renders a zod issue path as `projects[2].branch`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(top level)';
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  int: 'a whole number',
  nonoptional: 'a value',
};

/** Turns one zod issue into the words a user reads after the key path. */
export function describeIssue(issue: z.core.$ZodIssue): { path: ReadonlyArray<PropertyKey>; text: string } {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = ARTICLE[issue.expected] ?? issue.expected;
      return { path: issue.path, text: `expected ${expected}` };
    }
    case 'unrecognized_keys': {
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return { path: issue.path, text: `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}` };
    }
    case 'invalid_value':
      return { path: issue.path, text: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'too_small':
      if (issue.origin === 'array') return { path: issue.path, text: `expected at least ${issue.minimum} item(s)` };
      if (issue.origin === 'string') return { path: issue.path, text: 'expected a non-empty string' };
      return { path: issue.path, text: `expected a number >= ${issue.minimum}` };
    case 'too_big':
      return { path: issue.path, text: `expected at most ${issue.maximum}` };
    case 'invalid_key': {
      // A mapping (record) key that breaks a rule: say what a key must look like, at the key's own path, not "Invalid key in record".
      const inner = issue.issues[0];
      return { path: issue.path, text: inner ? describeIssue(inner).text : issue.message };
    }
    case 'invalid_union': {
      const nested = issue.errors.flat();
      if (nested.length > 0) {
        // Report the alternative that got furthest (deepest path) — usually what the user meant.
        const best = [...nested].sort((a, b) => b.path.length - a.path.length)[0]!;
        const inner = describeIssue(best);
        return { path: [...issue.path, ...inner.path], text: inner.text };
      }
      return { path: issue.path, text: issue.message };
    }
    default:
      return { path: issue.path, text: issue.message.replace(/^Invalid input: /, '') };
  }
}

/** Parses `data` with `schema` or throws a one-line UserError `where: key.path: what was expected`. */
export function parseOrThrow<T extends z.ZodType>(schema: T, data: unknown, where: string): z.output<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const first = describeIssue(result.error.issues[0]!);
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem(s))` : '';
  throw new UserError(`${where}: ${formatPath(first.path)}: ${first.text}${more}`);
}
