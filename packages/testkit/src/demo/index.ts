export * from './scenario.js';
export * from './cycle.js';
