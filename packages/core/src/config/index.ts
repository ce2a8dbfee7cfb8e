export * from './axes.js';
export * from './schema.js';
export * from './validate.js';
export * from './find.js';
export * from './load.js';
export * from './credentials.js';
