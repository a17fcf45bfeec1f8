// Bench: bookings activated per second through the real operator process (bin/kiwi-operator)
// with 1,000 nodes, printed next to raw etcd create-if-absent transactions per second measured
// in the same run (machines are noisy: compare the ratios), and apply-to-Active latency
// p50/p99 on an idle cluster next to raw create-if-absent latency. Goals: at least half the
// raw rate; p99 under 50 ms.
//   live burst: 64 clients apply bookings at once while the operator runs (apply + activate);
//   backlog:    bookings applied while no operator runs, then one starts: the operator alone.
// Run: npx tsx bench/operator.ts [nodes=1000]; KIWI_BENCH_TMPFS=1 puts etcd's data on /dev/shm
// (no fsync cost: the disk of a shared VM adds its own tail to every write).
import { existsSync } from 'node:fs';
import { pct, pool } from './stats.js';
import { record } from './record.js';
if (process.env.KIWI_BENCH_TMPFS === '1' && existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
const { startEtcd } = await import('../test/helpers/etcd.js');
const { waitFor } = await import('../test/helpers/wait.js');
const { buildOperator, startOperator, mkBooking, mkNode } = await import('../test/integration/operator/helpers.js');
const { keys } = await import('../crds/api/index.js');

const NODES = Number(process.argv[2] ?? 1000);
const SAMPLES = Math.floor(NODES * 0.2);
const BURST = Math.floor(NODES * 0.4);
const IN_FLIGHT = 64;


await buildOperator();
const etcd = await startEtcd();
const stores = Array.from({ length: 4 }, () => etcd.store());
const client = etcd.client();
let op = startOperator(etcd.endpoint, { id: 'bench-1', leaseTtl: 2, logLevel: 'warn' });
try {
  // Raw etcd peers: create-if-absent transactions through the same client library.
  const RAW = 3000;
  let t = performance.now();
  await pool(RAW, IN_FLIGHT, (i) => {
    const c = stores[i % stores.length].etcd; // the same connections the applies use
    return c.if(`/bench/raw/${i}`, 'Create', '==', 0).then(c.put(`/bench/raw/${i}`).value('x')).commit();
  });
  const rawRate = RAW / ((performance.now() - t) / 1000);
  const rawLat: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await client.if(`/bench/rawlat/${i}`, 'Create', '==', 0).then(client.put(`/bench/rawlat/${i}`).value('x')).commit();
    rawLat.push(performance.now() - t0);
  }

  const names = Array.from({ length: NODES }, (_, i) => `node-${String(i).padStart(4, '0')}`);
  await pool(NODES, IN_FLIGHT, (i) => stores[i % stores.length].create(mkNode(names[i])));
  await waitFor(async () => (await client.get(keys.election()).exec()).kvs.length > 0, { timeoutMs: 30_000, what: 'operator leading' });

  const activeAt = new Map<string, number>();
  const w = await client.watch().prefix(keys.statusPrefix('Booking')).create();
  w.on('put', (kv) => {
    if (JSON.parse(kv.value.toString()).phase === 'Active') {
      const k = kv.key.toString().slice(keys.statusPrefix('Booking').length);
      if (!activeAt.has(k)) activeAt.set(k, performance.now());
    }
  });
  const activeOf = (ns: string) => [...activeAt].filter(([k]) => k.startsWith(ns + '/'));

  // Latency on an idle cluster: one booking at a time, apply -> Active seen.
  const lat: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const key = `lat/b${i}`;
    const t0 = performance.now();
    await stores[0].create(mkBooking('lat', `b${i}`, { nodes: [names[i]], duration: 3600 }));
    await waitFor(() => activeAt.has(key), { intervalMs: 1, timeoutMs: 10_000, what: `${key} Active` });
    lat.push(activeAt.get(key)! - t0);
  }

  // Live burst: IN_FLIGHT clients apply at once while the operator runs.
  t = performance.now();
  await pool(BURST, IN_FLIGHT, (i) => stores[i % stores.length].create(mkBooking('burst', `b${i}`, { nodes: [names[SAMPLES + i]], duration: 3600 })));
  const appliedMs = performance.now() - t;
  await waitFor(() => activeOf('burst').length === BURST, { intervalMs: 5, timeoutMs: 60_000, what: 'burst Active' });
  const liveRate = BURST / ((Math.max(...activeOf('burst').map(([, v]) => v)) - t) / 1000);

  // Backlog: apply while no operator runs; then start one and time it from its election.
  await op.stop();
  await pool(BURST, IN_FLIGHT, (i) => stores[i % stores.length].create(mkBooking('backlog', `b${i}`, { nodes: [names[SAMPLES + BURST + i]], duration: 3600 })));
  let electedAt = 0;
  const we = await client.watch().key(keys.election()).create();
  we.on('put', () => (electedAt ||= performance.now()));
  op = startOperator(etcd.endpoint, { id: 'bench-2', leaseTtl: 2, logLevel: 'warn' });
  await waitFor(() => activeOf('backlog').length === BURST, { intervalMs: 5, timeoutMs: 60_000, what: 'backlog Active' });
  const backlogRate = BURST / ((Math.max(...activeOf('backlog').map(([, v]) => v)) - electedAt) / 1000);
  await we.cancel();
  await w.cancel();

  const ratio = (x: number) => `${((x / rawRate) * 100).toFixed(0)}% of raw`;
  console.log(`kiwi-operator bench: ${NODES} nodes; etcd data on ${process.env.TMPDIR === '/dev/shm' ? 'tmpfs' : 'disk'}`);
  console.log(`  raw etcd create-if-absent txns/s, ${IN_FLIGHT} in flight, ${stores.length} conns: ${rawRate.toFixed(0)}`);
  console.log(`  activated/s, backlog of ${BURST} (the operator alone):       ${backlogRate.toFixed(0)}  (${ratio(backlogRate)}; goal >= 50%)`);
  console.log(`  activated/s, live burst of ${BURST} (${IN_FLIGHT} clients applying):  ${liveRate.toFixed(0)}  (${ratio(liveRate)}; the applies alone took ${appliedMs.toFixed(0)} ms = ${(BURST / (appliedMs / 1000)).toFixed(0)}/s)`);
  console.log(`  raw create-if-absent latency, sequential: p50 ${pct(rawLat, 50).toFixed(1)} ms, p99 ${pct(rawLat, 99).toFixed(1)} ms`);
  console.log(`  apply-to-Active latency, idle cluster (${lat.length} samples): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms (goal p99 < 50 ms)`);
  const raw = `raw etcd create-if-absent txns/s (${IN_FLIGHT} in flight)`;
  record({ bench: 'operator', figure: `bookings activated/s, backlog of ${BURST}, ${NODES} nodes`, value: backlogRate, unit: '/s', peer: raw, peerValue: rawRate, goal: 'ratio >= 0.5', met: backlogRate / rawRate >= 0.5 });
  record({ bench: 'operator', figure: `bookings activated/s, live burst of ${BURST}, ${NODES} nodes`, value: liveRate, unit: '/s', peer: raw, peerValue: rawRate, goal: 'ratio >= 0.5', met: liveRate / rawRate >= 0.5 });
  record({ bench: 'operator', figure: 'apply-to-Active p50, idle cluster', value: pct(lat, 50), unit: 'ms', peer: 'raw create-if-absent p50', peerValue: pct(rawLat, 50) });
  record({ bench: 'operator', figure: 'apply-to-Active p99, idle cluster', value: pct(lat, 99), unit: 'ms', peer: 'raw create-if-absent p99', peerValue: pct(rawLat, 99), goal: 'value < 50', met: pct(lat, 99) < 50 });
} finally {
  await op.stop();
  await etcd.stop();
}
