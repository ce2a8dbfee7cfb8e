import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { homeDir, type Env } from '../paths.js';

/** The name a host is looked up by in known_hosts: `address`, or `[address]:port` off port 22. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export function userKnownHostsFile(env: Env = process.env): string {
  return path.join(homeDir(env), '.ssh', 'known_hosts');
}

/** Reads the key type out of an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** One known_hosts line for a host key (the form `ssh-keyscan` prints). */
export function knownHostsLine(address: string, port: number, blob: Buffer): string {
  return `${knownHostsName(address, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}`;
}

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  key: string;
  file: string;
  line: number;
}

export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    if (fields.length < 3) return;
    entries.push({ marker, patterns: fields[0]!, keyType: fields[1]!, key: fields[2]!, file, line: i + 1 });
  });
  return entries;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** Whether a known_hosts host field (comma-separated patterns, `!negations`, or a hashed `|1|salt|hmac`) names `name`. */
export function hostPatternMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    const digest = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('!')) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false;
    } else if (globToRegExp(pattern).test(name)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict =
  | { status: 'match'; entry: KnownHostEntry }
  | { status: 'mismatch'; entries: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'unknown' };

/** Every entry of the known_hosts files that exist, in order; missing files are skipped as OpenSSH does. */
function* knownHostsEntries(files: readonly string[]): Generator<KnownHostEntry> {
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    yield* parseKnownHosts(text, file);
  }
}

/** Checks a presented host key against known_hosts files, as OpenSSH's StrictHostKeyChecking=yes does. */
export function checkHostKey(files: readonly string[], address: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = knownHostsName(address, port);
  const key = blob.toString('base64');
  const sameHost: KnownHostEntry[] = [];
  for (const entry of knownHostsEntries(files)) {
    if (entry.marker === '@cert-authority') continue;
    if (entry.marker === '@revoked') {
      if (entry.key === key) return { status: 'revoked', entry };
      continue;
    }
    if (!hostPatternMatches(entry.patterns, name)) continue;
    if (entry.key === key) return { status: 'match', entry };
    sameHost.push(entry);
  }
  return sameHost.length > 0 ? { status: 'mismatch', entries: sameHost } : { status: 'unknown' };
}

/** Key types known for a host, to offer the server only algorithms we can verify (as OpenSSH does). */
export function knownKeyTypes(files: readonly string[], address: string, port: number): string[] {
  const name = knownHostsName(address, port);
  const types = new Set<string>();
  for (const entry of knownHostsEntries(files)) {
    if (!entry.marker && hostPatternMatches(entry.patterns, name)) types.add(entry.keyType);
  }
  return [...types];
}

/** Host key algorithms (ssh2 names) that verify keys of the given types. */
export function hostKeyAlgorithmsFor(keyTypes: readonly string[]): string[] {
  const out: string[] = [];
  for (const type of keyTypes) {
    if (type === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(type);
  }
  return [...new Set(out)];
}

/** Appends a pinned host key (first contact) to a group's known_hosts file. */
export function pinHostKey(file: string, address: string, port: number, blob: Buffer): string {
  const line = knownHostsLine(address, port, blob);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (!existing.split('\n').includes(line)) {
    fs.appendFileSync(file, `${existing === '' || existing.endsWith('\n') ? '' : '\n'}${line}\n`, { mode: 0o600 });
  }
  return line;
}
