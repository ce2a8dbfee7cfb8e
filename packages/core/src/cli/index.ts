export * from './base-command.js';
export * from './table.js';
