#!/usr/bin/env node
// Development entry: loads commands from src/ (run through bin/ at the repository root).
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
