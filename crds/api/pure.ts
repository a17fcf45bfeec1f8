// The pure part of the Kiwi API module: types, kinds, keys, the codec, validation's pieces,
// durations, times, conditions, policy. Nothing here opens a connection, reads a file, logs,
// counts a metric or reads the clock, so the planner and the daemon's decide/ import this
// entry (test/unit/architecture/purity.test.ts bundles them and checks).
export * from './types.js';
export * from './kinds.js';
export * from './keys.js';
export * from './errors.js';
export * from './duration.js';
export * from './selector.js';
export * from './decode.js';
export * from './config.js';
export * from './time.js';
export * from './conditions.js';
export * from './endpoints.js';
export * from './immutable.js';
export * from './usage.js';
export * from './power.js';
export * from './pool.js';
export * from './ledger.js';
