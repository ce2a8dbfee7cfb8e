import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import pLimit from 'p-limit';
import type { AgentAuthMethod, Client, ClientChannel, ConnectConfig, PublicKeyAuthMethod, SFTPWrapper } from 'ssh2';
import { InfraError, UserError } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { homeDir, type Env } from '../paths.js';
import type { ExecOptions, ExecResult } from './exec.js';
import { fingerprint, hostKeyAlgorithmsForTrust, hostKeyRefusal, judgeHostKey, type HostKeyJudgement, type HostKeyTrust } from './host-key-policy.js';
import { pinHostKey } from './known-hosts.js';
import { mkdirRemote, sftpCall } from './sftp.js';

const ssh2 = lazyRequire<typeof import('ssh2')>('ssh2');

/** Exit code reported for a command stopped by its timeout (as timeout(1) does). */
export const SSH_TIMEOUT_EXIT_CODE = 124;

/** Where and as whom to connect, and how to trust the host's key. */
export interface SshTarget extends HostKeyTrust {
  address: string;
  port: number;
  user: string;
  /** Private key file; without one (or `privateKey`), the SSH agent ($SSH_AUTH_SOCK), then ~/.ssh/id_ed25519, id_ecdsa, id_rsa are tried. */
  identityFile?: string;
  /** The private key itself, instead of a file. */
  privateKey?: Buffer | string;
  passphrase?: string;
  /** Told the fingerprint of every unknown key accepted (so the user hears of it each time). */
  onUnknownKeyAccepted?: (fingerprint: string) => void;
  /** Where an accepted unknown key is pinned (a known_hosts file of the group). */
  pinFile?: string;
  /** Name used in messages (the host's name in its group). */
  label?: string;
}

export interface SshConnectOptions {
  /** Handshake timeout of one attempt. */
  readyTimeoutMs?: number;
  keepaliveMs?: number;
  /** Keepalives left unanswered before the connection is given up (default 4). */
  keepaliveCountMax?: number;
  env?: Env;
  /** Stops a connect in progress. */
  signal?: AbortSignal;
  /** Concurrent channels on this connection (sshd's MaxSessions defaults to 10). */
  maxChannels?: number;
}

/** The host presented a key we must not trust; never retried. */
export class HostKeyError extends InfraError {
  constructor(
    message: string,
    readonly judgement?: Exclude<HostKeyJudgement, { ok: true }>,
    readonly key?: Buffer,
  ) {
    super(message);
  }
}

/** The server refused every key we offered; the host may still be installing it. */
export class SshAuthError extends InfraError {}

export function targetLabel(target: Pick<SshTarget, 'label' | 'user' | 'address' | 'port'>): string {
  const where = `${target.user}@${target.address}:${target.port}`;
  return target.label ? `host ${target.label} (${where})` : where;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * What to log in with, in the order OpenSSH tries it: the key given (`privateKey` or `identityFile`)
 * alone; else every key of the SSH agent, then ~/.ssh/id_ed25519, id_ecdsa and id_rsa.
 */
export function loginCredentials(target: SshTarget, env: Env): Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'authHandler'> {
  if (target.privateKey !== undefined) return { privateKey: target.privateKey, passphrase: target.passphrase };
  if (target.identityFile) {
    const file = target.identityFile.startsWith('~/') ? path.join(homeDir(env), target.identityFile.slice(2)) : target.identityFile;
    try {
      return { privateKey: fs.readFileSync(file), passphrase: target.passphrase };
    } catch (err) {
      throw new UserError(`${targetLabel(target)}: cannot read identity file ${file} (${(err as NodeJS.ErrnoException).code ?? err})`, {
        hint: 'check identityFile in the group definition',
      });
    }
  }
  const username = target.user;
  const methods: Array<AgentAuthMethod | PublicKeyAuthMethod> = [];
  if (env.SSH_AUTH_SOCK) methods.push({ type: 'agent', username, agent: env.SSH_AUTH_SOCK });
  for (const name of DEFAULT_KEYS) {
    const file = path.join(homeDir(env), '.ssh', name);
    if (fs.existsSync(file)) methods.push({ type: 'publickey', username, key: fs.readFileSync(file) });
  }
  if (methods.length === 0) {
    throw new UserError(`${targetLabel(target)}: no identity file, SSH agent or ~/.ssh/id_* key to log in with`, {
      hint: 'set identityFile in the group definition',
    });
  }
  return { authHandler: methods };
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
    const credentials = loginCredentials(target, options.env ?? process.env);
    const algorithms = hostKeyAlgorithmsForTrust(target, target.address, target.port);
    return new Promise((resolve, reject) => {
      const client = new (ssh2().Client)();
      const verifier = hostKeyVerifier(target);
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        if (!err) return resolve(new SshConnection(target, client, options.maxChannels ?? 8));
        client.destroy();
        reject(err);
      };
      const onAbort = (): void => settle(new InfraError(`${targetLabel(target)}: connection aborted`));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => settle());
      // `on`, not `once`: a refused handshake can be followed by more socket errors (a reset),
      // and an error event with no listener would crash the whole process.
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        // An agent that cannot be reached is skipped: ssh2 goes on to the key files.
        if (err.level === 'agent') return;
        settle(verifier.problem() ?? connectError(target, err));
      });
      client.once('close', () => settle(verifier.problem() ?? new InfraError(`${targetLabel(target)}: connection closed during the handshake`)));
      client.connect({
        host: target.address,
        port: target.port,
        username: target.user,
        ...credentials,
        hostVerifier: verifier.verify,
        readyTimeout: options.readyTimeoutMs ?? 20_000,
        keepaliveInterval: options.keepaliveMs ?? 15_000,
        keepaliveCountMax: options.keepaliveCountMax ?? 4,
        ...(algorithms ? { algorithms: { serverHostKey: algorithms as never } } : {}),
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
    const label = targetLabel(this.target);
    return new Promise<ExecResult>((resolve, reject) => {
      if (this.ended) return reject(new InfraError(`${label}: SSH connection is closed`));
      this.client.exec(command, (err, stream: ClientChannel) => {
        if (err) return reject(new InfraError(`${label}: cannot open a channel: ${err.message}`, { cause: err }));
        runOnChannel(stream, options, label).then(resolve, reject);
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

/** Streams a command's output, stops it on timeout or abort, and reads its end: exit code, signal or a lost connection. */
function runOnChannel(stream: ClientChannel, options: ExecOptions, label: string): Promise<ExecResult> {
  const started = Date.now();
  const stdout = decodedOutput(options.onStdout);
  const stderr = decodedOutput(options.onStderr);
  let code: number | undefined;
  let signal: string | undefined;
  let timedOut = false;
  const stop = (): void => {
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
  stream.on('data', stdout.write);
  stream.stderr.on('data', stderr.write);
  stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
    if (typeof exitCode === 'number') code = exitCode;
    else if (exitSignal) signal = exitSignal;
  });
  if (options.stdin !== undefined) stream.end(options.stdin);
  else stream.end();
  return new Promise((resolve, reject) =>
    stream.on('close', () => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
      const output = { stdout: stdout.end(), stderr: stderr.end(), durationMs: Date.now() - started };
      if (timedOut) return resolve({ code: SSH_TIMEOUT_EXIT_CODE, signal, ...output, timedOut: true });
      if (code === undefined && signal === undefined) {
        if (options.signal?.aborted) return resolve({ code: 130, ...output });
        return reject(new InfraError(`${label}: SSH connection lost while running a command`));
      }
      resolve({ code: code ?? 128, signal, ...output });
    }),
  );
}

/** UTF-8 decoded as it arrives (a character may be split between packets), passed on and kept whole. */
function decodedOutput(onText?: (text: string) => void): { write: (chunk: Buffer) => void; end: () => string } {
  const decoder = new StringDecoder('utf8');
  let all = '';
  const take = (text: string): void => {
    all += text;
    if (text) onText?.(text);
  };
  return { write: (chunk) => take(decoder.write(chunk)), end: () => (take(decoder.end()), all) };
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

/** Checks the key the host presents under the target's policy; pins and announces an unknown key accepted on request. */
function hostKeyVerifier(target: SshTarget): { verify: (key: Buffer) => boolean; problem: () => HostKeyError | undefined } {
  let refused: HostKeyError | undefined;
  const verify = (key: Buffer): boolean => {
    const judgement = judgeHostKey(target, target.address, target.port, key);
    if (judgement.ok) {
      if (judgement.how === 'accepted-unknown') {
        if (target.pinFile) pinHostKey(target.pinFile, target.address, target.port, key);
        target.onUnknownKeyAccepted?.(fingerprint(key));
      }
      return true;
    }
    refused = new HostKeyError(hostKeyRefusal(judgement, target, targetLabel(target), target.address, target.port), judgement, key);
    return false;
  };
  return { verify, problem: () => refused };
}

function connectError(target: SshTarget, err: Error & { level?: string; code?: string }): InfraError {
  const message = `${targetLabel(target)}: ${describeConnectError(err)}`;
  return err.level === 'client-authentication' ? new SshAuthError(message, { cause: err }) : new InfraError(message, { cause: err });
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
