#!/usr/bin/env node
// Runs every benchmark in bench/ (or those named on the command line) one after another.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const all = fs.readdirSync(dir).filter((f) => f.endsWith('.mjs') && !['run.mjs', 'lib.mjs'].includes(f) && !f.startsWith('.')).map((f) => f.replace(/\.mjs$/, ''));
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : all;
let failed = 0;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`bench: no benchmark named "${name}" (have: ${all.join(', ')})`);
    process.exit(1);
  }
  const result = spawnSync(process.execPath, [path.join(dir, `${name}.mjs`)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
