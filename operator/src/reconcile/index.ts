export * from './queue.js';
export * from './cache.js';
export * from './reconciler.js';
export * from './users.js';
