// The Kiwi API module: what the operator, the node daemon and kiwictl share. Pure code
// (the planner, the daemon's decisions) imports ./pure.js, which reaches no etcd, file,
// network, logger or clock; this entry is pure.js, io.js and the programs' logger.
export * from './pure.js';
export * from './io.js';
export * from './log.js';
