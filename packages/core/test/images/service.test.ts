import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { imageEnvironment, listImages, removeImages, resolveImage, type ImageSettings } from '@smokestack/core';

/** A built image as it lies on disk (only the record and an empty root: what list and remove look at). */
function fakeImage(dir: string, name: string, key: string): string {
  const image = path.join(dir, `${name}-${key}`);
  fs.mkdirSync(path.join(image, 'rootfs'), { recursive: true });
  const record = { name, key, suite: 'bookworm', mirror: 'http://m', components: ['main'], packages: ['git'], builtAt: '2026-01-01T00:00:00.000Z', buildSeconds: 1, sizeBytes: 1 };
  fs.writeFileSync(path.join(image, 'image.json'), JSON.stringify(record));
  return path.join(image, 'rootfs');
}

describe('firestack image list and remove', () => {
  let settings: ImageSettings;
  let currentKey: string;
  beforeEach(() => {
    settings = { definitions: {}, dir: fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-images-')) };
    currentKey = resolveImage('default', {}, imageEnvironment()).key;
  });
  afterEach(() => fs.rmSync(settings.dir, { recursive: true, force: true }));

  it('lists images as current or stale against the definitions, with the containers running on each', () => {
    const current = fakeImage(settings.dir, 'default', currentKey);
    fakeImage(settings.dir, 'default', '000000000000');
    fs.mkdirSync(path.join(settings.dir, `default-${currentKey}.partial`));
    const images = listImages(settings, [current, current]);
    expect(images.map((i) => [i.key, i.current, i.containers])).to.have.deep.members([
      [currentKey, true, 2],
      ['000000000000', false, 0],
    ]);
  });

  it('removes by name, key prefix or --stale, and refuses an image a container runs on', () => {
    const current = fakeImage(settings.dir, 'default', currentKey);
    fakeImage(settings.dir, 'default', '000000000000');
    fakeImage(settings.dir, 'web', 'abcdef123456');
    expect(removeImages([], settings, [current], { stale: true }).map((i) => i.key)).to.have.members(['000000000000', 'abcdef123456']);
    expect(() => removeImages(['default'], settings, [current])).to.throw(/in use by 1 container/);
    expect(() => removeImages(['nothing'], settings, [])).to.throw(/no built image matches "nothing"/);
    expect(removeImages([currentKey.slice(0, 6)], settings, []).map((i) => i.key)).to.deep.equal([currentKey]);
    expect(fs.readdirSync(settings.dir)).to.deep.equal([]);
  });
});
