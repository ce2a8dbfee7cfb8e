import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { readCachedConfig, writeCachedConfig } from '../../src/config/cache.js';
import { loadConfigFile } from '../../src/config/load.js';

describe('config cache: a validated config kept between runs of one build', () => {
  let dir: string;
  let env: Record<string, string>;
  let file: string;
  const options = (codeId = 'build-1') => ({ codeId, env });
  const validate = () => {
    const loaded = loadConfigFile(file);
    writeCachedConfig(loaded, loaded.sha256!, options());
    return loaded;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-config-cache-'));
    env = { XDG_CACHE_HOME: path.join(dir, 'cache'), HOME: dir };
    file = path.join(dir, 'smokestack.yaml');
    fs.writeFileSync(file, 'projects:\n  - name: openstack/nova\n    templates: [smoke]\ntemplates:\n  smoke: { suites: [{ name: uname, command: uname -a }] }\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives back exactly what the loader validated, for the same text and build', () => {
    expect(readCachedConfig(file, options())).to.equal(undefined);
    const loaded = validate();
    const cached = readCachedConfig(file, options())!;
    expect(cached).to.deep.equal({ path: file, dir, config: loaded.config });
    // The schema's defaults are in it: what the validator added, not only what the file says.
    expect(cached.config.projects[0]!.branch).to.equal('master');
  });

  it('misses when the file changed, another build asks, or the entry is damaged', () => {
    validate();
    expect(readCachedConfig(file, options('build-2')), 'another build').to.equal(undefined);
    fs.appendFileSync(file, '# a comment\n');
    expect(readCachedConfig(file, options()), 'the file changed').to.equal(undefined);
    validate();
    expect(readCachedConfig(file, options())).to.not.equal(undefined);
    const [entry] = fs.readdirSync(path.join(dir, 'cache', 'smokestack', 'config'));
    fs.writeFileSync(path.join(dir, 'cache', 'smokestack', 'config', entry!), '{"format":1,');
    expect(readCachedConfig(file, options()), 'a damaged entry').to.equal(undefined);
    fs.rmSync(file);
    expect(readCachedConfig(file, options()), 'no file').to.equal(undefined);
  });

  it('keeps nothing that would not come back the same through JSON, and nothing without a file', () => {
    const loaded = loadConfigFile(file);
    const odd = { ...loaded, config: { ...loaded.config, when: new Date(0) } as unknown as typeof loaded.config };
    writeCachedConfig(odd, loaded.sha256!, options());
    expect(readCachedConfig(file, options())).to.equal(undefined);
    writeCachedConfig({ dir, config: loaded.config }, loaded.sha256!, options());
    expect(fs.existsSync(path.join(dir, 'cache', 'smokestack', 'config'))).to.equal(false);
  });
});
