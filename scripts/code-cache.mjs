#!/usr/bin/env node
// The last step of `npm run build`: saves V8's compiled code for the bundles commands load
// (@oclif/core, zod, yaml and axios: packages/core/dist/vendor/*.cjs) as `<bundle>.code-cache`, which
// the loader hands to V8 (packages/core/src/vendor/code-cache.ts). The cache is made by running one
// ordinary command, `bellows jobs list --json` with a config file on an empty store in a temporary
// directory, so it holds what start-up, the config's validation and a command compile, not only the
// bundles' top level; and, for axios, one request to a local server. It fits this Node only; another
// Node, or a bundle rebuilt since, compiles as before.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const vendor = path.join(root, 'packages', 'core', 'dist', 'vendor');
const BUNDLES = ['oclif.cjs', 'zod.cjs', 'yaml.cjs', 'axios.cjs'];
// packages/core/src/vendor/code-cache.ts: WRITE_ENV.
const WRITE_ENV = 'SMOKESTACK_WRITE_CODE_CACHE';

for (const bundle of BUNDLES) fs.rmSync(path.join(vendor, `${bundle}.code-cache`), { force: true });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-code-cache-'));
try {
  const config = path.join(dir, 'smokestack.yaml');
  fs.writeFileSync(config, 'projects:\n  - name: demo/app\n    templates: [smoke]\ntemplates:\n  smoke:\n    suites:\n      - name: smoke\n        command: ./smoke.sh\n');
  // Nothing of the account's own SmokeStack settings, caches or stores: only this directory's.
  const own = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SMOKESTACK_')));
  const env = { ...own, [WRITE_ENV]: vendor, SMOKESTACK_STATE: path.join(dir, 'state', 'state.json'), HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_CACHE_HOME: path.join(dir, 'cache'), XDG_DATA_HOME: path.join(dir, 'data'), NO_COLOR: '1' };
  const run = spawnSync(process.execPath, [path.join(root, 'packages', 'bellows', 'bin', 'run.js'), 'jobs', 'list', '--json', '--config', config], { cwd: dir, env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`code-cache: bellows jobs list exited ${run.status}: ${run.stderr.trim()}`);
  // axios, which commands load on their first request: here, one request to a server of this process.
  axiosRequest(env);
  const missing = BUNDLES.filter((bundle) => !fs.existsSync(path.join(vendor, `${bundle}.code-cache`)));
  if (missing.length) throw new Error(`code-cache: the command did not load ${missing.join(', ')}; name a command that does`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Loads the axios bundle in a new process, which sends one GET to a local server and saves the code at exit. */
function axiosRequest(env) {
  const script = `
    import http from 'node:http';
    import { requireBundled } from ${JSON.stringify(pathToFileURL(path.join(vendor, 'code-cache.js')).href)};
    const server = http.createServer((req, res) => res.end(JSON.stringify({ path: req.url })));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const axios = requireBundled(${JSON.stringify(path.join(vendor, 'axios.cjs'))}, (s) => import(s));
      const answer = await axios.create({ timeout: 10000 }).get(\`http://127.0.0.1:\${server.address().port}/changes/\`, { params: { q: 'status:open' } });
      if (answer.data.path !== '/changes/?q=status:open') throw new Error('unexpected answer ' + JSON.stringify(answer.data));
    } finally {
      server.close();
    }`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`code-cache: the axios request exited ${run.status}: ${run.stderr.trim()}`);
}
