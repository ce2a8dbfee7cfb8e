#!/usr/bin/env node
// Runs before `npm test`: installs the Debian packages the suite needs when run as root,
// otherwise says precisely what to install. Does nothing when they are all present.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./install-system-packages.sh', import.meta.url));
const result = spawnSync('bash', [script], { stdio: 'inherit' });
process.exit(result.status ?? 1);
