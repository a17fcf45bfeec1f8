// The I/O part of the Kiwi API module: the etcd client, the store and its read-modify-write,
// list-then-watch and the informer on it. The programs' runtime (log.ts, metrics.ts, settings.ts) is
// apart from both.
export * from './store.js';
export * from './etcd.js';
export * from './listwatch.js';
export * from './informer.js';
export * from './update.js';
