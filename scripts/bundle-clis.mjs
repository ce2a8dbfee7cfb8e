#!/usr/bin/env node
// Start-up: a command used to load about 40 ES modules of its own and of the core library, and Node 20
// resolves, links and evaluates each of them on its own (about half a millisecond apiece). After
// `tsc -b`, the vendor bundles and `oclif manifest` (see `npm run build`), this bundles each CLI's
// commands, with the core library code they import, into packages/<cli>/dist/bundle/: one file per
// command plus chunks shared between commands, so `bellows jobs list` loads six files. The CLI's
// bin/run.js starts from dist/bundle/main.js (the core library's executeCli), so one copy of the core
// library runs in the process. oclif.manifest.json is then pointed at the bundled commands.
//
// What stays outside: @oclif/core, zod and yaml (already one file each, scripts/bundle-vendor.mjs),
// every other package (loaded from node_modules as before, most of them lazily), and the tsc output
// itself, which the oclif hooks keep using (the development entry, bin/dev.js, runs the sources).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { writeIfChanged } from './write-if-changed.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// `node scripts/bundle-clis.mjs [CLI...]`: all three unless named (bench/report.mjs builds one).
const CLIS = process.argv.length > 2 ? process.argv.slice(2) : ['bellows', 'firestack', 'reviewday'];
const coreDist = path.join(root, 'packages', 'core', 'dist');

/** The directory of package `name` as Node finds it from `dir`: the first node_modules/<name> walking up. */
function packageDirFrom(dir, name) {
  for (let at = dir; ; at = path.dirname(at)) {
    const candidate = path.join(at, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (path.dirname(at) === at) return undefined;
  }
}

/**
 * A package the bundle leaves as an import is resolved from the CLI's dist/bundle/ at run time, no longer
 * from the importing module's own package: each must be the same copy from both places (a package that
 * npm nested under packages/core/node_modules, at another version than the root's, would not be).
 */
function checkExternals(cli, outdir, imports) {
  for (const [name, importers] of imports) {
    const fromBundle = packageDirFrom(outdir, name);
    for (const importer of importers) {
      const fromImporter = packageDirFrom(path.dirname(importer), name);
      if (fromBundle !== fromImporter) {
        throw new Error(`bundle-clis: ${cli}: ${path.relative(root, importer)} imports ${name}, found at ${fromImporter ?? 'nowhere'} from there but at ${fromBundle ?? 'nowhere'} from ${path.relative(root, outdir)}`);
      }
    }
  }
}

/** The package name of a bare specifier: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** A file under packages/core/dist that stands for a vendored package: kept as the package's own import. */
function vendorSpecifier(file) {
  const relative = path.relative(coreDist, file).split(path.sep).join('/');
  if (relative === 'oclif.js') return '@smokestack/core/oclif';
  const vendor = /^vendor\/([\w-]+)\.js$/.exec(relative);
  return vendor ? `@smokestack/core/vendor/${vendor[1]}` : undefined;
}

/** Bare imports left to Node, by package name, with the files that import them (for checkExternals). */
const externalImports = new Map();

const externals = {
  name: 'smokestack-externals',
  setup(b) {
    // Packages from node_modules stay imports; the workspace's own packages are bundled.
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      if (args.path === '@smokestack/core/oclif' || args.path.startsWith('@smokestack/core/vendor/')) return { path: args.path, external: true };
      if (args.path.startsWith('@smokestack/')) return undefined;
      const name = packageName(args.path);
      if (!externalImports.has(name)) externalImports.set(name, new Set());
      externalImports.get(name).add(args.importer);
      return { path: args.path, external: true };
    });
    b.onResolve({ filter: /^\./ }, (args) => {
      const specifier = vendorSpecifier(path.resolve(args.resolveDir, args.path));
      return specifier ? { path: specifier, external: true } : undefined;
    });
  },
};

for (const cli of CLIS) {
  const pkg = path.join(root, 'packages', cli);
  const dist = path.join(pkg, 'dist');
  const outdir = path.join(dist, 'bundle');
  externalImports.clear();
  const commands = fs
    .readdirSync(path.join(dist, 'commands'), { recursive: true })
    .filter((f) => f.endsWith('.js'))
    .map((f) => ({ in: path.join(dist, 'commands', f), out: path.join('commands', f.slice(0, -'.js'.length)) }));
  const result = await build({
    entryPoints: [...commands, { in: path.join(coreDist, 'cli', 'execute.js'), out: 'main' }],
    outdir,
    write: false,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['node', 'import', 'default'],
    plugins: [externals],
    logLevel: 'error',
    absWorkingDir: root,
    metafile: true,
  });
  checkExternals(cli, outdir, externalImports);
  // meta.json: the modules in each bundled file, for tests of what a command loads (packages/bellows/test/commands/startup.test.ts).
  const meta = Object.fromEntries(
    Object.entries(result.metafile.outputs).map(([out, { inputs }]) => [path.relative(outdir, path.join(root, out)).split(path.sep).join('/'), Object.keys(inputs)]),
  );
  result.outputFiles.push({ path: path.join(outdir, 'meta.json'), contents: Buffer.from(`${JSON.stringify(meta, null, 1)}\n`) });
  // build-id: what this build runs, by content (every bundled file and the vendored bundles beside core), so a
  // cache of what the code computed (the validated config, packages/core/src/config/cache.ts) is never taken
  // from another build.
  const identity = createHash('sha256');
  const vendorDir = path.join(coreDist, 'vendor');
  const identified = [
    ...result.outputFiles.map((f) => ({ name: path.relative(outdir, f.path), contents: f.contents })),
    ...fs.readdirSync(vendorDir).filter((f) => f.endsWith('.cjs')).map((f) => ({ name: `vendor/${f}`, contents: fs.readFileSync(path.join(vendorDir, f)) })),
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const f of identified) identity.update(f.name).update('\0').update(f.contents).update('\0');
  result.outputFiles.push({ path: path.join(outdir, 'build-id'), contents: Buffer.from(`${identity.digest('hex')}\n`) });
  const written = new Set();
  // Chunks first: an entry is only replaced once everything it imports is in place.
  const files = [...result.outputFiles].sort((a, b) => Number(!a.path.includes(`${path.sep}chunks${path.sep}`)) - Number(!b.path.includes(`${path.sep}chunks${path.sep}`)));
  for (const file of files) {
    writeIfChanged(file.path, file.contents);
    written.add(file.path);
  }
  for (const name of fs.readdirSync(outdir, { recursive: true })) {
    const file = path.join(outdir, name);
    if (!written.has(file) && fs.statSync(file).isFile()) fs.rmSync(file);
  }

  // The manifest oclif wrote from dist/commands: each command's file is now its bundle.
  const manifestPath = path.join(pkg, 'oclif.manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  for (const [id, command] of Object.entries(manifest.commands)) {
    const at = command.relativePath ?? [];
    if (at[0] === 'dist' && at[1] === 'commands') command.relativePath = ['dist', 'bundle', ...at.slice(1)];
    else if (!(at[0] === 'dist' && at[1] === 'bundle' && at[2] === 'commands')) throw new Error(`bundle-clis: ${cli} ${id}: the manifest names ${at.join('/')}, not a file under dist/commands`);
    if (!fs.existsSync(path.join(pkg, ...command.relativePath))) throw new Error(`bundle-clis: ${cli} ${id}: no bundle at ${command.relativePath.join('/')}`);
  }
  writeIfChanged(manifestPath, Buffer.from(JSON.stringify(manifest)));
}
