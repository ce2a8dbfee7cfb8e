export * from './jobs.js';
export * from './prune.js';
