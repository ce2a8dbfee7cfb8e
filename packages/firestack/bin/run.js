#!/usr/bin/env node
import { executeCli } from '@smokestack/core/cli';

await executeCli({ bin: 'firestack', dir: import.meta.url });
