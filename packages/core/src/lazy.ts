import { createRequire } from 'node:module';

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
