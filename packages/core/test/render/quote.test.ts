import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { shellQuote, shellJoin } from '@smokestack/core';

const hostile = [
  "it's",
  'say "hi"',
  '$(touch /tmp/smokestack-pwned)',
  '`id`',
  'a\nb\nc',
  'x; rm -rf /',
  '--',
  '-rf',
  'ünïcödé ✓ 日本',
  '$HOME ${PATH} $1 $@',
  '\\ backslash \\\\',
  "'; echo pwned; '",
  'tab\there',
  '*',
  '~root',
  '',
  'a && b || c | d > e < f',
  '!history',
  "refs/changes/01/1/1'$(id)",
];

describe('shellQuote', () => {
  for (const value of hostile) {
    it(`round-trips ${JSON.stringify(value)} through sh -c unchanged`, () => {
      const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8' });
      expect(out).to.equal(value);
    });
  }

  it('keeps every element of a list a separate word', () => {
    const out = execFileSync('/bin/sh', ['-c', `for a in ${shellJoin(hostile)}; do printf '<%s>' "$a"; done`], { encoding: 'utf8' });
    expect(out).to.equal(hostile.map((v) => `<${v}>`).join(''));
  });

  it('leaves plain words readable and quotes anything else', () => {
    expect(shellQuote('refs/heads/master')).to.equal('refs/heads/master');
    expect(shellQuote('a b')).to.equal("'a b'");
    expect(shellQuote('-n')).to.equal("'-n'");
    expect(shellQuote(42)).to.equal('42');
    expect(shellQuote(undefined)).to.equal("''");
  });

  it('refuses a NUL byte, which no shell word can carry', () => {
    expect(() => shellQuote('a\0b')).to.throw(/NUL/);
  });
});
