import { expect } from 'chai';
import { CONTAINER_PACKAGES, ConfigSchema, DEFAULT_IMAGE_PACKAGES, parseSourcesList, resolveImage, type ImageEnvironment } from '@smokestack/core';

const env: ImageEnvironment = {
  hostSuite: 'bookworm',
  aptSources: parseSourcesList('deb http://mirror.example.org/debian bookworm main\n', 'sources.list'),
  setupScript: 'set -eu\n',
};

describe('image definitions', () => {
  it('the built-in default is this machine\'s release from apt\'s mirror, with Puppet, the build toolchain and what containers need', () => {
    const spec = resolveImage('default', undefined, env);
    expect(spec).to.include({ name: 'default', suite: 'bookworm', mirror: 'http://mirror.example.org/debian' });
    expect(spec.packages).to.include.members([...CONTAINER_PACKAGES, ...DEFAULT_IMAGE_PACKAGES]);
    expect(spec.packages).to.deep.equal([...spec.packages].sort());
  });

  it('the key changes exactly when the content would: packages, suite, components or the setup script, not the mirror or the order', () => {
    const base = resolveImage('x', { x: { packages: ['git', 'curl'], components: ['main'] } }, env).key;
    const same = [
      resolveImage('x', { x: { packages: ['curl', 'git', 'curl'], components: ['main'] } }, env).key,
      resolveImage('x', { x: { packages: ['git', 'curl'], components: ['main'], mirror: 'http://other.example.org/debian' } }, env).key,
    ];
    const different = [
      resolveImage('x', { x: { packages: ['git'], components: ['main'] } }, env).key,
      resolveImage('x', { x: { packages: ['git', 'curl'], components: ['main'], suite: 'trixie' } }, env).key,
      resolveImage('x', { x: { packages: ['git', 'curl'], components: ['main', 'contrib'] } }, env).key,
      resolveImage('x', { x: { packages: ['git', 'curl'], components: ['main'] } }, { ...env, setupScript: 'set -eux\n' }).key,
    ];
    for (const k of same) expect(k).to.equal(base);
    for (const k of different) expect(k).to.not.equal(base);
  });

  it('an unknown image, an unknown release or a machine without a mirror is a one-line error naming what to set', () => {
    expect(() => resolveImage('nope', {}, env)).to.throw(/image "nope" is not defined/);
    expect(() => resolveImage('default', {}, { ...env, hostSuite: undefined })).to.throw(/images\.default\.suite/);
    expect(() => resolveImage('default', {}, { ...env, aptSources: [] })).to.throw(/images\.default\.mirror: apt on this machine has no source for bookworm/);
    expect(resolveImage('default', { default: { suite: 'bookworm', mirror: 'http://deb.example.org/debian/', packages: [], components: ['main'] } }, { ...env, aptSources: [] }).mirror).to.equal(
      'http://deb.example.org/debian',
    );
  });

  it('the config refuses a package or mirror that is not one, naming the key', () => {
    const bad = ConfigSchema.safeParse({ images: { web: { packages: ['ok', 'Not A Package'] } } });
    expect(bad.success).to.equal(false);
    expect(JSON.stringify(bad.error?.issues[0]?.path)).to.equal('["images","web","packages",1]');
    expect(ConfigSchema.safeParse({ images: { web: { mirror: 'ftp.example.org' } } }).success).to.equal(false);
  });
});
