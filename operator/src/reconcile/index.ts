export * from './queue.js';
export * from './cache.js';
export * from './reconciler.js';
