import os from 'node:os';
import path from 'node:path';

export type Env = Record<string, string | undefined>;

/** XDG base directories, with the spec's defaults when the variables are unset or relative. */
export function xdgConfigHome(env: Env = process.env): string {
  return absoluteOr(env.XDG_CONFIG_HOME, path.join(homeDir(env), '.config'));
}

export function xdgStateHome(env: Env = process.env): string {
  return absoluteOr(env.XDG_STATE_HOME, path.join(homeDir(env), '.local', 'state'));
}

export function xdgCacheHome(env: Env = process.env): string {
  return absoluteOr(env.XDG_CACHE_HOME, path.join(homeDir(env), '.cache'));
}

export function homeDir(env: Env = process.env): string {
  return env.HOME && path.isAbsolute(env.HOME) ? env.HOME : os.homedir();
}

function absoluteOr(value: string | undefined, fallback: string): string {
  return value && path.isAbsolute(value) ? value : fallback;
}

export function defaultStatePath(env: Env = process.env): string {
  return path.join(xdgStateHome(env), 'smokestack', 'state.json');
}

export function defaultConfigPath(env: Env = process.env): string {
  return path.join(xdgConfigHome(env), 'smokestack', 'smokestack.yaml');
}

/** `~/x` in a config value, in the home directory of `env`. */
export function expandHome(file: string, env: Env = process.env): string {
  return file.startsWith('~/') ? path.join(homeDir(env), file.slice(2)) : file;
}
