import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { TemplateRenderer } from '@smokestack/core';

describe('TemplateRenderer', () => {
  const renderer = new TemplateRenderer();

  it('renders shell templates whose values reach the shell as data, never as code', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-render-'));
    const canary = path.join(dir, 'canary');
    try {
      const script = renderer.renderString(
        'set -eu\n{{qenv "REF" ref}}\nprintf "%s|" "$REF" {{qjoin args}}\n{{#if extra}}printf %s {{q extra}}{{/if}}\n',
        'probe.sh.hbs',
        { ref: `x'$(touch ${canary})'`, args: ['a b', '`touch ' + canary + '`', '; touch ' + canary], extra: '$(touch ' + canary + ')' },
      );
      const out = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
      expect(out).to.equal(`x'$(touch ${canary})'|a b|\`touch ${canary}\`|; touch ${canary}|$(touch ${canary})`);
      expect(fs.existsSync(canary)).to.equal(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [what, source] of [
    ['a bare value', 'echo {{name}}'],
    ['a triple-stash value', 'echo {{{name}}}'],
    ['a helper that does not quote', 'echo {{json name}}'],
    ['a partial', 'echo {{> other}}'],
  ] as const) {
    it(`refuses a shell template with ${what}, naming the template and line`, () => {
      expect(() => renderer.compile(`#!/bin/sh\n${source}\n`, 'stage.sh.hbs')).to.throw(/^stage\.sh\.hbs(:2)?: /);
    });
  }

  it('fails loudly when a shell template names a value that was not given', () => {
    expect(() => renderer.renderString('echo {{q build.ref}}', 'x.sh.hbs', { build: {} })).to.not.throw();
    expect(() => renderer.renderString('echo {{q bulid.ref}}', 'x.sh.hbs', { build: {} })).to.throw(/^x\.sh\.hbs: /);
  });

  it('escapes values in HTML templates by default', () => {
    const html = renderer.renderString('<td>{{subject}}</td>', 'row.html.hbs', { subject: '<img src=x onerror="alert(1)">' });
    expect(html).to.equal('<td>&lt;img src&#x3D;x onerror&#x3D;&quot;alert(1)&quot;&gt;</td>');
  });
});
