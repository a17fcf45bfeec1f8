export * from './decide.js';
export * from './controller.js';
export * from './usage.js';
