export * from './decide.js';
export * from './controller.js';
