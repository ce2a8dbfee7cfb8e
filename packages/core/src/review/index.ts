export * from './score.js';
export * from './report.js';
export * from './render.js';
export * from './service.js';
export * from './snapshot.js';
export * from './project-file.js';
