export * from './apt-sources.js';
export * from './definition.js';
export * from './store.js';
export * from './build.js';
export * from './service.js';
