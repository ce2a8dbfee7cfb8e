#!/usr/bin/env node
// The last step of `npm run build`: saves V8's compiled code for the bundles every command loads
// (@oclif/core, zod, yaml: packages/core/dist/vendor/*.cjs) as `<bundle>.code-cache`, which the
// packages' stubs hand to V8 (packages/core/src/vendor/code-cache.ts). The cache is made by running one
// ordinary command, `bellows jobs list --json` with a config file on an empty store in a temporary
// directory, so it holds what start-up, the config's validation and a command compile, not only the
// bundles' top level. It fits this Node only; another Node, or a bundle rebuilt since, compiles as before.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const vendor = path.join(root, 'packages', 'core', 'dist', 'vendor');
const BUNDLES = ['oclif.cjs', 'zod.cjs', 'yaml.cjs'];
// packages/core/src/vendor/code-cache.ts: WRITE_ENV.
const WRITE_ENV = 'SMOKESTACK_WRITE_CODE_CACHE';

for (const bundle of BUNDLES) fs.rmSync(path.join(vendor, `${bundle}.code-cache`), { force: true });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-code-cache-'));
try {
  const config = path.join(dir, 'smokestack.yaml');
  fs.writeFileSync(config, 'projects:\n  - name: demo/app\n    templates: [smoke]\ntemplates:\n  smoke:\n    suites:\n      - name: smoke\n        command: ./smoke.sh\n');
  const env = { ...process.env, [WRITE_ENV]: vendor, SMOKESTACK_STATE: path.join(dir, 'state', 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), NO_COLOR: '1' };
  const run = spawnSync(process.execPath, [path.join(root, 'packages', 'bellows', 'bin', 'run.js'), 'jobs', 'list', '--json', '--config', config], { cwd: dir, env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`code-cache: bellows jobs list exited ${run.status}: ${run.stderr.trim()}`);
  const missing = BUNDLES.filter((bundle) => !fs.existsSync(path.join(vendor, `${bundle}.code-cache`)));
  if (missing.length) throw new Error(`code-cache: the command did not load ${missing.join(', ')}; name a command that does`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
