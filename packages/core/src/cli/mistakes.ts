import type { Hook } from '../oclif.js';

/** The parts of oclif's parse errors (CLIParseError and its subclasses) that say what was wrong. */
export interface ParseErrorLike {
  message: string;
  parse?: unknown;
  flags?: string[];
  args?: Array<string | { name?: string }>;
  constructor: { name: string };
}

/** oclif's parse errors carry the parser's input; nothing else does. */
export function asParseError(err: unknown): ParseErrorLike | undefined {
  return err instanceof Error && (err as { parse?: unknown }).parse !== undefined ? (err as ParseErrorLike) : undefined;
}

/** A command id as users type it (`jobs:show` → `jobs show`). */
export const spokenId = (id: string): string => id.split(':').join(' ');

/**
 * Pure: one line for a mistyped command line (an unknown flag, a missing or extra argument,
 * a bad value), naming the command and where its help is, instead of oclif's usage dump.
 */
export function parseErrorLine(err: ParseErrorLike, bin: string, commandId: string): string {
  const command = spokenId(commandId);
  const see = `(see: ${bin}${command ? ` ${command}` : ''} --help)`;
  const what = (() => {
    switch (err.constructor.name) {
      case 'NonExistentFlagsError':
        return `unknown flag${(err.flags ?? []).length === 1 ? '' : 's'} ${(err.flags ?? []).join(', ')}`;
      case 'UnexpectedArgsError':
        return `unexpected argument${(err.args ?? []).length === 1 ? '' : 's'} ${(err.args ?? []).map((a) => JSON.stringify(String(a))).join(', ')}`;
      case 'RequiredArgsError': {
        const names = (err.args ?? []).map((a) => (typeof a === 'string' ? a : (a.name ?? '')).toUpperCase()).filter(Boolean);
        return `missing argument${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
      }
      default:
        return err.message
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && l !== 'See more help with --help' && l !== 'The following error occurred:' && l !== 'The following errors occurred:')
          .join('; ');
    }
  })();
  return `${command ? `${command}: ` : ''}${what} ${see}`;
}

/** Levenshtein distance, for suggesting the command a typo meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * Pure: the line for an unknown command. oclif reads words after a command that takes no
 * arguments as part of its name, so a known command at the front means extra arguments.
 */
export function unknownCommandLine(id: string, known: readonly string[], bin: string): string {
  const words = id.split(/[: ]/);
  for (let n = words.length - 1; n > 0; n--) {
    const prefix = words.slice(0, n).join(':');
    if (known.includes(prefix)) {
      const extra = words.slice(n);
      const command = spokenId(prefix);
      return `${command}: unexpected argument${extra.length === 1 ? '' : 's'} ${extra.map((a) => JSON.stringify(a)).join(', ')} (see: ${bin} ${command} --help)`;
    }
  }
  const typed = words.join(' ');
  const best = known.map((k) => ({ k: spokenId(k), d: distance(typed, spokenId(k)) })).sort((x, y) => x.d - y.d)[0];
  const hint = best && best.d <= Math.max(2, Math.floor(typed.length / 3)) ? `; did you mean "${best.k}"?` : '';
  return `no command "${typed}"${hint} (see: ${bin} --help)`;
}

/** oclif's `command_not_found` hook for the three CLIs: one line on stderr and exit status 1, no stack. */
export const commandNotFound: Hook<'command_not_found'> = async function (options) {
  const bin = options.config.bin;
  process.stderr.write(`${bin}: error: ${unknownCommandLine(options.id, options.config.commandIDs, bin)}\n`);
  process.exitCode = 1;
};
