import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { repoRoot } from '@smokestack/testkit';
import { WRITE_ENV, codeCachePath, codeCacheUses, requireBundled } from '../../src/vendor/code-cache.js';

// The built loader, as the stubs of the bundled packages use it (scripts/bundle-vendor.mjs).
const builtLoader = pathToFileURL(path.join(repoRoot(), 'packages', 'core', 'dist', 'vendor', 'code-cache.js')).href;
const importer = (specifier: string) => import(specifier);

/** Runs `script` (an ES module's text) in a new Node process; its standard output, parsed as JSON. */
function runNode(script: string, env: Record<string, string> = {}): unknown {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(run.status, run.stderr).to.equal(0);
  return JSON.parse(run.stdout);
}

/** A bundle in a new process, loaded through the built loader: its exports' `value`, and what became of its cache. */
function loadInNewProcess(file: string, env: Record<string, string> = {}): { value: unknown; use: string } {
  return runNode(
    `import { requireBundled, codeCacheUses } from ${JSON.stringify(builtLoader)};
     const m = requireBundled(${JSON.stringify(file)}, (s) => import(s));
     console.log(JSON.stringify({ value: await m.value(), use: codeCacheUses().get(${JSON.stringify(file)}) }));`,
    env,
  ) as { value: unknown; use: string };
}

describe('vendor: compiled code saved for the bundled packages', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-code-cache-test-'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the built CLIs compile @oclif/core, zod, yaml and axios from the code the build saved', () => {
    const dist = path.join(repoRoot(), 'packages', 'core', 'dist');
    const uses = runNode(
      `import ${JSON.stringify(pathToFileURL(path.join(dist, 'oclif.js')).href)};
       import ${JSON.stringify(pathToFileURL(path.join(dist, 'vendor', 'zod.js')).href)};
       import ${JSON.stringify(pathToFileURL(path.join(dist, 'vendor', 'yaml.js')).href)};
       import { lazyVendored } from ${JSON.stringify(pathToFileURL(path.join(dist, 'lazy.js')).href)};
       import { codeCacheUses } from ${JSON.stringify(builtLoader)};
       if (typeof lazyVendored('axios')().create !== 'function') throw new Error('not axios');
       console.log(JSON.stringify(Object.fromEntries([...codeCacheUses()].map(([f, u]) => [f.split('/').pop(), u]))));`,
    );
    expect(uses).to.deep.equal({ 'oclif.cjs': 'used', 'zod.cjs': 'used', 'yaml.cjs': 'used', 'axios.cjs': 'used' });
  });

  it('writes a cache only when the build asks, and a new process then compiles from it', () => {
    const file = path.join(dir, 'bundle.cjs');
    fs.writeFileSync(file, 'exports.value = async () => [1, 2, 3].map((n) => n * 2);\n');
    expect(loadInNewProcess(file)).to.deep.equal({ value: [2, 4, 6], use: 'none' });
    expect(fs.existsSync(codeCachePath(file)), 'written without being asked').to.equal(false);
    // Asked for another directory's bundles: still nothing here.
    expect(loadInNewProcess(file, { [WRITE_ENV]: os.tmpdir() }).use).to.equal('none');
    expect(fs.existsSync(codeCachePath(file))).to.equal(false);
    // Named through a symbolic link to the directory: the same directory.
    fs.symlinkSync(dir, `${dir}-link`);
    try {
      expect(loadInNewProcess(file, { [WRITE_ENV]: `${dir}-link` }).use).to.equal('none');
    } finally {
      fs.rmSync(`${dir}-link`);
    }
    expect(fs.existsSync(codeCachePath(file))).to.equal(true);
    expect(loadInNewProcess(file)).to.deep.equal({ value: [2, 4, 6], use: 'used' });
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['bundle.cjs', 'bundle.cjs.code-cache']);
  });

  it('ignores a cache made from another text of the same length, and runs the bundle as it now is', () => {
    const file = path.join(dir, 'bundle.cjs');
    fs.writeFileSync(file, 'exports.value = async () => "one";\n');
    loadInNewProcess(file, { [WRITE_ENV]: dir });
    // V8 itself checks no more than the length of the text it is given, and would answer "one".
    fs.writeFileSync(file, 'exports.value = async () => "two";\n');
    expect(loadInNewProcess(file)).to.deep.equal({ value: 'two', use: 'other-source' });
  });

  it('ignores a damaged, truncated or altered cache file, and runs the bundle as it is', () => {
    const file = path.join(dir, 'bundle.cjs');
    fs.writeFileSync(file, 'exports.value = async () => "hello from the bundle";\n');
    fs.writeFileSync(codeCachePath(file), 'not a cache at all');
    expect(loadInNewProcess(file)).to.deep.equal({ value: 'hello from the bundle', use: 'damaged' });
    loadInNewProcess(file, { [WRITE_ENV]: dir });
    const whole = fs.readFileSync(codeCachePath(file));
    expect(loadInNewProcess(file).use).to.equal('used');
    // After the header's three lines, the compiled code, which holds the bundle's strings: changed
    // there, V8 alone would run the changed code.
    let header = 0;
    for (let line = 0; line < 3; line++) header = whole.indexOf('\n', header) + 1;
    const at = whole.indexOf('hello', header);
    expect(at, 'the string in the compiled code').to.be.above(0);
    const altered = Buffer.from(whole);
    altered.write('HELLO', at, 'latin1');
    fs.writeFileSync(codeCachePath(file), altered);
    expect(loadInNewProcess(file)).to.deep.equal({ value: 'hello from the bundle', use: 'damaged' });
    fs.writeFileSync(codeCachePath(file), whole.subarray(0, header));
    expect(loadInNewProcess(file)).to.deep.equal({ value: 'hello from the bundle', use: 'damaged' });
    fs.writeFileSync(codeCachePath(file), whole.subarray(0, whole.length - 100));
    expect(loadInNewProcess(file)).to.deep.equal({ value: 'hello from the bundle', use: 'damaged' });
  });

  it('ignores a cache file that others may write', () => {
    const file = path.join(dir, 'bundle.cjs');
    fs.writeFileSync(file, 'exports.value = async () => 7;\n');
    loadInNewProcess(file, { [WRITE_ENV]: dir });
    expect(fs.statSync(codeCachePath(file)).mode & 0o777).to.equal(0o644);
    fs.chmodSync(codeCachePath(file), 0o664);
    expect(loadInNewProcess(file)).to.deep.equal({ value: 7, use: 'untrusted' });
    fs.chmodSync(codeCachePath(file), 0o644);
    expect(loadInNewProcess(file).use).to.equal('used');
  });

  it('gives the bundle require, module, its own file and directory, and dynamic imports through the importer', async () => {
    const file = path.join(dir, 'bundle.cjs');
    fs.writeFileSync(path.join(dir, 'helper.cjs'), 'module.exports = { answer: 41 };\n');
    fs.writeFileSync(path.join(dir, 'late.mjs'), 'export const late = "imported";\n');
    fs.writeFileSync(
      file,
      [
        'const helper = require("./helper.cjs");',
        'module.exports = { answer: helper.answer + 1, file: __filename, dir: __dirname, self: this === module.exports,',
        `  late: async () => (await __vendorImport(${JSON.stringify(pathToFileURL(path.join(dir, 'late.mjs')).href)})).late };`,
      ].join('\n'),
    );
    const loaded = requireBundled(file, importer) as { answer: number; file: string; dir: string; self: boolean; late: () => Promise<string> };
    expect(codeCacheUses().get(file)).to.equal('none');
    expect({ answer: loaded.answer, file: loaded.file, dir: loaded.dir, self: loaded.self }).to.deep.equal({ answer: 42, file, dir, self: true });
    expect(await loaded.late()).to.equal('imported');
    // One copy per process: `require` of the same file, and a second load, find it.
    expect(createRequire(import.meta.url)(file)).to.equal(loaded);
    expect(requireBundled(file, importer)).to.equal(loaded);
  });

  it('a bundle that throws while loading is not left half-loaded', () => {
    const file = path.join(dir, 'bundle.cjs');
    fs.writeFileSync(file, 'exports.early = 1;\nthrow new Error("bundle: cannot start");\n');
    expect(() => requireBundled(file, importer)).to.throw('bundle: cannot start');
    fs.writeFileSync(file, 'exports.early = 2;\n');
    expect((requireBundled(file, importer) as { early: number }).early).to.equal(2);
  });
});
