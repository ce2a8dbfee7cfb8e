#!/usr/bin/env node
import { executeCli } from '@smokestack/core/cli';

await executeCli({ bin: 'reviewday', dir: import.meta.url });
