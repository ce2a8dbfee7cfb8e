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
