import crypto from 'node:crypto';
import { checkHostKey, hostKeyAlgorithmsFor, knownHostsName, knownKeyTypes, type KnownHostEntry } from './known-hosts.js';

/** SHA256 fingerprint as OpenSSH prints it: `SHA256:base64-without-padding`. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Accepts a pinned key as `ssh-ed25519 AAAA… [comment]`, bare base64, or a `SHA256:` fingerprint. */
export function pinnedKeyMatches(pinned: string, key: Buffer): boolean {
  const value = pinned.trim();
  if (value.startsWith('SHA256:')) return value.replace(/=+$/, '') === fingerprint(key);
  const fields = value.split(/\s+/);
  const b64 = fields.length >= 2 ? fields[1]! : fields[0]!;
  return Buffer.from(b64, 'base64').equals(key);
}

/** How a host's key is trusted: one policy for server groups and the Gerrit connection alike. */
export interface HostKeyTrust {
  /** known_hosts files checked in order (StrictHostKeyChecking=yes semantics). */
  knownHostsFiles: string[];
  /** A key (`ssh-ed25519 AAAA…`, bare base64 or `SHA256:` fingerprint) the host must present; the files are then not consulted. */
  pinnedHostKey?: string;
  /** Accept a key no file knows (only when the user asked, announced every time); a changed or revoked key is still refused. */
  acceptUnknownHostKeys?: boolean;
}

export type HostKeyJudgement =
  | { ok: true; how: 'known' | 'pinned' | 'accepted-unknown' }
  | { ok: false; problem: 'pin-mismatch' }
  | { ok: false; problem: 'mismatch'; entries: KnownHostEntry[] }
  | { ok: false; problem: 'revoked'; entry: KnownHostEntry }
  | { ok: false; problem: 'unknown' };

/** Whether the key a host presented may be trusted under the policy (reads the known_hosts files). */
export function judgeHostKey(trust: HostKeyTrust, address: string, port: number, key: Buffer): HostKeyJudgement {
  if (trust.pinnedHostKey !== undefined) return pinnedKeyMatches(trust.pinnedHostKey, key) ? { ok: true, how: 'pinned' } : { ok: false, problem: 'pin-mismatch' };
  const verdict = checkHostKey(trust.knownHostsFiles, address, port, key);
  switch (verdict.status) {
    case 'match':
      return { ok: true, how: 'known' };
    case 'unknown':
      return trust.acceptUnknownHostKeys ? { ok: true, how: 'accepted-unknown' } : { ok: false, problem: 'unknown' };
    case 'mismatch':
      return { ok: false, problem: 'mismatch', entries: verdict.entries };
    case 'revoked':
      return { ok: false, problem: 'revoked', entry: verdict.entry };
  }
}

/** Host key algorithms to offer, so the server presents a key type the policy can verify (as OpenSSH does). */
export function hostKeyAlgorithmsForTrust(trust: HostKeyTrust, address: string, port: number): string[] | undefined {
  if (trust.pinnedHostKey !== undefined) {
    const fields = trust.pinnedHostKey.trim().split(/\s+/);
    return fields.length >= 2 ? hostKeyAlgorithmsFor([fields[0]!]) : undefined;
  }
  const types = knownKeyTypes(trust.knownHostsFiles, address, port);
  return types.length ? hostKeyAlgorithmsFor(types) : undefined;
}

/** The refusal in the words of a server group's connection (the files and lines to look at). */
export function hostKeyRefusal(judgement: Exclude<HostKeyJudgement, { ok: true }>, trust: HostKeyTrust, label: string, address: string, port: number): string {
  switch (judgement.problem) {
    case 'pin-mismatch':
      return `${label}: the host key differs from the pinned one; refusing to connect`;
    case 'mismatch':
      return `${label}: HOST KEY MISMATCH: the key presented differs from ${judgement.entries[0]!.file}:${judgement.entries[0]!.line}; refusing to connect (remove the stale line if the host was rebuilt)`;
    case 'revoked':
      return `${label}: the host key is revoked in ${judgement.entry.file}:${judgement.entry.line}`;
    case 'unknown':
      return `${label}: unknown host key for ${knownHostsName(address, port)} (checked ${trust.knownHostsFiles.join(', ') || 'no known_hosts file'}); add it with ssh-keyscan or pass --insecure-accept-host-keys`;
  }
}
