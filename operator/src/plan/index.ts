// The pure core of the operator (reservable windows: crds/api/windows.ts): calendars, filters, admission and the planner.
export * from './types.js';
export * from './calendar.js';
export * from './status.js';
export * from './filters.js';
export * from './admission.js';
export * from './plan.js';
export * from './txn.js';
export * from './scope.js';
export * from './earliest.js';
export * from './pools.js';
