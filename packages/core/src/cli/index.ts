export * from './base-command.js';
export * from './table.js';
export * from './mistakes.js';
export * from './execute.js';
