// The I/O part of the Kiwi API module: the etcd client, the store and its read-modify-write,
// the informer (list-then-watch), and the programs' logger.
export * from './store.js';
export * from './etcd.js';
export * from './informer.js';
export * from './update.js';
export * from './log.js';
