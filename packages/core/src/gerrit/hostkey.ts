import crypto from 'node:crypto';
import { checkHostKey, hostKeyAlgorithmsFor, knownHostsName, knownKeyTypes } from '../ssh/known-hosts.js';

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

export type HostKeyPolicy = { kind: 'pinned'; hostKey: string } | { kind: 'known_hosts'; files: string[] } | { kind: 'insecure' };

export interface HostKeyCheck {
  ok: boolean;
  reason?: string;
}

/** Decides whether the key the Gerrit server presented may be trusted under the policy. */
export function verifyGerritHostKey(policy: HostKeyPolicy, host: string, port: number, key: Buffer): HostKeyCheck {
  const name = knownHostsName(host, port);
  if (policy.kind === 'insecure') return { ok: true };
  if (policy.kind === 'pinned') {
    return pinnedKeyMatches(policy.hostKey, key) ? { ok: true } : { ok: false, reason: `host key ${fingerprint(key)} of ${name} does not match gerrit.ssh.hostKey` };
  }
  const where = policy.files.join(', ');
  const verdict = checkHostKey(policy.files, host, port, key);
  switch (verdict.status) {
    case 'match':
      return { ok: true };
    case 'revoked':
      return { ok: false, reason: `host key ${fingerprint(key)} of ${name} is revoked in ${verdict.entry.file}` };
    case 'mismatch':
      return { ok: false, reason: `host key ${fingerprint(key)} of ${name} differs from the one in ${where} (possible man-in-the-middle)` };
    default:
      return { ok: false, reason: `${name} is not in ${where}` };
  }
}

/** Host key algorithms to offer, so the server presents a key type we can verify. */
export function hostKeyAlgorithmsForPolicy(policy: HostKeyPolicy, host: string, port: number): string[] | undefined {
  if (policy.kind === 'pinned') {
    const type = policy.hostKey.trim().split(/\s+/);
    return type.length >= 2 ? hostKeyAlgorithmsFor([type[0]!]) : undefined;
  }
  if (policy.kind === 'known_hosts') {
    const types = knownKeyTypes(policy.files, host, port);
    return types.length ? hostKeyAlgorithmsFor(types) : undefined;
  }
  return undefined;
}
