import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { defaultConfigPath, type Env } from '../paths.js';
import type { LoadedConfig } from './load.js';
import type { SmokestackConfig } from './schema.js';

export interface ConfigSearch {
  flag?: string;
  env?: Env;
  cwd?: string;
}

/** Finds the config: --config, then SMOKESTACK_CONFIG, then ./smokestack.yaml, then XDG. */
export function findConfigPath(options: ConfigSearch = {}): string | undefined {
  const named = namedConfigPath(options);
  if (named) {
    if (!fs.existsSync(named.resolved)) {
      throw new UserError(`${named.given}: config file not found`, { hint: 'check --config or SMOKESTACK_CONFIG' });
    }
    return named.resolved;
  }
  return discoveredConfigPath(options);
}

/**
 * Whether there is a config to read (or a named one to report missing). Reading one loads the
 * YAML parser and the validator; a command run without a config file never needs either.
 */
export function hasConfigFile(options: ConfigSearch = {}): boolean {
  return namedConfigPath(options) !== undefined || discoveredConfigPath(options) !== undefined;
}

/** The embedded empty default: what the schema gives for `{}`, without loading the validator. */
export function defaultConfig(cwd: string = process.cwd()): LoadedConfig {
  const config: SmokestackConfig = { projects: [], templates: {}, quarantine: [], images: {} };
  return { dir: cwd, config };
}

function namedConfigPath(options: ConfigSearch): { given: string; resolved: string } | undefined {
  const given = options.flag ?? (options.env ?? process.env).SMOKESTACK_CONFIG;
  return given ? { given, resolved: path.resolve(options.cwd ?? process.cwd(), given) } : undefined;
}

function discoveredConfigPath(options: ConfigSearch): string | undefined {
  const cwd = options.cwd ?? process.cwd();
  for (const name of ['smokestack.yaml', 'smokestack.yml', 'smokestack.json']) {
    const candidate = path.join(cwd, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  const xdg = defaultConfigPath(options.env ?? process.env);
  return fs.existsSync(xdg) ? xdg : undefined;
}
