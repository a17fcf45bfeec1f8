// Scale with bookings that may go on any node (count 1, no nodes, no selector): bench/scale.ts
// with --count, as its own entry in the report. Such bookings join every node into one part,
// so passes cannot be scoped; this shows what that costs from 100 to 10,000 nodes.
// Run: npx tsx bench/scale-count.ts [sizes] [bookings per node]
process.argv.push('--count');
await import('./scale.js');
