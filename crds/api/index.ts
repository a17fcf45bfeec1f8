// The Kiwi API module: what the operator, the node daemon and kiwictl share.
export * from './types.js';
export * from './kinds.js';
export * from './keys.js';
export * from './errors.js';
export * from './duration.js';
export * from './selector.js';
export * from './store.js';
export * from './decode.js';
export * from './etcd.js';
export * from './informer.js';
export * from './log.js';
export * from './config.js';
export * from './time.js';
export * from './conditions.js';
export * from './endpoints.js';
export * from './usage.js';
