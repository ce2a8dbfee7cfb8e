#!/usr/bin/env node
// Start-up: every command loads @oclif/core (about 100 CommonJS modules), and every command with a
// config file loads zod and yaml (about 170 more), each module found on disk, read and compiled on
// its own. After `tsc -b` (see `npm run build`) this puts each of them into one file under
// packages/core/dist/vendor/ and replaces its compiled stub (packages/core/src/oclif.ts and
// src/vendor/*.ts, which re-export the package for the type checker and for runs from the sources)
// with an ES module that loads that file with `require` and names its exports. (An `import` of a
// CommonJS file makes Node scan its whole text for export names, which for one large file costs more
// than the bundle saves.) A bundle keeps its modules lazy: each runs when first required.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { writeIfChanged } from './write-if-changed.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'packages', 'core', 'dist');
const resolve = createRequire(path.join(root, 'packages', 'core', 'package.json')).resolve;
const load = createRequire(import.meta.url);

/**
 * Each package, the compiled stub that stands for it, and an export it must have. `only`: the names the
 * CLIs use (packages/core/src/oclif.ts exports the same), taken from the package's own entry points:
 * @oclif/core's main module also loads its help classes, ux, parser and performance modules on every call.
 */
const VENDORED = [
  {
    name: '@oclif/core',
    file: 'oclif',
    stub: 'oclif.js',
    expect: 'Command',
    only: {
      Args: "require('@oclif/core/args')",
      Command: "require('@oclif/core/command').Command",
      Config: "require('@oclif/core/config').Config",
      Flags: "require('@oclif/core/flags')",
      flush: "require('@oclif/core/flush').flush",
      handle: "require('@oclif/core/handle').handle",
      run: "require('@oclif/core/run').run",
      settings: "require('@oclif/core/settings').settings",
    },
  },
  { name: 'zod', file: 'zod', stub: 'vendor/zod.js', expect: 'z' },
  { name: 'yaml', file: 'yaml', stub: 'vendor/yaml.js', expect: 'parseDocument' },
];

/**
 * Start-up work @oclif/core does for every command that ours never need, put off until it is needed.
 * Each change must find its text exactly once in the installed @oclif/core, or the build stops: an
 * upgrade that moved the code is looked at again rather than silently bundled unchanged.
 * - Modules only some paths use are required when first used: `debug` (oclif's debug log, only with
 *   DEBUG set: the logger makes its debug functions at start-up), tinyglobby (command discovery without
 *   a manifest; ours have one), ejs (help and templated strings), the help classes (from the error
 *   handler, for help errors), the spinner (a terminal's progress display).
 * - Command ids are sorted by code point: `localeCompare` builds ICU's collator on its first call
 *   (about 10 ms of every start), and ids are lower-case words and colons, where both orders agree.
 * - The platform check reads WSL's details only on a kernel that says it is Microsoft's.
 */
const LAZY = (name, load) => [`const ${name} = ${load};`, `const ${name} = __lazyModule(() => ${load});`];
const OCLIF_PATCHES = {
  'lib/logger.js': [
    [
      'const debug = (0, debug_1.default)(namespace);',
      'let made;\n    const debug = (...args) => { if (made === undefined && !process.env.DEBUG) return; (made ??= (0, debug_1.default)(namespace))(...args); };',
    ],
    LAZY('debug_1', '__importDefault(require("debug"))'),
  ],
  'lib/config/plugin.js': [LAZY('tinyglobby_1', 'require("tinyglobby")'), ['.sort((a, b) => a.id.localeCompare(b.id));', '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));']],
  'lib/config/config.js': [LAZY('ejs_1', '__importDefault(require("ejs"))')],
  'lib/help/util.js': [LAZY('ejs_1', '__importDefault(require("ejs"))')],
  'lib/errors/handle.js': [LAZY('index_1', 'require("../help/index")')],
  'lib/ux/index.js': [LAZY('spinner_1', '__importDefault(require("./action/spinner"))')],
  'lib/util/os.js': [
    [
      "return (await import('wsl-utils')).isWsl ? 'wsl' : (0, node_os_1.platform)();",
      "return (0, node_os_1.platform)() === 'linux' && (0, node_os_1.release)().toLowerCase().includes('microsoft') && (await import('wsl-utils')).isWsl ? 'wsl' : (0, node_os_1.platform)();",
    ],
  ],
};
/** A module object that requires the module on its first property read. */
const LAZY_MODULE = 'function __lazyModule(load) { let m; return new Proxy({}, { get: (_, key) => (m ??= load())[key], has: (_, key) => key in (m ??= load()) }); }\n';

const oclifPatches = {
  name: 'oclif-start-up',
  setup(b) {
    const seen = new Set();
    b.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/ }, (args) => {
      const rel = args.path.split(path.sep).join('/').replace(/^.*\/@oclif\/core\//, '');
      const patches = OCLIF_PATCHES[rel];
      if (!patches) return undefined;
      let text = fs.readFileSync(args.path, 'utf8');
      for (const [find, replace] of patches) {
        const at = text.indexOf(find);
        if (at < 0 || text.indexOf(find, at + 1) >= 0) throw new Error(`bundle-vendor: @oclif/core/${rel}: expected "${find}" exactly once; look at OCLIF_PATCHES again`);
        text = text.slice(0, at) + replace + text.slice(at + find.length);
      }
      seen.add(rel);
      return { contents: (text.includes('__lazyModule(') ? LAZY_MODULE : '') + text, loader: 'js' };
    });
    b.onEnd(() => {
      const missing = Object.keys(OCLIF_PATCHES).filter((rel) => !seen.has(rel));
      if (missing.length) throw new Error(`bundle-vendor: @oclif/core modules not bundled any more: ${missing.join(', ')}; look at OCLIF_PATCHES again`);
    });
  },
};

for (const { name, file, stub, expect, only } of VENDORED) {
  const bundle = path.join(dist, 'vendor', `${file}.cjs`);
  const entry = only
    ? { stdin: { contents: Object.entries(only).map(([n, from]) => `exports.${n} = ${from};`).join('\n'), resolveDir: path.join(root, 'packages', 'core'), sourcefile: `${file}-entry.cjs` } }
    : { entryPoints: [resolve(name)] };
  const result = await build({
    ...entry,
    outfile: bundle,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Only oclif's development mode (TypeScript commands run in place) loads these; they stay outside.
    external: ['typescript', 'ts-node', 'tsx'],
    legalComments: 'none',
    logLevel: 'warning',
    plugins: name === '@oclif/core' ? [oclifPatches] : [],
  });
  writeIfChanged(bundle, result.outputFiles[0].text);
  const names = Object.keys(load(bundle)).filter((n) => n !== 'default' && n !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(n));
  if (!names.includes(expect)) throw new Error(`bundle-vendor: ${bundle} does not export ${expect} (${name})`);
  const stubPath = path.join(dist, stub);
  const relative = path.relative(path.dirname(stubPath), bundle).split(path.sep).join('/');
  writeIfChanged(
    stubPath,
    [
      `// ${name} as one bundled file (scripts/bundle-vendor.mjs), loaded with require.`,
      "import { createRequire } from 'node:module';",
      `const bundled = createRequire(import.meta.url)('${relative.startsWith('.') ? relative : `./${relative}`}');`,
      // Export names may be words that cannot name a variable (zod exports `null` and `undefined`).
      ...names.map((n, i) => `const v${i} = bundled[${JSON.stringify(n)}];`),
      `export { ${names.map((n, i) => `v${i} as ${n}`).join(', ')} };`,
      '',
    ].join('\n'),
  );
}
