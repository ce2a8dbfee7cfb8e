export * from './jobs.js';
export * from './transitions.js';
export * from './queue.js';
export * from './prune.js';
export * from './baseline.js';
export * from './workers.js';
