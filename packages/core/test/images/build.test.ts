import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ImageStore, Logger, ensureImage, imageEnvironment, resolveImage } from '@smokestack/core';
import { requireContainers } from '@smokestack/testkit';

describe('firestack image build: a build that fails (needs root and debootstrap)', function () {
  this.timeout(120_000);
  let dir: string;
  before(async function () {
    await requireContainers(this);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-image-build-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('leaves no half-built root file system behind, and says which step failed', async () => {
    const spec = { ...resolveImage('default', {}, imageEnvironment()), mirror: `file://${path.join(dir, 'no-such-mirror')}` };
    const store = new ImageStore(path.join(dir, 'images'));
    const err = await ensureImage(spec, store, { logger: new Logger({ tty: false, quiet: true }) }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err, 'the build should fail').to.be.instanceOf(Error);
    expect(err!.message).to.match(/debootstrap/);
    const left = fs.existsSync(path.join(dir, 'images')) ? fs.readdirSync(path.join(dir, 'images')).filter((n) => !n.startsWith('.')) : [];
    expect(left.filter((n) => n.endsWith('.partial')), 'a half-built image').to.deep.equal([]);
    expect(store.find(spec)).to.equal(undefined);
  });
});
