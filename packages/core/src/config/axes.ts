import { UserError } from '../errors.js';

/** One combination of a template's axis values, e.g. `{ database: 'postgresql', hypervisor: 'qemu' }`. */
export type Configuration = Record<string, string>;

/** Axis names become Puppet facts and environment variable names: lower-case words. */
export const AXIS_NAME = /^[a-z][a-z0-9_]*$/;
/** Axis values become labels, facts and variables: one word each. */
export const AXIS_VALUE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** More combinations than this is a typo or an accident, not a test matrix. */
export const MAX_COMBINATIONS = 64;

/** Whether an exclusion (a partial combination) matches a combination: every value it names is the combination's. */
export function excludes(exclusion: Configuration, combination: Configuration): boolean {
  return Object.entries(exclusion).every(([axis, value]) => combination[axis] === value);
}

/**
 * Every combination of the axes' values (the first axis varying slowest), minus those an exclusion
 * matches. No axes: one empty combination, so a template without axes is one job as before. Pure.
 */
export function combinations(axes: Readonly<Record<string, readonly string[]>>, exclude: readonly Configuration[] = []): Configuration[] {
  let out: Configuration[] = [{}];
  for (const [axis, values] of Object.entries(axes)) {
    out = out.flatMap((partial) => values.map((value) => ({ ...partial, [axis]: value })));
  }
  return out.filter((combination) => !exclude.some((exclusion) => excludes(exclusion, combination)));
}

/** The axis pairs sorted by name: a stored record reads the same whatever order its keys come back in. */
export function sortedPairs(configuration: Configuration | undefined): Array<[string, string]> {
  return Object.entries(configuration ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `database=postgresql, hypervisor=qemu`; empty for a job without axes. */
export function configurationLabel(configuration: Configuration | undefined): string {
  // Most jobs have no axes: no arrays to make for them (a report labels 20,000 jobs).
  if (!configuration) return '';
  return sortedPairs(configuration)
    .map(([axis, value]) => `${axis}=${value}`)
    .join(', ');
}

/** Whether two combinations are the same (absent and empty are). */
export function sameConfiguration(a: Configuration | undefined, b: Configuration | undefined): boolean {
  return configurationLabel(a) === configurationLabel(b);
}

/** `--axis database=postgresql`: one axis and its value. */
export function parseAxisSpec(text: string, where = '--axis'): [string, string] {
  const eq = text.indexOf('=');
  const axis = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (eq <= 0 || !AXIS_NAME.test(axis) || !AXIS_VALUE.test(value)) {
    throw new UserError(`${where} ${JSON.stringify(text)}: expected AXIS=VALUE`, { hint: 'e.g. --axis database=postgresql' });
  }
  return [axis, value];
}

export interface AxesDefinition {
  axes: Readonly<Record<string, readonly string[]>>;
  exclude: readonly Configuration[];
}

/**
 * The combination a run asked for with `--axis` (axes not named take the first value that gives an
 * allowed combination), or a one-line error naming what is unknown or excluded. Pure.
 */
export function chooseConfiguration(template: string, definition: AxesDefinition, given: Configuration): Configuration {
  const declared = Object.keys(definition.axes);
  for (const [axis, value] of Object.entries(given)) {
    const values = definition.axes[axis];
    if (!values) {
      throw new UserError(`--axis ${axis}=${value}: template ${template} has no axis "${axis}"`, {
        hint: declared.length ? `axes: ${declared.join(', ')}` : 'the template declares no axes',
      });
    }
    if (!values.includes(value)) throw new UserError(`--axis ${axis}=${value}: not a value of axis ${axis} of template ${template}`, { hint: `values: ${values.join(', ')}` });
  }
  const match = combinations(definition.axes, definition.exclude).find((c) => excludes(given, c));
  if (!match) throw new UserError(`--axis ${configurationLabel(given)}: template ${template} excludes that combination`);
  return match;
}
