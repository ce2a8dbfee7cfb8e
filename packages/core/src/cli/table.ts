import type Table from 'cli-table3';
import { lazyRequire } from '../lazy.js';
import { printable } from '../log/terminal.js';

// Only tables for people need it: --json and the comment text never load the table library.
const cliTable = lazyRequire<typeof Table>('cli-table3');

/** A plain table for people; `--json` callers get the data instead. Cells from outside lose their control characters. */
export function renderTable(head: string[], rows: Array<Array<string | number | undefined>>, options: { color?: boolean } = {}): string {
  const CliTable = cliTable();
  const table = new CliTable({
    head,
    style: { head: options.color === false ? [] : ['cyan'], border: options.color === false ? [] : ['grey'], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of rows) table.push(row.map((cell) => (cell === undefined ? '' : printable(String(cell)))));
  return table.toString();
}

/** "3m 20s" style durations for tables and comments. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** "5m ago" relative ages for tables. */
export function formatAge(iso: string | undefined, now: Date): string {
  if (!iso) return '';
  const ms = now.getTime() - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return '';
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))}s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h ago`;
  return `${Math.round(ms / 86_400_000)}d ago`;
}
