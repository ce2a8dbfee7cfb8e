export * from './quote.js';
export * from './render.js';
