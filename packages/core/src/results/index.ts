export * from './types.js';
export * from './summary.js';
export * from './junit.js';
export * from './subunit.js';
export * from './classify.js';
export * from './patterns.js';
export * from './required.js';
export * from './history.js';
