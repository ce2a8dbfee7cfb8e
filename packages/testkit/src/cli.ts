import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { shellJoin } from '@smokestack/core';

export type CliName = 'bellows' | 'firestack' | 'reviewday';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = unknown>(): T;
}

/** The repository root (testkit lives in packages/testkit/{src,dist}). */
export function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** The built entry point of one of the CLIs. */
export function cliBin(name: CliName): string {
  return path.join(repoRoot(), 'packages', name, 'bin', 'run.js');
}

/** Runs a built CLI as a user would, without a TTY; never throws on a non-zero exit. */
export function runCli(
  name: CliName,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number; onStderr?: (chunk: string) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin(name), ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      options.onStderr?.(c);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`${name} ${args.join(' ')} did not print JSON:\n${stdout}\n${stderr}`);
          }
        },
      });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface TerminalResult {
  code: number | null;
  /** Everything the terminal received (stdout and stderr together), escape sequences included. */
  raw: string;
  /** The same with escape sequences and carriage returns removed. */
  text: string;
}

/**
 * Runs a built CLI on a pseudo-terminal of the given size, as a user at a terminal would
 * (util-linux `script` provides the terminal).
 */
export function runCliOnTerminal(
  name: CliName,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; columns?: number; rows?: number; timeoutMs?: number } = {},
): Promise<TerminalResult> {
  const command = `stty cols ${options.columns ?? 120} rows ${options.rows ?? 40}; exec ${shellJoin([process.execPath, cliBin(name), ...args])}`;
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, TERM: 'xterm-256color', ...options.env };
    delete env.NO_COLOR;
    delete env.CI;
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
    let raw = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (raw += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex
      const text = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
      resolve({ code, raw, text });
    });
    child.stdin.end();
  });
}

/** A subject or log line as a hostile uploader writes it: retitles the terminal, clears it, hides text, reorders it. */
export const HOSTILE_TEXT = 'Fix \u001b]0;pwned\u0007title \u001b[2J\u001b[8mhidden\u001b[0m \u009b31mred\rover \u202eesrever\u0000';

/** Escape and control characters left in terminal output once colour codes (and a terminal's CR LF) are taken out. */
export function foreignControls(raw: string): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = raw.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r\n/g, '\n');
  // eslint-disable-next-line no-control-regex
  return [...plain.matchAll(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g)].map((m) => JSON.stringify(m[0]));
}
