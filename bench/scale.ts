// Scale: the operator driven by simulated nodes (node-daemon/src/simulate, kubemark's idea) at
// 100, 1,000 and 10,000 nodes, with twice as many bookings as nodes (half start at once, half
// wait in line). For each size: bookings decided per second (Active or Pending with a planned
// slot) next to raw etcd create-if-absent transactions per second at the same size, apply-to-
// decided p50/p99, `kiwictl get nodes` next to etcdctl, and the operator's memory. Then how
// each figure grows from one size to the next: per-booking costs should stay flat (linear).
// Run: npx tsx bench/scale.ts [sizes=100,1000,10000] [bookings per node=2]
import { spawnSync } from 'node:child_process';
import { pct, median, pool } from './stats.js';
import { readFileSync } from 'node:fs';
import { record } from './record.js';
const { startEtcd } = await import('../test/helpers/etcd.js');
const { waitFor } = await import('../test/helpers/wait.js');
const { buildOperator, startOperator, mkBooking } = await import('../test/integration/operator/helpers.js');
const { keys } = await import('../crds/api/index.js');
const { virtualNodeNames } = await import('../node-daemon/src/simulate/virtual-nodes.js');
const { binPath, distScript } = await import('../test/helpers/build.js');
const { spawn } = await import('node:child_process');
const { stopProc } = await import('../test/helpers/etcd.js');

const SIZES = (process.argv[2] ?? '100,1000,10000').split(',').map(Number);
/** Bookings per node: the first on each node starts at once, the others wait in line behind it. */
const PER_NODE = Number(process.argv[3] ?? 2);
const IN_FLIGHT = 64;
function timeCmd(cmd: string, args: string[], env: Record<string, string>): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return performance.now() - t;
}
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

interface Row { nodes: number; bookings: number; rawRate: number; rate: number; p50: number; p99: number; getNodes: number; etcdctl: number; rssMiB: number; readySeconds: number }
const rows: Row[] = [];
await buildOperator();

for (const N of SIZES) {
  const etcd = await startEtcd();
  const stores = Array.from({ length: 4 }, () => etcd.store());
  const client = etcd.client();
  let sim: ReturnType<typeof spawn> | undefined;
  const names = virtualNodeNames({ count: N, prefix: 'sim' });
  const op = startOperator(etcd.endpoint, { id: `scale-${N}`, leaseTtl: 2, logLevel: 'warn' });
  try {
    // the raw peer at this size
    const RAW = Math.min(2 * N, 4000);
    let t = performance.now();
    await pool(RAW, IN_FLIGHT, (i) => {
      const c = stores[i % stores.length].etcd;
      return c.if(`/bench/raw/${i}`, 'Create', '==', 0).then(c.put(`/bench/raw/${i}`).value('x')).commit();
    });
    const rawRate = RAW / ((performance.now() - t) / 1000);

    t = performance.now();
    // the daemon's simulated-node mode: one process stands in for N node daemons
    sim = spawn(process.execPath, [distScript('kiwi-node-daemon'), '--simulate', String(N), '--node-name', 'sim', '--endpoints', etcd.endpoint, '--lease-ttl', '10', '--metrics-addr', 'none', '--log-level', 'warn'], { stdio: 'ignore' });
    await waitFor(async () => {
      const r = await stores[0].rawRange(keys.statusPrefix('Node'));
      return r.kvs.filter((kv) => JSON.parse(kv.value.toString()).phase === 'Ready').length === N;
    }, { timeoutMs: 300_000, intervalMs: 200, what: `${N} nodes Ready` });
    const readySeconds = (performance.now() - t) / 1000;

    const B = PER_NODE * N;
    const appliedAt = new Map<string, number>();
    const decidedAt = new Map<string, number>();
    const prefix = keys.statusPrefix('Booking');
    const w = await client.watch().prefix(prefix).create();
    w.on('put', (kv) => {
      const k = kv.key.toString().slice(prefix.length);
      const ph = JSON.parse(kv.value.toString()).phase;
      if ((ph === 'Active' || ph === 'Pending') && !decidedAt.has(k)) decidedAt.set(k, performance.now());
    });
    t = performance.now();
    await pool(B, IN_FLIGHT, async (i) => {
      const ns = `u${i % 50}`;
      const name = `b${i}`;
      appliedAt.set(`${ns}/${name}`, performance.now());
      await stores[i % stores.length].create(mkBooking(ns, name, { nodes: [names[i % N]], duration: 3600 }));
    });
    await waitFor(() => decidedAt.size >= B, { timeoutMs: 600_000, intervalMs: 50, what: `${B} bookings decided` });
    const rate = B / ((Math.max(...decidedAt.values()) - t) / 1000);
    const lat = [...decidedAt].map(([k, v]) => v - appliedAt.get(k)!);
    await w.cancel();

    const env = { KIWI_ENDPOINTS: etcd.endpoint };
    const getNodes = median([0, 1, 2].map(() => timeCmd(binPath('kiwictl'), ['get', 'nodes'], env)));
    const etcdctl = median([0, 1, 2].map(() => timeCmd('etcdctl', ['--endpoints', etcd.endpoint, 'get', '--prefix', '/kiwi/spec/nodes/'], { ETCDCTL_API: '3' })));
    const row: Row = { nodes: N, bookings: B, rawRate, rate, p50: pct(lat, 50), p99: pct(lat, 99), getNodes, etcdctl, rssMiB: rssMiB(op.proc.pid!), readySeconds };
    rows.push(row);
    console.log(`${N} nodes, ${B} bookings: decided ${rate.toFixed(0)}/s (raw ${rawRate.toFixed(0)}/s), apply-to-decided p50 ${row.p50.toFixed(0)} ms p99 ${row.p99.toFixed(0)} ms, get nodes ${getNodes.toFixed(0)} ms (etcdctl ${etcdctl.toFixed(0)} ms), operator RSS ${row.rssMiB.toFixed(0)} MiB, ${N} nodes Ready in ${readySeconds.toFixed(1)} s`);
    record({ bench: 'scale', figure: `bookings decided/s, ${N} nodes, ${B} bookings`, value: rate, unit: '/s', peer: 'raw etcd create-if-absent txns/s', peerValue: rawRate });
    record({ bench: 'scale', figure: `apply-to-decided p99, ${N} nodes`, value: row.p99, unit: 'ms', peer: 'apply-to-decided p50', peerValue: row.p50 });
    record({ bench: 'scale', figure: `kiwictl get nodes, ${N} nodes`, value: getNodes, unit: 'ms', peer: 'etcdctl get --prefix (same keys)', peerValue: etcdctl, goal: 'ratio <= 3', met: getNodes / etcdctl <= 3 });
    record({ bench: 'scale', figure: `operator RSS, ${N} nodes, ${B} bookings`, value: row.rssMiB, unit: 'MiB', peer: 'operator RSS at the smallest size', peerValue: rows[0].rssMiB });
  } finally {
    if (sim) await stopProc(sim);
    await op.stop();
    await etcd.stop();
  }
}

console.log('\ngrowth from one size to the next (x10 nodes): per-booking time should stay flat');
console.log('nodes     decided/s   vs raw   p99 ms   get nodes/etcdctl   RSS MiB');
for (const r of rows) console.log(`${String(r.nodes).padStart(6)}   ${r.rate.toFixed(0).padStart(9)}   ${(r.rate / r.rawRate).toFixed(2).padStart(6)}   ${r.p99.toFixed(0).padStart(6)}   ${(r.getNodes / r.etcdctl).toFixed(2).padStart(17)}   ${r.rssMiB.toFixed(0).padStart(7)}`);
process.exit(0);
