export * from './types.js';
export * from './schema.js';
export * from './file.js';
export * from './lock.js';
export * from './archive.js';
export * from './live-set.js';
export * from './store.js';
export * from './test-history.js';
