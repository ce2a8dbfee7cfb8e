import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import pLimit from 'p-limit';
import type { Client, ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { InfraError, UserError } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { homeDir, type Env } from '../paths.js';
import { fingerprint } from '../gerrit/hostkey.js';
import type { ExecOptions, ExecResult } from './exec.js';
import { mkdirRemote, sftpCall } from './sftp.js';
import { checkHostKey, hostKeyAlgorithmsFor, knownHostsName, knownKeyTypes, pinHostKey } from './known-hosts.js';

const ssh2 = lazyRequire<typeof import('ssh2')>('ssh2');

/** Exit code reported for a command stopped by its timeout (as timeout(1) does). */
export const SSH_TIMEOUT_EXIT_CODE = 124;

/** Where and as whom to connect, and how to trust the host's key. */
export interface SshTarget {
  address: string;
  port: number;
  user: string;
  /** Private key file; without one, the SSH agent ($SSH_AUTH_SOCK) or ~/.ssh/id_* are tried. */
  identityFile?: string;
  /** known_hosts files checked in order (StrictHostKeyChecking=yes semantics). */
  knownHostsFiles: string[];
  /** Accept a host key no file knows, pinning it to `pinFile` (never the default). */
  acceptUnknownHostKeys?: boolean;
  /** Told the fingerprint of every unknown key accepted (so the user hears of it each time). */
  onUnknownKeyAccepted?: (fingerprint: string) => void;
  pinFile?: string;
  /** Name used in messages (the host's name in its group). */
  label?: string;
}

export interface SshConnectOptions {
  /** Handshake timeout of one attempt. */
  readyTimeoutMs?: number;
  keepaliveMs?: number;
  env?: Env;
  /** Concurrent channels on this connection (sshd's MaxSessions defaults to 10). */
  maxChannels?: number;
}

/** The host presented a key we must not trust; never retried. */
export class HostKeyError extends InfraError {
  constructor(message: string) {
    super(message);
  }
}

export function targetLabel(target: Pick<SshTarget, 'label' | 'user' | 'address' | 'port'>): string {
  const where = `${target.user}@${target.address}:${target.port}`;
  return target.label ? `host ${target.label} (${where})` : where;
}

function loadPrivateKey(target: SshTarget, env: Env): Pick<ConnectConfig, 'privateKey' | 'agent'> {
  if (target.identityFile) {
    const file = target.identityFile.startsWith('~/') ? path.join(homeDir(env), target.identityFile.slice(2)) : target.identityFile;
    try {
      return { privateKey: fs.readFileSync(file) };
    } catch (err) {
      throw new UserError(`${targetLabel(target)}: cannot read identity file ${file} (${(err as NodeJS.ErrnoException).code ?? err})`, {
        hint: 'check identityFile in the group definition',
      });
    }
  }
  if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK };
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const file = path.join(homeDir(env), '.ssh', name);
    if (fs.existsSync(file)) return { privateKey: fs.readFileSync(file) };
  }
  throw new UserError(`${targetLabel(target)}: no identity file, SSH agent or ~/.ssh/id_* key to log in with`, {
    hint: 'set identityFile in the group definition',
  });
}

/**
 * One SSH connection (ssh2) to one host: many commands and file transfers share it, a few
 * channels at a time. Host keys are verified against known_hosts before anything is sent.
 */
export class SshConnection {
  private sftpSession?: Promise<SFTPWrapper>;
  private ended = false;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly closeListeners: Array<() => void> = [];

  private constructor(
    readonly target: SshTarget,
    private readonly client: Client,
    maxChannels: number,
  ) {
    this.limit = pLimit(maxChannels);
    client.on('close', () => {
      this.ended = true;
      for (const listener of this.closeListeners) listener();
    });
    client.on('error', () => {
      this.ended = true;
    });
  }

  /** Opens one connection (one attempt). Host-key problems throw HostKeyError; the rest InfraError. */
  static open(target: SshTarget, options: SshConnectOptions = {}): Promise<SshConnection> {
    const env = options.env ?? process.env;
    const auth = loadPrivateKey(target, env);
    const types = knownKeyTypes(target.knownHostsFiles, target.address, target.port);
    return new Promise((resolve, reject) => {
      const client = new (ssh2().Client)();
      let keyProblem: HostKeyError | undefined;
      const hostVerifier = (key: Buffer): boolean => {
        const verdict = checkHostKey(target.knownHostsFiles, target.address, target.port, key);
        if (verdict.status === 'match') return true;
        if (verdict.status === 'unknown' && target.acceptUnknownHostKeys) {
          if (target.pinFile) pinHostKey(target.pinFile, target.address, target.port, key);
          target.onUnknownKeyAccepted?.(fingerprint(key));
          return true;
        }
        const name = knownHostsName(target.address, target.port);
        keyProblem =
          verdict.status === 'mismatch'
            ? new HostKeyError(
                `${targetLabel(target)}: HOST KEY MISMATCH: the key presented differs from ${verdict.entries[0]!.file}:${verdict.entries[0]!.line}; refusing to connect (remove the stale line if the host was rebuilt)`,
              )
            : verdict.status === 'revoked'
              ? new HostKeyError(`${targetLabel(target)}: the host key is revoked in ${verdict.entry.file}:${verdict.entry.line}`)
              : new HostKeyError(
                  `${targetLabel(target)}: unknown host key for ${name} (checked ${target.knownHostsFiles.join(', ') || 'no known_hosts file'}); add it with ssh-keyscan or pass --insecure-accept-host-keys`,
                );
        return false;
      };
      let settled = false;
      client.once('ready', () => {
        settled = true;
        resolve(new SshConnection(target, client, options.maxChannels ?? 8));
      });
      // `on`, not `once`: a refused handshake can be followed by more socket errors (a reset),
      // and an error event with no listener would crash the whole process.
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (settled) return;
        settled = true;
        client.destroy();
        if (keyProblem) return reject(keyProblem);
        reject(new InfraError(`${targetLabel(target)}: ${describeConnectError(err)}`, { cause: err }));
      });
      client.once('close', () => {
        if (settled) return;
        settled = true;
        reject(keyProblem ?? new InfraError(`${targetLabel(target)}: connection closed during the handshake`));
      });
      client.connect({
        host: target.address,
        port: target.port,
        username: target.user,
        ...auth,
        hostVerifier,
        readyTimeout: options.readyTimeoutMs ?? 20_000,
        keepaliveInterval: options.keepaliveMs ?? 15_000,
        keepaliveCountMax: 4,
        ...(types.length > 0 ? { algorithms: { serverHostKey: hostKeyAlgorithmsFor(types) as never } } : {}),
      });
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** Runs one command line (already quoted for the remote shell) on its own channel. */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.limit(() => this.execNow(command, options));
  }

  private execNow(command: string, options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    return new Promise<ExecResult>((resolve, reject) => {
      if (this.ended) return reject(new InfraError(`${targetLabel(this.target)}: SSH connection is closed`));
      this.client.exec(command, (err, stream: ClientChannel) => {
        if (err) return reject(new InfraError(`${targetLabel(this.target)}: cannot open a channel: ${err.message}`, { cause: err }));
        const out = new StringDecoder('utf8');
        const errDecoder = new StringDecoder('utf8');
        let stdout = '';
        let stderr = '';
        let code: number | undefined;
        let signal: string | undefined;
        let timedOut = false;
        const stop = () => {
          sendSignal(stream, 'KILL');
          stream.close();
        };
        const timer = options.timeoutMs
          ? setTimeout(() => {
              timedOut = true;
              stop();
            }, options.timeoutMs)
          : undefined;
        options.signal?.addEventListener('abort', stop, { once: true });
        stream.on('data', (chunk: Buffer) => {
          const text = out.write(chunk);
          stdout += text;
          if (text) options.onStdout?.(text);
        });
        stream.stderr.on('data', (chunk: Buffer) => {
          const text = errDecoder.write(chunk);
          stderr += text;
          if (text) options.onStderr?.(text);
        });
        stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
          if (typeof exitCode === 'number') code = exitCode;
          else if (exitSignal) signal = exitSignal;
        });
        stream.on('close', () => {
          if (timer) clearTimeout(timer);
          options.signal?.removeEventListener('abort', stop);
          const tailOut = out.end();
          const tailErr = errDecoder.end();
          if (tailOut) options.onStdout?.(tailOut);
          if (tailErr) options.onStderr?.(tailErr);
          stdout += tailOut;
          stderr += tailErr;
          const durationMs = Date.now() - started;
          if (timedOut) return resolve({ code: SSH_TIMEOUT_EXIT_CODE, signal, stdout, stderr, durationMs, timedOut: true });
          if (code === undefined && signal === undefined) {
            if (options.signal?.aborted) return resolve({ code: 130, stdout, stderr, durationMs });
            return reject(new InfraError(`${targetLabel(this.target)}: SSH connection lost while running a command`));
          }
          resolve({ code: code ?? 128, signal, stdout, stderr, durationMs });
        });
        if (options.stdin !== undefined) stream.end(options.stdin);
        else stream.end();
      });
    });
  }

  /** The connection's SFTP session (opened on first use, shared by every transfer). */
  sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.client.sftp((err, sftp) => {
        if (err) {
          this.sftpSession = undefined;
          return reject(new InfraError(`${targetLabel(this.target)}: cannot start SFTP: ${err.message}`, { cause: err }));
        }
        sftp.on('close', () => (this.sftpSession = undefined));
        resolve(sftp);
      });
    });
    return this.sftpSession;
  }

  /** Copies a local file or directory (recursively) to `remotePath` over SFTP. */
  async upload(localPath: string, remotePath: string): Promise<void> {
    const sftp = await this.sftp();
    const stat = fs.statSync(localPath, { throwIfNoEntry: false });
    if (!stat) throw new UserError(`upload to ${targetLabel(this.target)}: ${localPath} does not exist`);
    await mkdirRemote(sftp, path.posix.dirname(remotePath));
    await this.uploadPath(sftp, localPath, remotePath, stat.isDirectory());
  }

  private async uploadPath(sftp: SFTPWrapper, local: string, remote: string, isDir: boolean): Promise<void> {
    if (!isDir) {
      const mode = fs.statSync(local).mode & 0o777;
      await sftpCall<void>((cb) => sftp.fastPut(local, remote, { mode }, cb), `upload ${local} to ${targetLabel(this.target)}:${remote}`);
      return;
    }
    await mkdirRemote(sftp, remote);
    for (const entry of fs.readdirSync(local, { withFileTypes: true })) {
      await this.uploadPath(sftp, path.join(local, entry.name), path.posix.join(remote, entry.name), entry.isDirectory());
    }
  }

  /** Copies a remote file or directory (recursively) to `localPath` over SFTP. */
  async download(remotePath: string, localPath: string): Promise<void> {
    const sftp = await this.sftp();
    const stat = await sftpCall<{ isDirectory(): boolean }>((cb) => sftp.stat(remotePath, cb), `download ${targetLabel(this.target)}:${remotePath}`);
    fs.mkdirSync(path.dirname(localPath), { recursive: true });
    await this.downloadPath(sftp, remotePath, localPath, stat.isDirectory());
  }

  private async downloadPath(sftp: SFTPWrapper, remote: string, local: string, isDir: boolean): Promise<void> {
    if (!isDir) {
      await sftpCall<void>((cb) => sftp.fastGet(remote, local, cb), `download ${targetLabel(this.target)}:${remote}`);
      const attrs = await sftpCall<{ mode: number }>((cb) => sftp.stat(remote, cb), `stat ${targetLabel(this.target)}:${remote}`);
      fs.chmodSync(local, attrs.mode & 0o777);
      return;
    }
    fs.mkdirSync(local, { recursive: true });
    const entries = await sftpCall<Array<{ filename: string; attrs: { isDirectory(): boolean } }>>(
      (cb) => sftp.readdir(remote, cb as never),
      `list ${targetLabel(this.target)}:${remote}`,
    );
    for (const entry of entries) {
      await this.downloadPath(sftp, path.posix.join(remote, entry.filename), path.join(local, entry.filename), entry.attrs.isDirectory());
    }
  }

  async close(): Promise<void> {
    if (this.ended) return;
    await new Promise<void>((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
      setTimeout(resolve, 2000).unref();
    });
    this.ended = true;
  }
}

/**
 * Sends a "signal" channel request; sshd delivers it to the command's whole process group.
 * ssh2's own `signal()` refuses once stdin is closed, which ours always is, so use its protocol directly.
 */
function sendSignal(stream: ClientChannel, name: string): void {
  const channel = stream as unknown as { outgoing?: { id: number; state: string }; _client?: { _protocol?: { signal(id: number, name: string): void } } };
  try {
    if (channel.outgoing && ['open', 'eof'].includes(channel.outgoing.state)) channel._client?._protocol?.signal(channel.outgoing.id, name);
  } catch {
    // the server may not support signals; closing the channel still frees it on our side
  }
}

/** Words for a failed connect attempt: what a user can act on. */
export function describeConnectError(err: Error & { code?: string; level?: string }): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused (sshd not listening yet?)';
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return 'host unreachable';
  if (err.code === 'ETIMEDOUT' || /Timed out while waiting for handshake/.test(err.message)) return 'timed out waiting for the SSH handshake';
  if (err.level === 'client-authentication' || /authentication methods failed/.test(err.message)) return 'authentication refused';
  if (/Cannot parse privateKey|Encrypted private OpenSSH key/.test(err.message)) return `unusable private key: ${err.message}`;
  return err.message;
}

/** Whether a failed connect may succeed later (booting host: port closed, auth refused, handshake timeout). */
export function isRetryableConnectError(err: unknown): boolean {
  if (err instanceof HostKeyError || err instanceof UserError) return false;
  const cause = (err as { cause?: Error & { code?: string; level?: string } }).cause;
  if (!cause) return /connection closed during the handshake/.test(String((err as Error).message));
  if (/unusable private key/.test((err as Error).message)) return false;
  return true;
}
