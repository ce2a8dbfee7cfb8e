#!/usr/bin/env node
// Start-up: every command loads @oclif/core (about 100 CommonJS modules), every command with a
// config file loads zod and yaml (about 170 more), and every command that talks HTTP loads axios
// (about 60, 55 ms), each module found on disk, read and compiled on its own. After `tsc -b` (see `npm run build`) this puts each of them into one file under
// packages/core/dist/vendor/ and replaces its compiled stub (packages/core/src/oclif.ts and
// src/vendor/*.ts, which re-export the package for the type checker and for runs from the sources)
// with an ES module that loads that file with `require` and names its exports. (An `import` of a
// CommonJS file makes Node scan its whole text for export names, which for one large file costs more
// than the bundle saves.) A bundle keeps its modules lazy: each runs when first required. axios has no
// stub: net/http.ts requires its bundle (@smokestack/core/vendor/axios.cjs) the first time it sends.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';
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
  { name: 'axios', file: 'axios', expect: 'create' },
];

/**
 * Changes to a vendored package's own code: start-up work ours never need, put off until it is needed.
 * Each change must find its text exactly once in the installed package, or the build stops: an upgrade
 * that moved the code is looked at again rather than silently bundled unchanged.
 *
 * @oclif/core, for every command:
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
/**
 * axios, for every command that talks HTTP (its CommonJS build, dist/node/axios.cjs):
 * - form-data (multipart bodies, with mime-db's 190 KB table) and https-proxy-agent (HTTPS through a
 *   proxy) are required when first used. Both are classes axios constructs and tests with instanceof; the
 *   stand-in does both, and answers `Symbol.toStringTag` as the class itself does (it has none, its
 *   instances do), so that axios's config merging, which asks, does not load it.
 * - Its probe of the fetch API at load, which loads Node's built-in undici, is left to the first request
 *   that asks for the fetch adapter (ours use the http adapter), and its look at the global FormData
 *   (undici's too) to the first request body it checks.
 */
const LAZY_CLASS = (name, id) => [`var ${name} = require('${id}');`, `var ${name} = __lazyClass(() => require('${id}'));`];
const AXIOS_PATCHES = {
  'dist/node/axios.cjs': [
    LAZY_CLASS('FormData$1', 'form-data'),
    LAZY_CLASS('HttpsProxyAgent', 'https-proxy-agent'),
    ['\ngetFetch();\n', '\n'],
    [
      "const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;",
      "let globalFormData;\nconst FormDataCtor = () => (globalFormData ??= typeof G.FormData !== 'undefined' ? G.FormData : null);",
    ],
    ['if (FormDataCtor && thing instanceof FormDataCtor) return true;', 'if (FormDataCtor() && thing instanceof FormDataCtor()) return true;'],
  ],
};

/** A module object that requires the module on its first property read. */
const LAZY_MODULE = 'function __lazyModule(load) { let m; return new Proxy({}, { get: (_, key) => (m ??= load())[key], has: (_, key) => key in (m ??= load()) }); }\n';
/** A class (a module that is one) required when first constructed, called or read. */
const LAZY_CLASS_FN =
  'function __lazyClass(load) { let m; const get = () => (m ??= load()); return new Proxy(function () {}, { construct: (_, args) => Reflect.construct(get(), args), apply: (_, self, args) => Reflect.apply(get(), self, args), get: (_, key) => (key === Symbol.toStringTag ? undefined : Reflect.get(get(), key)) }); }\n';

/** An esbuild plugin applying `patches` (file under the package → [find, replace]...) to package `name`. */
function patchPackage(name, patches) {
  const marker = `/node_modules/${name}/`;
  return {
    name: `patch-${name}`,
    setup(b) {
      const seen = new Set();
      b.onLoad({ filter: /\.c?js$/ }, (args) => {
        const file = args.path.split(path.sep).join('/');
        const at = file.lastIndexOf(marker);
        if (at < 0) return undefined;
        const rel = file.slice(at + marker.length);
        const changes = patches[rel];
        if (!changes) return undefined;
        let text = fs.readFileSync(args.path, 'utf8');
        for (const [find, replace] of changes) {
          const i = text.indexOf(find);
          if (i < 0 || text.indexOf(find, i + 1) >= 0) throw new Error(`bundle-vendor: ${name}/${rel}: expected "${find.trim()}" exactly once; look at its patches again`);
          text = text.slice(0, i) + replace + text.slice(i + find.length);
        }
        seen.add(rel);
        const helpers = (text.includes('__lazyModule(') ? LAZY_MODULE : '') + (text.includes('__lazyClass(') ? LAZY_CLASS_FN : '');
        return { contents: helpers + text, loader: 'js' };
      });
      b.onEnd(() => {
        const missing = Object.keys(patches).filter((rel) => !seen.has(rel));
        if (missing.length) throw new Error(`bundle-vendor: ${name} modules not bundled any more: ${missing.join(', ')}; look at its patches again`);
      });
    },
  };
}

const PATCHES = { '@oclif/core': OCLIF_PATCHES, axios: AXIOS_PATCHES };

/**
 * Each bundle is compiled through node:vm (packages/core/src/vendor/code-cache.ts), where Node 20
 * cannot run `import()` without an experimental flag: each `await import(` becomes a call of the
 * importer the loader passes in (`__vendorImport`), or of a real import() when the file is required as
 * is. Any other dynamic import stops the build rather than failing when a command first reaches it.
 */
async function importThroughLoader(name, text) {
  const rewritten = text.replace(/\bawait import\(/g, 'await __vendorImport(');
  // Read without its comments (esbuild drops them), where JSDoc's {import('…')} types are not calls.
  const { code } = await transform(rewritten, { format: 'cjs', platform: 'node', target: 'node20', minifyWhitespace: true, legalComments: 'none' });
  const left = [...code.matchAll(/(?<![\w$."'`])import\s*\(/g)];
  if (left.length) throw new Error(`bundle-vendor: ${name}: a dynamic import that is not awaited: ${code.slice(left[0].index, left[0].index + 60)}; look at importThroughLoader again`);
  if (rewritten === text) return text;
  const fallback = 'var __vendorImport = typeof __vendorImport === "function" ? __vendorImport : (specifier) => import(specifier);\n';
  const strict = /^"use strict";\n/.exec(rewritten);
  return strict ? strict[0] + fallback + rewritten.slice(strict[0].length) : fallback + rewritten;
}

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
    plugins: PATCHES[name] ? [patchPackage(name, PATCHES[name])] : [],
  });
  writeIfChanged(bundle, await importThroughLoader(name, result.outputFiles[0].text));
  const names = Object.keys(load(bundle)).filter((n) => n !== 'default' && n !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(n));
  if (!names.includes(expect)) throw new Error(`bundle-vendor: ${bundle} does not export ${expect} (${name})`);
  if (!stub) continue;
  const stubPath = path.join(dist, stub);
  const relative = path.relative(path.dirname(stubPath), bundle).split(path.sep).join('/');
  const loader = path.relative(path.dirname(stubPath), path.join(dist, 'vendor', 'code-cache.js')).split(path.sep).join('/');
  writeIfChanged(
    stubPath,
    [
      `// ${name} as one bundled file (scripts/bundle-vendor.mjs), compiled with its saved code (vendor/code-cache.js).`,
      "import { fileURLToPath } from 'node:url';",
      `import { requireBundled } from '${loader.startsWith('.') ? loader : `./${loader}`}';`,
      // The bundle's dynamic imports are made from here (see importThroughLoader).
      `const bundled = requireBundled(fileURLToPath(new URL('${relative.startsWith('.') ? relative : `./${relative}`}', import.meta.url)), (specifier) => import(specifier));`,
      // Export names may be words that cannot name a variable (zod exports `null` and `undefined`).
      ...names.map((n, i) => `const v${i} = bundled[${JSON.stringify(n)}];`),
      `export { ${names.map((n, i) => `v${i} as ${n}`).join(', ')} };`,
      '',
    ].join('\n'),
  );
}
