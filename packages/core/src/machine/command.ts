import fs from 'node:fs';
import path from 'node:path';
import { InfraError, UserError } from '../errors.js';

export interface CommandOptions {
  /** Each complete output line (stdout and stderr), as it arrives. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
  stdin?: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program of this machine from an argument vector (never through a shell). Aborting kills
 * its whole process group. A missing program is a one-line error naming it.
 */
export async function runCommand(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const { execa } = await import('execa');
  const [file, ...args] = argv;
  const child = execa(file!, args, {
    reject: false,
    input: options.stdin ?? '',
    env: options.env,
    detached: true,
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  options.signal?.addEventListener('abort', kill, { once: true });
  if (options.onLine) {
    const out = splitLines(options.onLine);
    const err = splitLines(options.onLine);
    child.stdout?.on('data', (b: Buffer) => out.push(b.toString('utf8')));
    child.stderr?.on('data', (b: Buffer) => err.push(b.toString('utf8')));
    child.on('exit', () => {
      out.flush();
      err.flush();
    });
  }
  try {
    const result = await child;
    if (result.failed && result.exitCode === undefined && !result.signal) {
      const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT') throw new UserError(`${file}: command not found`);
      throw new InfraError(`${file}: ${result.shortMessage}`);
    }
    return { code: result.exitCode ?? 128, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  } finally {
    options.signal?.removeEventListener('abort', kill);
  }
}

/** Runs a program and fails with its last line of stderr when it exits non-zero. */
export async function runChecked(argv: readonly string[], options: CommandOptions = {}): Promise<string> {
  const result = await runCommand(argv, options);
  if (result.code !== 0) {
    const last = `${result.stderr}\n${result.stdout}`.trim().split('\n').filter(Boolean).pop() ?? '';
    throw new InfraError(`${argv.join(' ')} exited ${result.code}${last ? `: ${last}` : ''}`);
  }
  return result.stdout;
}

/** Starts a long-lived program in its own session with its output in a file; returns its pid. */
export async function spawnDetached(argv: readonly string[], logFile: string): Promise<number> {
  const { spawn } = await import('node:child_process');
  const out = fs.openSync(logFile, 'a');
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, out] });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new UserError(`${argv[0]}: command not found`) : err));
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    return pid;
  } finally {
    fs.closeSync(out);
  }
}

/** Feeds chunks, calls `onLine` for every complete line; `flush` emits a trailing partial line. */
export function splitLines(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let rest = '';
  return {
    push(chunk) {
      const parts = (rest + chunk).split(/\r?\n|\r/);
      rest = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) onLine(line);
    },
    flush() {
      if (rest.trim()) onLine(rest);
      rest = '';
    },
  };
}

/** The program's path on PATH (plus the sbin directories root uses), or undefined: a check without a process. */
export function findProgram(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  const dirs = [...searchPath.split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}
