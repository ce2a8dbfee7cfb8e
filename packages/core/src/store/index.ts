export * from './schema.js';
export * from './file.js';
export * from './lock.js';
export * from './store.js';
