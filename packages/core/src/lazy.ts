import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * A CommonJS dependency loaded the first time it is used. Every command imports the core
 * library, and most never open an SSH connection or render a template: loading those
 * libraries eagerly would slow down every cron call and every `jobs list`.
 */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}

/**
 * The core package's directory (where its templates/ and sql/ are), found through Node's module
 * resolution rather than from this file's place: a CLI's build bundles this code into its own
 * directory (scripts/bundle-clis.mjs).
 */
export function corePackageDir(): string {
  return path.dirname(require.resolve('@smokestack/core/package.json'));
}
