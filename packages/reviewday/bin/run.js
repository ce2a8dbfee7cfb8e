#!/usr/bin/env node
// The built CLI: its commands and the core library bundled by scripts/bundle-clis.mjs, started through
// the core library's executeCli from the same bundle.
import { executeCli } from '../dist/bundle/main.js';

await executeCli({ bin: 'reviewday', dir: import.meta.url });
