import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { builtCodeId, readCachedConfig, writeCachedConfig } from '../../src/config/cache.js';
import { loadConfigFile } from '../../src/config/load.js';

describe('config cache: a validated config kept between runs of one build', () => {
  let dir: string;
  let env: Record<string, string>;
  let file: string;
  const options = (codeId = 'build-1') => ({ codeId, env });
  const entries = () => fs.readdirSync(path.join(dir, 'cache', 'smokestack', 'config'));
  const validate = (codeId = 'build-1') => {
    const loaded = loadConfigFile(file);
    writeCachedConfig(loaded, loaded.sha256!, options(codeId));
    return loaded;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-config-cache-'));
    env = { XDG_CACHE_HOME: path.join(dir, 'cache'), HOME: dir };
    file = path.join(dir, 'smokestack.yaml');
    fs.writeFileSync(file, 'projects:\n  - name: openstack/nova\n    templates: [smoke]\ntemplates:\n  smoke: { suites: [{ name: uname, command: uname -a }] }\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives back exactly what the loader validated, for the same text and build, from a directory only this user may write', () => {
    expect(readCachedConfig(file, options())).to.equal(undefined);
    const loaded = validate();
    const cached = readCachedConfig(file, options())!;
    expect(cached).to.deep.equal({ path: file, dir, config: loaded.config });
    // The schema's defaults are in it: what the validator added, not only what the file says.
    expect(cached.config.projects[0]!.branch).to.equal('master');
    expect(fs.statSync(path.join(dir, 'cache', 'smokestack', 'config')).mode & 0o777).to.equal(0o700);
  });

  it('misses when the file changed, another build asks, or the entry is damaged, foreign or writable by others', () => {
    validate();
    expect(readCachedConfig(file, options('build-2')), 'another build').to.equal(undefined);
    // Each build keeps its own entry: the three CLIs reading one file do not evict each other.
    validate('build-2');
    expect(entries()).to.have.length(2);
    expect(readCachedConfig(file, options())).to.not.equal(undefined);
    fs.appendFileSync(file, '# a comment\n');
    expect(readCachedConfig(file, options()), 'the file changed').to.equal(undefined);
    for (const name of entries()) fs.rmSync(path.join(dir, 'cache', 'smokestack', 'config', name));
    validate();
    const [entry] = entries();
    const entryPath = path.join(dir, 'cache', 'smokestack', 'config', entry!);
    const text = fs.readFileSync(entryPath, 'utf8');
    fs.chmodSync(entryPath, 0o666);
    expect(readCachedConfig(file, options()), 'an entry others may write').to.equal(undefined);
    fs.chmodSync(entryPath, 0o600);
    fs.writeFileSync(entryPath, text.replace(/"config":\{.*\}\}$/, '"config":{}}'));
    expect(readCachedConfig(file, options()), 'an entry of the wrong shape').to.equal(undefined);
    fs.writeFileSync(entryPath, '{"format":2,');
    expect(readCachedConfig(file, options()), 'a damaged entry').to.equal(undefined);
    fs.rmSync(file);
    expect(readCachedConfig(file, options()), 'no file').to.equal(undefined);
  });

  it('never reads a config that is not a regular file (a FIFO would block, a pipe would be drained before the loader reads it), nor keeps one', async () => {
    const fifo = path.join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    // Returns at once, without opening the FIFO (opening it would wait for a writer).
    expect(readCachedConfig(fifo, options())).to.equal(undefined);
    const writer = spawn('sh', ['-c', 'printf "projects: []\\n" > "$1"', 'sh', fifo]);
    const loaded = loadConfigFile(fifo);
    await new Promise((resolve) => writer.once('exit', resolve));
    writeCachedConfig(loaded, loaded.sha256!, options());
    expect(fs.existsSync(path.join(dir, 'cache', 'smokestack', 'config')) ? entries() : []).to.deep.equal([]);
  });

  it('keeps nothing that would not come back the same through JSON, nothing without a file, nothing over the size limit', () => {
    const loaded = loadConfigFile(file);
    const odd = { ...loaded, config: { ...loaded.config, when: new Date(0) } as unknown as typeof loaded.config };
    writeCachedConfig(odd, loaded.sha256!, options());
    expect(readCachedConfig(file, options())).to.equal(undefined);
    writeCachedConfig({ dir, config: loaded.config }, loaded.sha256!, options());
    expect(fs.existsSync(path.join(dir, 'cache', 'smokestack', 'config'))).to.equal(false);
    validate();
    fs.appendFileSync(file, `# ${'x'.repeat(600 * 1024)}\n`);
    expect(readCachedConfig(file, options())).to.equal(undefined);
  });

  it('names a build only for the code of its bundle, never for code run from source', () => {
    const root = path.join(dir, 'cli');
    const bundle = path.join(root, 'dist', 'bundle');
    fs.mkdirSync(path.join(bundle, 'chunks'), { recursive: true });
    fs.writeFileSync(path.join(bundle, 'build-id'), `${'a'.repeat(64)}\n`);
    fs.writeFileSync(path.join(bundle, 'chunks', 'x.js'), '');
    fs.mkdirSync(path.join(root, 'src'));
    fs.writeFileSync(path.join(root, 'src', 'x.ts'), '');
    expect(builtCodeId(root, pathToFileURL(path.join(bundle, 'chunks', 'x.js')).href)).to.equal(`${'a'.repeat(64)} node ${process.version}`);
    expect(builtCodeId(root, pathToFileURL(path.join(root, 'src', 'x.ts')).href)).to.equal(undefined);
    expect(builtCodeId(root, import.meta.url)).to.equal(undefined);
    fs.writeFileSync(path.join(bundle, 'build-id'), 'not an id\n');
    expect(builtCodeId(root, pathToFileURL(path.join(bundle, 'chunks', 'x.js')).href)).to.equal(undefined);
  });
});
