// Soak: a busy lab's churn in accelerated time. Bookings of one second on simulated nodes
// (kiwi-node-daemon --simulate) go through their whole life (created, Active, Expired, usage
// record, deleted after retention, events deleted after theirs) while the real operator plans,
// retains and compacts etcd behind it. Every retention is seconds instead of days, so that a
// day's churn runs in minutes. At checkpoints (every TOTAL/5 bookings made) it reports etcd's
// database size (file and in use) and the planning latency (booking created to decided, as a
// user sees it) of the bookings made since the last checkpoint: both should stay flat as the
// number of bookings ever made grows.
// Bookings are made at a steady RATE: unpaced, the planner outruns retention (which yields to it
// by design) and the backlog, not the churn, sets the size.
// Run: npx tsx bench/soak.ts [total=200000] [nodes=1000] [rate=300] (about 12 minutes at the defaults)
import { loadavg } from 'node:os';
import { pct, pool } from './stats.js';
import { record } from './record.js';
const { startEtcd, stopProc } = await import('../test/helpers/etcd.js');
const { waitFor } = await import('../test/helpers/wait.js');
const { buildOperator, startOperator, mkBooking } = await import('../test/integration/operator/helpers.js');
const { keys, CLUSTER_CONFIG_NAME } = await import('../crds/api/index.js');
const { validateObject } = await import('../crds/api/validate.js');
const { virtualNodeNames } = await import('../node-daemon/src/simulate/virtual-nodes.js');
const { distScript } = await import('../test/helpers/build.js');
const { spawn } = await import('node:child_process');

const TOTAL = Number(process.argv[2] ?? 200_000);
const NODES = Number(process.argv[3] ?? 1000);
/** Bookings made per second. */
const RATE = Number(process.argv[4] ?? 300);
const CHECKPOINTS = 5;
/** Live (not yet Expired) bookings at most: about two per node, so that some wait in line. */
const LIVE = 2 * NODES;
const IN_FLIGHT = 64;
// Accelerated time: a booking lasts 1 s; an Expired one is kept 5 s, events 5 s, usage records
// 30 s; etcd keeps 20 s of history. A lab's defaults are 30 d, 90 d, 5 y and 1 h.
const RETENTION = { expiredBookings: 5, events: 5, usageRecords: 30, etcdHistory: 60, compactEtcd: true }; // etcdHistory: the schema's least

interface Checkpoint { made: number; seconds: number; dbMiB: number; dbInUseMiB: number; p50: number; p99: number; rawP99: number; load: number; bookings: number; events: number; records: number }

await buildOperator();
const etcd = await startEtcd();
const store = etcd.store();
const client = etcd.client();
const names = virtualNodeNames({ count: NODES, prefix: 'soak' });
let sim: ReturnType<typeof spawn> | undefined;
const op = startOperator(etcd.endpoint, { id: 'soak', leaseTtl: 2, logLevel: 'warn', args: ['--retention-sweep', '0.5'] });
const status = async () => {
  const r = await fetch(`${etcd.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}' });
  const s = (await r.json()) as { dbSize: string; dbSizeInUse?: string };
  return { dbMiB: Number(s.dbSize) / 2 ** 20, dbInUseMiB: Number(s.dbSizeInUse ?? s.dbSize) / 2 ** 20 };
};
const count = async (prefix: string) => Number((await client.getAll().prefix(prefix).count()));
/** The floor at this moment, on this (shared, noisy) machine: raw create-if-absent txns, 8 in flight. */
let rawSeq = 0;
const rawP99 = async () => {
  const lat: number[] = [];
  await pool(200, 8, async () => {
    const k = `/bench/raw/${rawSeq++}`;
    const t = performance.now();
    await client.if(k, 'Create', '==', 0).then(client.put(k).value('x')).commit();
    lat.push(performance.now() - t);
  });
  await client.delete().prefix('/bench/raw/').exec();
  return pct(lat, 99);
};
const rows: Checkpoint[] = [];
let exit = 0;
try {
  // 50 users making 200,000 bookings: past the default userLimits (bench/scale.ts). Checked as
  // the operator checks it: a config it refuses (etcdHistory 20 once) leaves the default
  // retention of days, and the soak then waits for deletions that never come.
  const config = validateObject({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG_NAME }, spec: { retention: RETENTION, userLimits: { bookings: 1_000_000, bytes: 1 << 30 } } }, 'the soak\'s ClusterConfig');
  await store.create(config);
  sim = spawn(process.execPath, [distScript('kiwi-node-daemon'), '--simulate', String(NODES), '--node-name', 'soak', '--endpoints', etcd.endpoint, '--lease-ttl', '10', '--metrics-addr', 'none', '--log-level', 'warn'], { stdio: 'ignore' });
  await waitFor(async () => {
    const r = await store.rawRange(keys.statusPrefix('Node'));
    return r.kvs.filter((kv) => JSON.parse(kv.value.toString()).phase === 'Ready').length === NODES;
  }, { timeoutMs: 300_000, intervalMs: 200, what: `${NODES} nodes Ready` });

  const createdAt = new Map<string, number>();
  const latencies: number[] = [];
  let live = 0;
  const prefix = keys.statusPrefix('Booking');
  const w = await client.watch().prefix(prefix).create();
  const decided = new Set<string>();
  w.on('put', (kv) => {
    const k = kv.key.toString().slice(prefix.length);
    const ph = JSON.parse(kv.value.toString()).phase;
    if (!decided.has(k) && (ph === 'Active' || ph === 'Pending' || ph === 'Expired')) {
      decided.add(k);
      const t = createdAt.get(k);
      if (t !== undefined) latencies.push(performance.now() - t);
    }
    if (ph === 'Expired') {
      live--;
      createdAt.delete(k);
      decided.delete(k);
    }
  });

  const t0 = performance.now();
  let made = 0;
  let next = 0;
  const every = Math.ceil(TOTAL / CHECKPOINTS);
  let checkpointAt = every;
  const takeCheckpoint = async () => {
    const lat = latencies.splice(0);
    const s = await status();
    const [bookings, events, records] = await Promise.all([count(keys.specPrefix('Booking')), count(keys.eventsRoot()), count(keys.usagePrefix())]);
    const row: Checkpoint = { made, seconds: (performance.now() - t0) / 1000, ...s, p50: pct(lat, 50), p99: pct(lat, 99), rawP99: await rawP99(), load: loadavg()[0], bookings, events, records };
    rows.push(row);
    console.log(`  ${made} bookings made in ${row.seconds.toFixed(0)} s (${(made / row.seconds).toFixed(0)}/s): etcd db ${row.dbMiB.toFixed(1)} MiB (${row.dbInUseMiB.toFixed(1)} in use), created-to-decided p50 ${row.p50.toFixed(0)} ms p99 ${row.p99.toFixed(0)} ms (raw etcd txn p99 ${row.rawP99.toFixed(0)} ms, load ${row.load.toFixed(1)}); in etcd now: ${bookings} bookings, ${events} events, ${records} usage records`);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < TOTAL) {
      if (live >= LIVE) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const i = next++;
      const at = t0 + (i / RATE) * 1000;
      if (performance.now() < at) await new Promise((r) => setTimeout(r, at - performance.now()));
      const ns = `u${i % 50}`;
      const name = `s${i}`;
      live++;
      createdAt.set(`${ns}/${name}`, performance.now());
      await store.create(mkBooking(ns, name, { nodes: [names[i % NODES]], duration: 1 }));
      made++;
      if (made >= checkpointAt) {
        checkpointAt += every;
        await takeCheckpoint();
      }
    }
  }));
  // Drain: every booking Expired, deleted after its retention, and its events after theirs.
  await waitFor(async () => (await count(keys.specPrefix('Booking'))) === 0, { timeoutMs: 300_000, intervalMs: 500, what: 'every booking deleted after its retention' });
  await w.cancel();
  const rate = TOTAL / ((performance.now() - t0) / 1000);
  const leaderChanges = op.logs.filter((l) => l.msg === 'leadership lost').length;
  const first = rows[0];
  const last = rows[rows.length - 1];
  console.log(`\n${TOTAL} bookings through their whole life at ${rate.toFixed(0)}/s (made at ${RATE}/s) on ${NODES} simulated nodes; leadership lost ${leaderChanges} times`);
  console.log('bookings made   seconds   etcd db MiB   in use MiB   p50 ms   p99 ms   raw txn p99 ms   load   bookings   events   records');
  for (const r of rows) console.log(`${String(r.made).padStart(13)}   ${r.seconds.toFixed(0).padStart(7)}   ${r.dbMiB.toFixed(1).padStart(11)}   ${r.dbInUseMiB.toFixed(1).padStart(10)}   ${r.p50.toFixed(0).padStart(6)}   ${r.p99.toFixed(0).padStart(6)}   ${r.rawP99.toFixed(0).padStart(14)}   ${r.load.toFixed(1).padStart(4)}   ${String(r.bookings).padStart(8)}   ${String(r.events).padStart(6)}   ${String(r.records).padStart(7)}`);
  const at = (r: Checkpoint) => `after ${r.made} bookings`;
  const vsFirst = `the same ${at(first)} (first checkpoint)`;
  record({ bench: 'soak', figure: `bookings through their whole life/s, ${TOTAL} bookings, ${NODES} simulated nodes`, value: rate, unit: '/s', peer: 'the rate they were made at', peerValue: RATE });
  for (const r of rows.slice(1)) {
    record({ bench: 'soak', figure: `etcd db size, ${at(r)}`, value: r.dbMiB, unit: 'MiB', peer: vsFirst, peerValue: first.dbMiB, ...(r === last ? { goal: 'ratio <= 1.5 (flat)', met: r.dbMiB / first.dbMiB <= 1.5 } : {}) });
    record({ bench: 'soak', figure: `planning latency p99 (created to decided), ${at(r)}`, value: r.p99, unit: 'ms', peer: vsFirst, peerValue: first.p99, ...(r === last ? { goal: 'ratio <= 2 (flat)', met: r.p99 / first.p99 <= 2 } : {}) });
    record({ bench: 'soak', figure: `raw etcd create-if-absent p99 (the machine's floor), ${at(r)}`, value: r.rawP99, unit: 'ms', peer: vsFirst, peerValue: first.rawP99 });
  }
  record({ bench: 'soak', figure: `planning latency p50 (created to decided), ${at(last)}`, value: last.p50, unit: 'ms', peer: vsFirst, peerValue: first.p50 });
  record({ bench: 'soak', figure: 'leadership lost during the soak', value: leaderChanges, unit: '', peer: 'bookings made', peerValue: TOTAL, goal: 'value == 0', met: leaderChanges === 0 });
  if (leaderChanges || last.dbMiB / first.dbMiB > 1.5) exit = 1;
} finally {
  if (sim) await stopProc(sim);
  await op.stop();
  await etcd.stop();
}
process.exit(exit);
