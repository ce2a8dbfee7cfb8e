import fs from 'node:fs';
import path from 'node:path';
import { InfraError, UserError, errorMessage } from '../errors.js';
import type { GerritConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Change } from '../model.js';
import { homeDir, type Env } from '../paths.js';
import { HostKeyError, SshAuthError, SshConnection, type SshTarget } from '../ssh/connection.js';
import { gerritHostKeyReason, hostKeyTrust, type HostKeyPolicy } from './hostkey.js';
import { changeFromSsh } from './map.js';
import type { SshChange } from './wire.js';

export interface GerritSshOptions {
  host: string;
  port: number;
  username: string;
  /** The key to log in with; without one, the SSH agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa (as for server groups). */
  privateKey?: Buffer | string;
  passphrase?: string;
  /** An ssh-agent socket (default $SSH_AUTH_SOCK), used when no private key is given. */
  agent?: string;
  /** Where $HOME and $SSH_AUTH_SOCK come from (default: this process's environment). */
  env?: Env;
  hostKeyPolicy: HostKeyPolicy;
  keepaliveMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
  logger?: Logger;
}

export interface SshFromConfigOptions {
  env?: Env;
  /** Accept any host key (only when the user explicitly asks). */
  insecureAcceptHostKey?: boolean;
  logger?: Logger;
}

/** SSH settings from the `gerrit:` config: host defaults to the web URL's host, user to gerrit.username. */
export function sshOptionsFromConfig(gerrit: GerritConfig, options: SshFromConfigOptions = {}): GerritSshOptions {
  const env = options.env ?? process.env;
  const ssh = gerrit.ssh;
  const host = ssh?.host ?? new URL(gerrit.url).hostname;
  const port = ssh?.port ?? 29418;
  const username = ssh?.username ?? gerrit.username;
  if (!username) {
    throw new UserError('smokestack.yaml: gerrit.ssh.username: no SSH user for Gerrit', { hint: 'set gerrit.ssh.username or gerrit.username' });
  }
  const sshDir = path.join(homeDir(env), '.ssh');
  const knownHosts = (ssh?.knownHosts ?? path.join(sshDir, 'known_hosts')).replace(/^~(?=\/)/, homeDir(env));
  let hostKeyPolicy: HostKeyPolicy;
  if (options.insecureAcceptHostKey) hostKeyPolicy = { kind: 'insecure', files: [knownHosts] };
  else if (ssh?.hostKey) hostKeyPolicy = { kind: 'pinned', hostKey: ssh.hostKey };
  else hostKeyPolicy = { kind: 'known_hosts', files: [knownHosts] };
  return { host, port, username, privateKey: readIdentityFile(ssh?.identityFile, env), env, hostKeyPolicy, keepaliveMs: (ssh?.keepaliveSeconds ?? 15) * 1000, logger: options.logger };
}

/** The configured `gerrit.ssh.identityFile`; without one, the key is looked for when connecting, as for server groups. */
function readIdentityFile(identityFile: string | undefined, env: Env): Buffer | undefined {
  if (!identityFile) return undefined;
  const file = identityFile.replace(/^~(?=\/)/, homeDir(env));
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UserError(`smokestack.yaml: gerrit.ssh.identityFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
}

/** The Gerrit server as an SSH target of ssh/: the same key order and host-key checks as every server group. */
export function gerritSshTarget(options: GerritSshOptions): SshTarget {
  const where = `${options.host}:${options.port}`;
  return {
    address: options.host,
    port: options.port,
    user: options.username,
    privateKey: options.privateKey,
    passphrase: options.passphrase,
    ...hostKeyTrust(options.hostKeyPolicy),
    onUnknownKeyAccepted: (fp) => options.logger?.warn(`gerrit ssh: ${where}: accepted host key ${fp} without verifying it (--insecure-accept-host-key)`),
  };
}

/** Opens an SSH connection to Gerrit whose host key is checked against known_hosts or the pinned key. */
export async function connectSsh(options: GerritSshOptions, signal?: AbortSignal): Promise<SshConnection> {
  const env = { ...(options.env ?? process.env), ...(options.agent ? { SSH_AUTH_SOCK: options.agent } : {}) };
  try {
    return await SshConnection.open(gerritSshTarget(options), {
      env,
      signal,
      readyTimeoutMs: options.readyTimeoutMs ?? 20_000,
      keepaliveMs: options.keepaliveMs ?? 15_000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      maxChannels: 2,
    });
  } catch (err) {
    throw gerritConnectError(options, err);
  }
}

/** A failed connect in the words of the `gerrit.ssh` settings: refused keys and logins are the user's to fix. */
function gerritConnectError(options: GerritSshOptions, err: unknown): Error {
  if (err instanceof HostKeyError && err.judgement && err.key) {
    return new UserError(`gerrit ssh: ${gerritHostKeyReason(err.judgement, options.hostKeyPolicy, options.host, options.port, err.key)}`, {
      hint: `verify the key, then add it with: ssh-keyscan -p ${options.port} ${options.host} >> ~/.ssh/known_hosts (or set gerrit.ssh.hostKey)`,
    });
  }
  if (err instanceof SshAuthError) {
    return new UserError(`gerrit ssh: ${options.username}@${options.host}:${options.port}: authentication failed`, { hint: 'check gerrit.ssh.identityFile and that the key is registered in Gerrit' });
  }
  if (err instanceof UserError) return new UserError(`gerrit ssh: ${err.message}`, { hint: 'set gerrit.ssh.identityFile' });
  const cause = (err as { cause?: Error }).cause;
  if (!cause) return new InfraError(`gerrit ssh: ${errorMessage(err)}`);
  return new InfraError(`gerrit ssh: ${options.host}:${options.port}: ${errorMessage(cause)}`, { cause: err });
}

/** Quotes one word for Gerrit's SSH command-line parser (not a shell: it only knows quotes). */
export function gerritSshWord(value: string): string {
  if (/^[A-Za-z0-9_./:=@+-]+$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new UserError(`gerrit ssh: cannot quote ${JSON.stringify(value)}: it contains both kinds of quote`);
}

export interface SshQueryStats {
  rowCount?: number;
  runTimeMilliseconds?: number;
  moreChanges?: boolean;
}

/** Parses `gerrit query --format=JSON` output: change lines, then a stats line (or an error line). */
export function parseSshQueryOutput(output: string): { changes: Change[]; stats: SshQueryStats; skipped: string[] } {
  const changes: Change[] = [];
  const skipped: string[] = [];
  let stats: SshQueryStats = {};
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      skipped.push(`not JSON: ${line.slice(0, 80)}`);
      continue;
    }
    if (row.type === 'stats') stats = row as SshQueryStats;
    else if (row.type === 'error') throw new InfraError(`gerrit query: ${String(row.message ?? 'error')}`);
    else {
      try {
        changes.push(changeFromSsh(row as SshChange));
      } catch (err) {
        skipped.push(errorMessage(err));
      }
    }
  }
  return { changes, stats, skipped };
}

/**
 * Feeds a byte stream in chunks and calls `onLine` with each whole line, decoded only once it is
 * whole: a server splits its output into packets anywhere, even inside a multi-byte character.
 */
export function byteLines(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = Buffer.alloc(0);
  return (chunk) => {
    let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
      onLine(data.subarray(0, nl).toString('utf8'));
      data = data.subarray(nl + 1);
    }
    rest = Buffer.from(data);
  };
}

/** Gerrit's SSH commands: `gerrit query` (the stream lives in GerritEventStream). */
export class GerritSshClient {
  constructor(readonly options: GerritSshOptions) {}

  /** Runs one Gerrit SSH command and collects its output. */
  async exec(words: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string; code: number | null }> {
    const conn = await connectSsh(this.options);
    try {
      const result = await conn.exec(words.map(gerritSshWord).join(' '), { timeoutMs });
      if (result.timedOut) throw new InfraError(`gerrit ssh: ${words[0]} ${words[1] ?? ''}: timed out after ${timeoutMs} ms`);
      return { stdout: result.stdout, stderr: result.stderr, code: result.code };
    } catch (err) {
      if (err instanceof InfraError && !err.message.startsWith('gerrit ssh: ')) throw new InfraError(`gerrit ssh: ${errorMessage(err)}`, { cause: err });
      throw err;
    } finally {
      await conn.close();
    }
  }

  /** `gerrit query --format=JSON --current-patch-set QUERY`, mapped to the model. */
  async query(query: string, limit?: number): Promise<{ changes: Change[]; stats: SshQueryStats }> {
    const words = ['gerrit', 'query', '--format=JSON', '--current-patch-set'];
    if (limit !== undefined) words.push(`--limit=${limit}`);
    words.push(query);
    const { stdout, stderr, code } = await this.exec(words);
    if (code !== 0 && !stdout.trim()) throw new InfraError(`gerrit query: exited with ${code}: ${stderr.trim().split('\n')[0] ?? ''}`);
    const { changes, stats, skipped } = parseSshQueryOutput(stdout);
    for (const s of skipped) this.options.logger?.warn(`gerrit query: ${s} (skipped)`);
    return { changes, stats };
  }
}
