import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { fingerprint, pinnedKeyMatches, verifyGerritHostKey } from '../../src/gerrit/hostkey.js';

describe('gerrit/hostkey', () => {
  const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', 'base64');
  const other = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIAAAqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', 'base64');
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostkey-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('matches a pinned key given as a line, bare base64 or fingerprint', () => {
    expect(pinnedKeyMatches(`ssh-ed25519 ${key.toString('base64')} gerrit`, key)).to.equal(true);
    expect(pinnedKeyMatches(key.toString('base64'), key)).to.equal(true);
    expect(pinnedKeyMatches(fingerprint(key), key)).to.equal(true);
    expect(pinnedKeyMatches(fingerprint(key), other)).to.equal(false);
  });

  it('checks known_hosts entries for [host]:port, hashed too, and refuses unknown or changed keys', () => {
    const file = path.join(dir, 'known_hosts');
    const salt = crypto.randomBytes(20);
    const hash = crypto.createHmac('sha1', salt).update('[10.0.0.5]:29418').digest('base64');
    fs.writeFileSync(file, `[127.0.0.1]:29418 ssh-ed25519 ${key.toString('base64')}\n|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${key.toString('base64')}\n`);
    const policy = { kind: 'known_hosts' as const, files: [file] };
    expect(verifyGerritHostKey(policy, '127.0.0.1', 29418, key).ok).to.equal(true);
    expect(verifyGerritHostKey(policy, '10.0.0.5', 29418, key).ok).to.equal(true);
    expect(verifyGerritHostKey(policy, '127.0.0.1', 29418, other).reason).to.match(/differs .* man-in-the-middle/);
    expect(verifyGerritHostKey(policy, '127.0.0.1', 22, key).reason).to.equal(`127.0.0.1 is not in ${file}`);
    expect(verifyGerritHostKey({ kind: 'insecure' }, 'x', 1, other).ok).to.equal(true);
    expect(verifyGerritHostKey({ kind: 'pinned', hostKey: fingerprint(key) }, 'x', 1, other).reason).to.match(/does not match gerrit.ssh.hostKey/);
  });
});
