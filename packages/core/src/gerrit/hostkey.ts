import { knownHostsName } from '../ssh/known-hosts.js';
import { fingerprint, hostKeyAlgorithmsForTrust, judgeHostKey, type HostKeyJudgement, type HostKeyTrust } from '../ssh/host-key-policy.js';

export { fingerprint, pinnedKeyMatches } from '../ssh/host-key-policy.js';

/**
 * How the Gerrit server's key is trusted: `gerrit.ssh.hostKey`, known_hosts, or (only when the user
 * asks) any key those files do not contradict.
 */
export type HostKeyPolicy = { kind: 'pinned'; hostKey: string } | { kind: 'known_hosts'; files: string[] } | { kind: 'insecure'; files?: string[] };

export interface HostKeyCheck {
  ok: boolean;
  reason?: string;
}

/** The Gerrit policy as the shared host-key trust of ssh/. */
export function hostKeyTrust(policy: HostKeyPolicy): HostKeyTrust {
  switch (policy.kind) {
    case 'pinned':
      return { knownHostsFiles: [], pinnedHostKey: policy.hostKey };
    case 'known_hosts':
      return { knownHostsFiles: policy.files };
    case 'insecure':
      return { knownHostsFiles: policy.files ?? [], acceptUnknownHostKeys: true };
  }
}

/** Decides whether the key the Gerrit server presented may be trusted under the policy. */
export function verifyGerritHostKey(policy: HostKeyPolicy, host: string, port: number, key: Buffer): HostKeyCheck {
  const judgement = judgeHostKey(hostKeyTrust(policy), host, port, key);
  return judgement.ok ? { ok: true } : { ok: false, reason: gerritHostKeyReason(judgement, policy, host, port, key) };
}

/** A refusal in the words of the `gerrit.ssh` settings. */
export function gerritHostKeyReason(judgement: Exclude<HostKeyJudgement, { ok: true }>, policy: HostKeyPolicy, host: string, port: number, key: Buffer): string {
  const name = knownHostsName(host, port);
  const where = hostKeyTrust(policy).knownHostsFiles.join(', ');
  switch (judgement.problem) {
    case 'pin-mismatch':
      return `host key ${fingerprint(key)} of ${name} does not match gerrit.ssh.hostKey`;
    case 'revoked':
      return `host key ${fingerprint(key)} of ${name} is revoked in ${judgement.entry.file}`;
    case 'mismatch':
      return `host key ${fingerprint(key)} of ${name} differs from the one in ${where} (possible man-in-the-middle)`;
    case 'unknown':
      return `${name} is not in ${where}`;
  }
}

/** Host key algorithms to offer, so the server presents a key type we can verify. */
export function hostKeyAlgorithmsForPolicy(policy: HostKeyPolicy, host: string, port: number): string[] | undefined {
  return hostKeyAlgorithmsForTrust(hostKeyTrust(policy), host, port);
}
