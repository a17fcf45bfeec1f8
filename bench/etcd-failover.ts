// The production-like setup: a 3-member etcd on loopback, the operator and 200 simulated
// nodes connected to all three, 1,200 bookings applied by 32 clients, and the raft leader
// SIGKILLed a third of the way in (the worst member to lose: writes in flight wait for a new
// leader). Afterwards every booking must be there and decided (Active
// or Pending), and no calendar value ever written may overlap. Reported: the apply rate before
// and after the loss, the longest single apply (the stall the loss caused) next to the p50.
// Run: npx tsx bench/etcd-failover.ts
import { record } from './record.js';
import { pct } from './stats.js';
const { startEtcdCluster } = await import('../test/helpers/etcd.js');
const { waitFor } = await import('../test/helpers/wait.js');
const { buildOperator, startOperator, mkBooking, calendarHistory } = await import('../test/integration/operator/helpers.js');
const { connect, Store, logger } = await import('../crds/api/index.js');
const { startVirtualNodes } = await import('../node-daemon/src/simulate/virtual-nodes.js');

const NODES = 200;
const BOOKINGS = 1200;
const KILL_AT = 400;
const IN_FLIGHT = 32;

await buildOperator();
const cluster = await startEtcdCluster(3);
const etcd = connect({ endpoints: cluster.endpoints, callTimeoutMs: 5000 });
const store = new Store(etcd, { endpoints: cluster.endpoints, retries: 6 });
const op = startOperator(cluster.endpoints.join(','), { id: 'failover-bench', leaseTtl: 2, logLevel: 'warn' });
let vn: Awaited<ReturnType<typeof startVirtualNodes>> | undefined;
let failed = false;
try {
  vn = await startVirtualNodes(store, etcd, { count: NODES, prefix: 'sim', leaseTtlSeconds: 10 }, logger('bench', 'warn'));
  await waitFor(async () => (await store.list('Node')).filter((n) => n.status?.phase === 'Ready').length === NODES, { timeoutMs: 60_000, intervalMs: 100, what: 'nodes Ready' });
  const lat: { i: number; ms: number; at: number }[] = [];
  let killedAt = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < BOOKINGS) {
      const i = next++;
      if (i === KILL_AT) {
        killedAt = performance.now();
        void cluster.leader().then((m) => cluster.kill(m));
      }
      const t = performance.now();
      await store.create(mkBooking(`u${i % 20}`, `b${i}`, { nodes: [vn!.names[i % NODES]], duration: 3600 }));
      lat.push({ i, ms: performance.now() - t, at: performance.now() });
    }
  }));
  const end = performance.now();
  const before = lat.filter((l) => l.at < killedAt).length / ((killedAt - t0) / 1000);
  const after = lat.filter((l) => l.at >= killedAt).length / ((end - killedAt) / 1000);
  const worst = Math.max(...lat.map((l) => l.ms));
  const p50 = pct(lat.map((l) => l.ms), 50);

  // Nothing lost: every booking there and decided; no calendar value ever overlapped.
  await waitFor(async () => {
    const bs = await store.list('Booking');
    return bs.length === BOOKINGS && bs.every((b) => b.status?.phase === 'Active' || b.status?.phase === 'Pending');
  }, { timeoutMs: 120_000, intervalMs: 250, what: `all ${BOOKINGS} bookings decided after the member loss` });
  const hist = await calendarHistory(etcd);
  if (hist.overlaps.length) throw new Error(`overlapping calendar values: ${hist.overlaps.slice(0, 3).join('; ')}`);
  const active = (await store.list('Booking')).filter((b) => b.status?.phase === 'Active').length;
  console.log(`3-member etcd, the raft leader SIGKILLed after ${KILL_AT} of ${BOOKINGS} applies (${IN_FLIGHT} clients, ${NODES} simulated nodes)`);
  console.log(`  applies/s before the loss ${before.toFixed(0)}, after ${after.toFixed(0)} (${((after / before) * 100).toFixed(0)}%)`);
  console.log(`  apply latency p50 ${p50.toFixed(1)} ms, longest ${worst.toFixed(0)} ms (the stall the loss caused)`);
  console.log(`  all ${BOOKINGS} bookings decided (${active} Active, ${BOOKINGS - active} Pending), ${hist.values} calendar values checked, no overlap, none lost`);
  record({ bench: 'etcd-failover', figure: 'applies/s after losing the raft leader, 1 of 3 etcd members', value: after, unit: '/s', peer: 'applies/s before the loss', peerValue: before });
  record({ bench: 'etcd-failover', figure: 'longest apply across the raft leader loss', value: worst, unit: 'ms', peer: 'apply p50', peerValue: p50 });
  record({ bench: 'etcd-failover', figure: 'bookings lost', value: 0, unit: '', peer: 'bookings applied', peerValue: BOOKINGS, goal: 'value == 0', met: true });
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await vn?.stop();
  await op.stop();
  etcd.close();
  await cluster.stop();
}
process.exit(failed ? 1 : 0);
