import fs from 'node:fs';
import path from 'node:path';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { InfraError, UserError, errorMessage } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import type { GerritConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Change } from '../model.js';
import { homeDir, type Env } from '../paths.js';
import { fingerprint, hostKeyAlgorithmsForPolicy, verifyGerritHostKey, type HostKeyPolicy } from './hostkey.js';
import { changeFromSsh } from './map.js';
import type { SshChange } from './wire.js';

const ssh2 = lazyRequire<typeof import('ssh2')>('ssh2');

export interface GerritSshOptions {
  host: string;
  port: number;
  username: string;
  privateKey?: Buffer | string;
  passphrase?: string;
  /** An ssh-agent socket, used when no private key is given. */
  agent?: string;
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
  let privateKey: Buffer | undefined;
  if (ssh?.identityFile) {
    const file = ssh.identityFile.replace(/^~(?=\/)/, homeDir(env));
    try {
      privateKey = fs.readFileSync(file);
    } catch (err) {
      throw new UserError(`smokestack.yaml: gerrit.ssh.identityFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
    }
  } else {
    const found = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => path.join(sshDir, n)).find((f) => fs.existsSync(f));
    if (found) privateKey = fs.readFileSync(found);
  }
  let hostKeyPolicy: HostKeyPolicy;
  if (options.insecureAcceptHostKey) hostKeyPolicy = { kind: 'insecure' };
  else if (ssh?.hostKey) hostKeyPolicy = { kind: 'pinned', hostKey: ssh.hostKey };
  else hostKeyPolicy = { kind: 'known_hosts', files: [(ssh?.knownHosts ?? path.join(sshDir, 'known_hosts')).replace(/^~(?=\/)/, homeDir(env))] };
  return {
    host,
    port,
    username,
    privateKey,
    agent: privateKey ? undefined : env.SSH_AUTH_SOCK,
    hostKeyPolicy,
    keepaliveMs: (ssh?.keepaliveSeconds ?? 15) * 1000,
    logger: options.logger,
  };
}

/** Opens an SSH connection whose host key is checked against known_hosts or the pinned key. */
export function connectSsh(options: GerritSshOptions, signal?: AbortSignal): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new (ssh2().Client)();
    let refused: string | undefined;
    const algorithms = hostKeyAlgorithmsForPolicy(options.hostKeyPolicy, options.host, options.port);
    const config: ConnectConfig = {
      host: options.host,
      port: options.port,
      username: options.username,
      privateKey: options.privateKey,
      passphrase: options.passphrase,
      agent: options.agent,
      readyTimeout: options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: options.keepaliveMs ?? 15_000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      algorithms: algorithms ? { serverHostKey: algorithms as never } : undefined,
      hostVerifier: (key: Buffer) => {
        const check = verifyGerritHostKey(options.hostKeyPolicy, options.host, options.port, key);
        if (!check.ok) refused = check.reason;
        if (options.hostKeyPolicy.kind === 'insecure') {
          options.logger?.warn(`gerrit ssh: ${options.host}:${options.port}: accepted host key ${fingerprint(key)} without verifying it (--insecure-accept-host-key)`);
        }
        return check.ok;
      },
    };
    const onAbort = (): void => {
      client.end();
      reject(new InfraError('gerrit ssh: connection aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    client.once('ready', () => {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(client);
    });
    // `on`, not `once`: later socket errors (a reset after a refused handshake, or after the
    // stream ended) must never go unheard, or they would crash the long-running `bellows stream`.
    client.on('error', (err) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      client.destroy();
      if (refused) {
        reject(
          new UserError(`gerrit ssh: ${refused}`, {
            hint: `verify the key, then add it with: ssh-keyscan -p ${options.port} ${options.host} >> ~/.ssh/known_hosts (or set gerrit.ssh.hostKey)`,
          }),
        );
      } else if ((err as { level?: string }).level === 'client-authentication') {
        reject(new UserError(`gerrit ssh: ${options.username}@${options.host}:${options.port}: authentication failed`, { hint: 'check gerrit.ssh.identityFile and that the key is registered in Gerrit' }));
      } else reject(new InfraError(`gerrit ssh: ${options.host}:${options.port}: ${errorMessage(err)}`, { cause: err }));
    });
    client.connect(config);
  });
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
    const client = await connectSsh(this.options);
    try {
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new InfraError(`gerrit ssh: ${words[0]} ${words[1] ?? ''}: timed out after ${timeoutMs} ms`)), timeoutMs);
        client.exec(words.map(gerritSshWord).join(' '), (err: Error | undefined, channel: ClientChannel) => {
          if (err) {
            clearTimeout(timer);
            return reject(new InfraError(`gerrit ssh: ${errorMessage(err)}`));
          }
          // Decoded once whole: a character may be split between two packets.
          const stdout: Buffer[] = [];
          const stderr: Buffer[] = [];
          let code: number | null = null;
          channel.on('data', (d: Buffer) => stdout.push(d));
          channel.stderr.on('data', (d: Buffer) => stderr.push(d));
          channel.on('exit', (c: number | null) => (code = c));
          channel.on('close', () => {
            clearTimeout(timer);
            resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code });
          });
        });
      });
    } finally {
      client.end();
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
