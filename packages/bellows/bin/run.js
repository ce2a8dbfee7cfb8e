#!/usr/bin/env node
// oclif checks the Node version against its own engines (older than ours) with semver: from oclif's own
// package that loads 47 modules on every call (the bundled build, see scripts/bundle-vendor.mjs, skips
// the check anyway). Unset again so nothing this CLI starts inherits the setting.
const skipEngineCheck = process.env.OCLIF_DISABLE_ENGINE_WARNING === undefined;
if (skipEngineCheck) process.env.OCLIF_DISABLE_ENGINE_WARNING = 'true';
const { executeCli } = await import('@smokestack/core/cli/execute');
if (skipEngineCheck) delete process.env.OCLIF_DISABLE_ENGINE_WARNING;

await executeCli({ bin: 'bellows', dir: import.meta.url });
