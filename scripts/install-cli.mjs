#!/usr/bin/env node
// Installs bellows, firestack and reviewday as commands: `npm run install-cli -- [--prefix DIR] [--pack DIR]`.
//
// The three CLIs and the core library are packed from this repository's workspaces, together with
// every production dependency already in node_modules, into one npm package (smokestack-VERSION.tgz)
// whose dependencies are all bundled. `npm install --global --offline` of that file then needs no
// registry and no npm cache: what gets installed is exactly what this checkout built and tested.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLIS = ['bellows', 'firestack', 'reviewday'];
const WORKSPACES = ['core', ...CLIS];
const DEFAULT_PREFIX = '/usr/local';
const USAGE = 'usage: npm run install-cli -- [--prefix DIR] [--pack DIR]';

class UsageError extends Error {}

function npm(args, options = {}) {
  return execFileSync('npm', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

function parseOptions(argv) {
  try {
    const { values } = parseArgs({ args: argv, options: { prefix: { type: 'string' }, pack: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.prefix !== undefined && values.pack !== undefined) throw new UsageError('--prefix and --pack: give one (--pack only writes the package file)');
    return values;
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError(err.message.split('\n')[0]);
  }
}

/** The four workspaces as npm would publish them (only their `files`), unpacked under node_modules/@smokestack/. */
function packWorkspaces(stage) {
  const tarballs = path.join(stage, 'tarballs');
  fs.mkdirSync(tarballs, { recursive: true });
  const args = ['pack', '--silent', '--json', '--pack-destination', tarballs, ...WORKSPACES.flatMap((w) => ['--workspace', `packages/${w}`])];
  const packed = JSON.parse(npm(args));
  for (const p of packed) {
    const dir = path.join(stage, 'package', 'node_modules', ...p.name.split('/'));
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(tarballs, p.filename), '-C', dir, '--strip-components=1']);
  }
  return packed;
}

/** Copies the production dependencies of the workspaces, as npm laid them out in node_modules. */
function copyDependencies(stage) {
  const listed = npm(['ls', '--omit=dev', '--all', '--parseable', ...WORKSPACES.flatMap((w) => ['--workspace', `packages/${w}`])])
    .split('\n')
    .filter(Boolean)
    .map((p) => path.relative(ROOT, p))
    .filter((p) => p.includes('node_modules') && !p.startsWith(path.join('node_modules', '@smokestack')))
    .sort();
  const copied = [];
  for (const rel of listed) {
    if (copied.some((c) => rel.startsWith(`${c}${path.sep}`))) continue; // nested ones come with their parent
    // packages/core/node_modules/x belongs to the core package: it goes beside core's unpacked files.
    const target = rel.startsWith('packages')
      ? path.join(stage, 'package', 'node_modules', '@smokestack', rel.split(path.sep)[1], ...rel.split(path.sep).slice(2))
      : path.join(stage, 'package', rel);
    fs.cpSync(path.join(ROOT, rel), target, { recursive: true, verbatimSymlinks: true });
    copied.push(rel);
  }
  return copied.length;
}

/** The one package that puts the three commands on PATH, with every dependency bundled. */
function writeUmbrella(stage, packed) {
  const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const dir = path.join(stage, 'package');
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  for (const cli of CLIS) {
    const file = path.join(dir, 'bin', `${cli}.js`);
    fs.writeFileSync(file, `#!/usr/bin/env node\nimport '../node_modules/@smokestack/${cli}/bin/run.js';\n`, { mode: 0o755 });
  }
  const pkg = {
    name: 'smokestack',
    version: root.version,
    description: root.description,
    license: root.license,
    type: 'module',
    engines: root.engines,
    bin: Object.fromEntries(CLIS.map((c) => [c, `bin/${c}.js`])),
    files: ['bin'],
    dependencies: Object.fromEntries(packed.map((p) => [p.name, p.version])),
    bundleDependencies: true,
  };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const [{ filename }] = JSON.parse(npm(['pack', '--silent', '--json', '--pack-destination', stage], { cwd: dir }));
  return path.join(stage, filename);
}

function install(tarball, prefix) {
  fs.mkdirSync(prefix, { recursive: true });
  // --offline: everything is in the file, so no registry and no cache is ever needed. --ignore-scripts:
  // the bundled dependencies are the ones this checkout ran with (ssh2 and cpu-features would otherwise
  // compile optional native code for a minute).
  const args = ['install', '--global', '--prefix', prefix, '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball];
  npm(args, { stdio: 'inherit' });
}

function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    console.log(`${USAGE}\n  --prefix DIR  install the commands into DIR/bin (default ${DEFAULT_PREFIX}; ~/.local for your user)\n  --pack DIR    only write smokestack-VERSION.tgz into DIR (install it elsewhere with: npm install -g --offline FILE)`);
    return;
  }
  const prefix = path.resolve(options.prefix ?? DEFAULT_PREFIX);
  console.error('install-cli: building');
  npm(['run', 'build', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-install-'));
  try {
    const packed = packWorkspaces(stage);
    const count = copyDependencies(stage);
    const tarball = writeUmbrella(stage, packed);
    console.error(`install-cli: packed ${path.basename(tarball)} (${packed.length} workspaces, ${count} dependencies bundled)`);
    if (options.pack !== undefined) {
      fs.mkdirSync(options.pack, { recursive: true });
      const target = path.join(path.resolve(options.pack), path.basename(tarball));
      fs.copyFileSync(tarball, target);
      console.log(target);
      return;
    }
    install(tarball, prefix);
    const bin = path.join(prefix, 'bin');
    console.log(`installed ${CLIS.join(', ')} in ${bin}`);
    if (!(process.env.PATH ?? '').split(':').includes(bin)) console.error(`install-cli: note: ${bin} is not on PATH`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  console.error(`install-cli: error: ${err instanceof UsageError ? `${err.message} (${USAGE})` : err.message.split('\n')[0]}`);
  process.exit(1);
}
