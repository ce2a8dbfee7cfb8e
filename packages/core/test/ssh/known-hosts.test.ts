import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { backoffDelay, checkHostKey, hostPatternMatches, knownHostsName, knownKeyTypes, linePrefixer, pinHostKey } from '@smokestack/core';

function blob(type: string, seed: string): Buffer {
  const t = Buffer.from(type);
  const k = crypto.createHash('sha256').update(seed).digest();
  const out = Buffer.alloc(8 + t.length + k.length);
  out.writeUInt32BE(t.length, 0);
  t.copy(out, 4);
  out.writeUInt32BE(k.length, 4 + t.length);
  k.copy(out, 8 + t.length);
  return out;
}

describe('known_hosts checking', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-kh-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names hosts off port 22 in brackets and matches plain, wildcard, negated and hashed patterns', () => {
    expect(knownHostsName('10.0.0.1', 22)).to.equal('10.0.0.1');
    expect(knownHostsName('10.0.0.1', 2222)).to.equal('[10.0.0.1]:2222');
    expect(hostPatternMatches('web1,10.0.0.1', '10.0.0.1')).to.equal(true);
    expect(hostPatternMatches('*.example.org,!bad.example.org', 'a.example.org')).to.equal(true);
    expect(hostPatternMatches('*.example.org,!bad.example.org', 'bad.example.org')).to.equal(false);
    const salt = crypto.randomBytes(20);
    const hash = crypto.createHmac('sha1', salt).update('[10.0.0.1]:2222').digest('base64');
    expect(hostPatternMatches(`|1|${salt.toString('base64')}|${hash}`, '[10.0.0.1]:2222')).to.equal(true);
    expect(hostPatternMatches(`|1|${salt.toString('base64')}|${hash}`, '10.0.0.1')).to.equal(false);
  });

  it('tells a known key from a changed, revoked or unknown one', () => {
    const good = blob('ssh-ed25519', 'good');
    const other = blob('ssh-ed25519', 'other');
    const file = path.join(dir, 'known_hosts');
    fs.writeFileSync(file, `# comment\n[10.0.0.1]:2222 ssh-ed25519 ${good.toString('base64')}\n@revoked * ssh-ed25519 ${blob('ssh-ed25519', 'stolen').toString('base64')}\n`);
    expect(checkHostKey([file], '10.0.0.1', 2222, good).status).to.equal('match');
    expect(checkHostKey([file], '10.0.0.1', 2222, other).status).to.equal('mismatch');
    expect(checkHostKey([file], '10.0.0.2', 2222, other).status).to.equal('unknown');
    expect(checkHostKey([file], '10.0.0.2', 2222, blob('ssh-ed25519', 'stolen')).status).to.equal('revoked');
    expect(checkHostKey([path.join(dir, 'missing')], '10.0.0.1', 2222, good).status).to.equal('unknown');
    expect(knownKeyTypes([file], '10.0.0.1', 2222)).to.deep.equal(['ssh-ed25519']);
  });

  it('pins a first-contact key once', () => {
    const file = path.join(dir, 'sub', 'known_hosts');
    const key = blob('ssh-ed25519', 'pinned');
    pinHostKey(file, '127.0.0.1', 40000, key);
    pinHostKey(file, '127.0.0.1', 40000, key);
    expect(fs.readFileSync(file, 'utf8')).to.equal(`[127.0.0.1]:40000 ssh-ed25519 ${key.toString('base64')}\n`);
    expect(checkHostKey([file], '127.0.0.1', 40000, key).status).to.equal('match');
  });
});

describe('ssh helpers', () => {
  it('backs off exponentially with a cap', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, 250, 5000, mid))).to.deep.equal([250, 500, 1000, 2000, 5000]);
  });

  it('prefixes whole lines only', () => {
    const lines: string[] = [];
    const p = linePrefixer('[web] ', (l) => lines.push(l));
    p.push('one\ntw');
    p.push('o\n');
    p.push('three');
    p.flush();
    expect(lines).to.deep.equal(['[web] one', '[web] two', '[web] three']);
  });
});
