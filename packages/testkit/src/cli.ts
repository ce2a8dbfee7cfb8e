import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
