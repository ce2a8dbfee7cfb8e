#!/usr/bin/env node
// Start-up: every command of the three CLIs loads @oclif/core, about 100 CommonJS modules, each found
// on disk, read and compiled on its own. After `tsc -b` (see `npm run build`) this puts them into one
// file, packages/core/dist/oclif/index.cjs, and replaces the compiled packages/core/dist/oclif.js
// with an ES module that loads that file with `require` and names its exports. (An `import` of a
// CommonJS file makes Node scan its whole text for export names, which for one large file costs more
// than the bundle saves.) The bundle keeps oclif's modules lazy: each runs when first required.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'packages', 'core', 'dist');
const require = createRequire(path.join(root, 'packages', 'core', 'package.json'));
const entry = require.resolve('@oclif/core');
const bundle = path.join(dist, 'oclif', 'index.cjs');

await build({
  entryPoints: [entry],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Only oclif's development mode (TypeScript commands run in place) loads these; they stay outside.
  external: ['typescript', 'ts-node', 'tsx'],
  legalComments: 'none',
  logLevel: 'warning',
});

const names = Object.keys(createRequire(import.meta.url)(bundle)).filter((n) => n !== 'default' && n !== '__esModule');
if (!names.includes('Command') || !names.includes('run')) throw new Error(`bundle-oclif: ${bundle} does not export oclif's Command and run`);
fs.writeFileSync(
  path.join(dist, 'oclif.js'),
  [
    '// @oclif/core as one bundled file (scripts/bundle-oclif.mjs), loaded with require.',
    "import { createRequire } from 'node:module';",
    "const oclif = createRequire(import.meta.url)('./oclif/index.cjs');",
    `export const { ${names.join(', ')} } = oclif;`,
    '',
  ].join('\n'),
);
