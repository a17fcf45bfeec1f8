// Bench: one user flooding their own prefix (/kiwi/spec/bookings/<user>/) with `etcdctl put` as
// fast as they can (FLOODERS shell loops in parallel, each put a booking for a node that does not
// exist, so the operator must refuse every one), and another user's apply-to-Active latency
// p50/p99 before the flood (the peer) and during it, through the real operator process.
// Goal: during the flood, p99 stays under 10x the idle p99 (other users' bookings are not stopped).
// Run: npx tsx bench/flood.ts [seconds=20]
import { spawn, type ChildProcess } from 'node:child_process';
import { pct } from './stats.js';
import { record } from './record.js';
const { startEtcd, stopProc } = await import('../test/helpers/etcd.js');
const { waitFor } = await import('../test/helpers/wait.js');
const { buildOperator, startOperator, mkBooking, mkNode } = await import('../test/integration/operator/helpers.js');
const { keys } = await import('../crds/api/index.js');

const SECONDS = Number(process.argv[2] ?? 20);
const FLOODERS = 4;
const SAMPLES = 40;
const NODES = SAMPLES * 2;

await buildOperator();
const etcd = await startEtcd();
const store = etcd.store();
const client = etcd.client();
const op = startOperator(etcd.endpoint, { id: 'bench-flood', leaseTtl: 2, logLevel: 'warn' });
const flooders: ChildProcess[] = [];
try {
  const names = Array.from({ length: NODES }, (_, i) => `node-${i}`);
  for (const n of names) await store.create(mkNode(n));
  await waitFor(async () => (await client.get(keys.election()).exec()).kvs.length > 0, { timeoutMs: 30_000, what: 'operator leading' });
  const activeAt = new Map<string, number>();
  const w = await client.watch().prefix(keys.statusPrefix('Booking', 'victim')).create();
  w.on('put', (kv) => {
    if (JSON.parse(kv.value.toString()).phase === 'Active') activeAt.set(kv.key.toString().slice(keys.statusPrefix('Booking', 'victim').length), performance.now());
  });
  const sample = async (label: string, offset: number): Promise<number[]> => {
    const lat: number[] = [];
    for (let i = 0; i < SAMPLES / 2; i++) {
      const name = `${label}${i}`;
      const t0 = performance.now();
      await store.create(mkBooking('victim', name, { nodes: [names[offset + i]], duration: 3600 }));
      await waitFor(() => activeAt.has(name), { intervalMs: 1, timeoutMs: 30_000, what: `${name} Active` });
      lat.push(activeAt.get(name)! - t0);
    }
    return lat;
  };
  const idle = await sample('idle', 0);

  // The flood: each loop puts as fast as etcdctl can, into the flooder's own prefix.
  const value = JSON.stringify(mkBooking('flood', 'x', { nodes: ['no-such-node'], duration: 60 })).replace(/"name":"x"/, '"name":"NAME"');
  for (let f = 0; f < FLOODERS; f++) {
    const script = `i=0; while :; do i=$((i+1)); etcdctl --endpoints=${etcd.endpoint} put /kiwi/spec/bookings/flood/f${f}-$i "$(printf '%s' '${value}' | sed "s/NAME/f${f}-$i/")" >/dev/null || exit 1; done`;
    flooders.push(spawn('sh', ['-c', script], { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } }));
  }
  const floodStart = performance.now();
  await new Promise((r) => setTimeout(r, 2000)); // the flood is on
  const during = await sample('flood', SAMPLES / 2);
  const left = SECONDS * 1000 - (performance.now() - floodStart);
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  for (const p of flooders) await stopProc(p, 'SIGKILL');
  const floodSeconds = (performance.now() - floodStart) / 1000;
  const written = (await client.getAll().prefix(keys.specPrefix('Booking', 'flood')).keys()).length;
  await w.cancel();

  console.log(`flood bench: ${FLOODERS} etcdctl put loops in one user's prefix for ${floodSeconds.toFixed(0)} s: ${written} keys (${(written / floodSeconds).toFixed(0)} puts/s)`);
  console.log(`  another user's apply-to-Active, idle:         p50 ${pct(idle, 50).toFixed(1)} ms, p99 ${pct(idle, 99).toFixed(1)} ms`);
  console.log(`  another user's apply-to-Active, during flood: p50 ${pct(during, 50).toFixed(1)} ms, p99 ${pct(during, 99).toFixed(1)} ms (goal p99 < 10x idle)`);
  record({ bench: 'flood', figure: `apply-to-Active p50 during a ${FLOODERS}-loop etcdctl flood (${(written / floodSeconds).toFixed(0)} puts/s)`, value: pct(during, 50), unit: 'ms', peer: 'apply-to-Active p50 before the flood', peerValue: pct(idle, 50) });
  record({ bench: 'flood', figure: `apply-to-Active p99 during a ${FLOODERS}-loop etcdctl flood`, value: pct(during, 99), unit: 'ms', peer: 'apply-to-Active p99 before the flood', peerValue: pct(idle, 99), goal: 'ratio <= 10', met: pct(during, 99) / pct(idle, 99) <= 10 });
} finally {
  for (const p of flooders) await stopProc(p, 'SIGKILL');
  await op.stop();
  await etcd.stop();
}
