export * from './cache.js';
export * from './client.js';
export * from './priorities.js';
