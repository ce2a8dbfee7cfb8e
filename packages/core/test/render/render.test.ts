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

  it('renderers share compiled templates, yet each sees a template file as it is now and only its own partials', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-render-'));
    try {
      fs.writeFileSync(path.join(dir, 'greet.sh.hbs'), 'echo {{q name}}\n');
      fs.writeFileSync(path.join(dir, 'page.html.hbs'), '<p>{{> footer}}</p>');
      expect(new TemplateRenderer(dir).render('greet.sh.hbs', { name: 'a b' })).to.equal("echo 'a b'\n");
      fs.writeFileSync(path.join(dir, 'greet.sh.hbs'), 'printf %s {{q name}}\n');
      expect(new TemplateRenderer(dir).render('greet.sh.hbs', { name: 'a b' }), 'a template edited on disk').to.equal("printf %s 'a b'\n");
      const withFooter = new TemplateRenderer(dir);
      withFooter.registerPartial('footer', 'ours');
      expect(withFooter.render('page.html.hbs', {})).to.equal('<p>ours</p>');
      // Another renderer never sees that partial, and a partial added later still reaches a template it rendered before.
      const plain = new TemplateRenderer(dir);
      expect(() => plain.render('page.html.hbs', {})).to.throw(/footer/);
      expect(plain.render('greet.sh.hbs', { name: 'x y' })).to.equal("printf %s 'x y'\n");
      plain.registerPartial('footer', 'later');
      expect(plain.render('page.html.hbs', {})).to.equal('<p>later</p>');
      expect(plain.render('greet.sh.hbs', { name: 'y z' })).to.equal("printf %s 'y z'\n");
      // One file under two names of different kinds: the shell name is still checked, whatever the other compiled.
      fs.writeFileSync(path.join(dir, 'bare.sh.hbs'), 'echo {{name}}\n');
      expect(new TemplateRenderer(dir).render('bare.sh.hbs/.', { name: '$(id)' })).to.equal('echo $(id)\n');
      expect(() => new TemplateRenderer(dir).render('bare.sh.hbs', { name: '$(id)' })).to.throw(/bare\.sh\.hbs/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
