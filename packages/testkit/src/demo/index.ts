export * from './scenario.js';
export * from './cycle.js';
export * from './verdict.js';
