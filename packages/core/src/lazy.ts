import { createRequire } from 'node:module';
import path from 'node:path';
import { requireBundled } from './vendor/code-cache.js';

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
 * A package bundled into one file by scripts/bundle-vendor.mjs (`dist/vendor/<name>.cjs`), loaded the
 * first time it is used, compiled from the code the build saved for it (vendor/code-cache.ts); the
 * package itself when the bundle is not built (running from the sources).
 */
export function lazyVendored<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    const bundle = `@smokestack/core/vendor/${name}.cjs`;
    let file: string;
    try {
      file = require.resolve(bundle);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(bundle)) throw err;
      return (loaded = require(name) as T);
    }
    return (loaded = requireBundled(file, (specifier) => import(specifier)) as T);
  };
}

/**
 * The core package's directory (where its templates/ and sql/ are), found through Node's module
 * resolution rather than from this file's place: a CLI's build bundles this code into its own
 * directory (scripts/bundle-clis.mjs).
 */
export function corePackageDir(): string {
  return path.dirname(require.resolve('@smokestack/core/package.json'));
}
