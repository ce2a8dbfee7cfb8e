import { lazyRequire } from '../lazy.js';

const ssh2 = lazyRequire<typeof import('ssh2')>('ssh2');

export interface SshKeyPair {
  /** OpenSSH private key (PEM-armoured "OPENSSH PRIVATE KEY"). */
  private: string;
  /** One authorized_keys / known_hosts line: "ssh-ed25519 AAAA… comment". */
  public: string;
}

/**
 * A new ed25519 key pair that OpenSSH and ssh2 both accept. ssh2's generator drops a leading zero
 * byte of the public key about once in 256 keys, producing a key neither can load; such a pair is
 * detected by parsing it back and generated again.
 */
export function generateSshKeyPair(comment?: string): SshKeyPair {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2().utils.generateKeyPairSync('ed25519', comment ? { comment } : {});
    const parsed = ssh2().utils.parseKey(pair.private);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && !(key instanceof Error) && key.getPublicSSH().length === 51) return { private: pair.private, public: pair.public };
  }
  throw new Error('could not generate a valid ed25519 key pair');
}
