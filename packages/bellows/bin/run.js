#!/usr/bin/env node
import { executeCli } from '@smokestack/core/cli';

await executeCli({ bin: 'bellows', dir: import.meta.url });
