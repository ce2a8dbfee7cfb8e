import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { hostCodename, parseDeb822Sources, parseSourcesList, pickMirror, readAptSources } from '@smokestack/core';

describe('apt sources (where images are bootstrapped from)', () => {
  it('reads one-line and deb822 sources in apt order, skipping deb-src, disabled stanzas and comments', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-apt-'));
    try {
      fs.mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
      fs.writeFileSync(path.join(root, 'etc/apt/sources.list'), '# old style\ndeb-src http://src.example.org/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example.org/debian bookworm main contrib # trailing\n');
      fs.writeFileSync(
        path.join(root, 'etc/apt/sources.list.d/debian.sources'),
        'Types: deb\n# comment\nURIs: http://deb.example.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://off.example.org/debian\nSuites: trixie\nComponents: main\nEnabled: no\n',
      );
      fs.writeFileSync(path.join(root, 'etc/apt/sources.list.d/other.list.disabled'), 'deb http://never.example.org/ x main\n');
      const sources = readAptSources(root);
      expect(sources.map((s) => [s.uri, s.suites, s.components, s.signedBy])).to.deep.equal([
        ['http://one.example.org/debian', ['bookworm'], ['main', 'contrib'], '/k.gpg'],
        ['http://deb.example.org/debian', ['bookworm', 'bookworm-updates'], ['main'], '/usr/share/keyrings/debian-archive-keyring.gpg'],
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('picks the archive carrying the suite, else the one carrying this machine\'s release, never a security pocket', () => {
    const sources = [
      ...parseSourcesList('deb http://security.example.org/debian-security bookworm-security main\n', 'a'),
      ...parseDeb822Sources('Types: deb\nURIs: http://mirror.example.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n', 'b'),
    ];
    expect(pickMirror(sources, 'bookworm')?.uri).to.equal('http://mirror.example.org/debian');
    expect(pickMirror(sources, 'trixie', 'bookworm')?.uri, 'another suite from the same archive').to.equal('http://mirror.example.org/debian');
    expect(pickMirror(sources, 'trixie')).to.equal(undefined);
    expect(pickMirror(parseSourcesList('deb http://security.example.org/debian-security bookworm-security main\n', 'a'), 'bookworm', 'bookworm')).to.equal(undefined);
  });

  it('reads this machine\'s release codename from os-release', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-os-')), 'os-release');
    fs.writeFileSync(file, 'NAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\n');
    expect(hostCodename(file)).to.equal('bookworm');
    expect(hostCodename(path.join(path.dirname(file), 'missing'))).to.equal(undefined);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
