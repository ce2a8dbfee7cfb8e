export * from './layout.js';
export * from './words.js';
export * from './job-page.js';
export * from './job-pages.js';
export * from './log-chunks.js';
export * from './atomic.js';
export { jsonForScript, sizeText, webRenderer } from './render.js';
