import type { Host } from '../model.js';

/** How to run one command on a host. */
export interface ExecOptions {
  /** Kill the command and fail with a timeout after this long. */
  timeoutMs?: number;
  /** Streamed output, as it arrives. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  stdin?: string;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut?: boolean;
}

/** A way to run scripts on, and move files to and from, one host of a group. */
export interface HostConnection {
  readonly host: Host;
  /** Runs a POSIX sh script (already rendered and quoted) on the host. */
  exec(script: string, options?: ExecOptions): Promise<ExecResult>;
  upload(localPath: string, remotePath: string): Promise<void>;
  download(remotePath: string, localPath: string): Promise<void>;
  close(): Promise<void>;
}
