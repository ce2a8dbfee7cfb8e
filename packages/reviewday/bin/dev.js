#!/usr/bin/env node
// Development entry: loads commands from src/ (run through bin/ at the repository root).
import { executeCli } from '@smokestack/core/cli';

await executeCli({ bin: 'reviewday', dir: import.meta.url, development: true });
