// Scale: the operator driven by simulated nodes (node-daemon/src/simulate, kubemark's idea) at
// 100, 1,000 and 10,000 nodes, with ten bookings per node (100,000 at 10,000 nodes): the first
// on each node starts at once, the other nine wait in line behind it. For each size: bookings
// decided per second (Active, or Pending with a planned slot) next to raw etcd create-if-absent
// transactions per second at the same size; apply-to-decided p50/p99; the operator's CPU time
// per booking and its memory, and the simulating daemon's memory, next to the same figure at the
// smallest size (flat means linear); `kiwictl get nodes` next to etcdctl; leadership changes
// during the run (none expected). Then how each figure grows from one size to the next.
// Run: npx tsx bench/scale.ts [sizes=100,1000,10000] [bookings per node=10] [--count]
// --count: every booking asks for one node of any (count 1, no nodes, no selector) instead of
// naming its node; each waiting one is then planned against every node in every pass.
import { pct, pool } from './stats.js';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { record } from './record.js';
import { ETCDCTL_NODES, etcdctlNodes, timeProcess } from './time-process.js';
const { startEtcd } = await import('../test/helpers/etcd.js');
const { waitFor } = await import('../test/helpers/wait.js');
const { buildOperator, startOperator, mkBooking } = await import('../test/integration/operator/helpers.js');
const { keys, CLUSTER_CONFIG_NAME } = await import('../crds/api/index.js');
const { virtualNodeNames } = await import('../node-daemon/src/simulate/virtual-nodes.js');
const { binPath, distScript } = await import('../test/helpers/build.js');
const { spawn } = await import('node:child_process');
const { stopProc } = await import('../test/helpers/etcd.js');

const args = process.argv.slice(2).filter((a) => a !== '--count');
const ANY_NODE = process.argv.includes('--count');
/** The report's name for these figures (bench/scale-count.ts runs this file with --count). */
const BENCH = ANY_NODE ? 'scale-count' : 'scale';
const SIZES = (args[0] ?? '100,1000,10000').split(',').map(Number);
/** Bookings per node: the first on each node starts at once, the others wait in line behind it. */
const PER_NODE = Number(args[1] ?? 10);
const IN_FLIGHT = 64;
const median3 = (f: () => number) => [f(), f(), f()].sort((x, y) => x - y)[1];
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
/** CPU time (user + system) a process has used so far, ms. */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
};

/** etcd's revision now: one per write transaction (a booking's create, each of the operator's txns, each heartbeat). */
const revisionOf = async (c: { get(k: string): { exec(): Promise<{ header: { revision: string } }> } }) => Number((await c.get('/bench/revision').exec()).header.revision);
/** The whole machine's busy CPU time so far, ms (all cores; /proc/stat's first line, USER_HZ 100). */
const machineBusyMs = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return ((f.reduce((a, b) => a + b, 0) - f[3] - f[4]) * 1000) / 100; // all but idle and iowait
};

interface Row { nodes: number; bookings: number; rawRate: number; rate: number; p50: number; p99: number; getNodes: number; etcdctl: number; rssMiB: number; simRssMiB: number; cpuPerBooking: number; readySeconds: number; leaderChanges: number }
const rows: Row[] = [];
await buildOperator();

for (const N of SIZES) {
  const etcd = await startEtcd();
  const stores = Array.from({ length: 4 }, () => etcd.store());
  const client = etcd.client();
  let sim: ReturnType<typeof spawn> | undefined;
  const names = virtualNodeNames({ count: N, prefix: 'sim' });
  // 50 users with up to 2,000 bookings each: past the default userLimits (1,000 keys a user), which
  // would Reject half of them and revoke the rest. A lab this size raises them; so does the bench.
  await stores[0].create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG_NAME }, spec: { userLimits: { bookings: 1_000_000, bytes: 1 << 30 } } } as any);
  const op = startOperator(etcd.endpoint, { id: `scale-${N}`, leaseTtl: 2, logLevel: 'warn' });
  try {
    // the raw peer at this size
    const RAW = 4000;
    let t = performance.now();
    const etcdCpuRaw0 = cpuMs(etcd.proc.pid!);
    await pool(RAW, IN_FLIGHT, (i) => {
      const c = stores[i % stores.length].etcd;
      return c.if(`/bench/raw/${i}`, 'Create', '==', 0).then(c.put(`/bench/raw/${i}`).value('x')).commit();
    });
    const rawRate = RAW / ((performance.now() - t) / 1000);
    const etcdPerRaw = (cpuMs(etcd.proc.pid!) - etcdCpuRaw0) / RAW;

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
    const cpu0 = cpuMs(op.proc.pid!);
    // Where the machine's CPU went while the bookings were decided (2 cores, shared): etcd, the
    // simulating daemon and this process (the clients) beside the operator.
    const [etcd0, sim0, self0, busy0, rev0] = [cpuMs(etcd.proc.pid!), cpuMs(sim.pid!), process.cpuUsage(), machineBusyMs(), await revisionOf(client)];
    await pool(B, IN_FLIGHT, async (i) => {
      const ns = `u${i % 50}`;
      const name = `b${i}`;
      appliedAt.set(`${ns}/${name}`, performance.now());
      await stores[i % stores.length].create(mkBooking(ns, name, ANY_NODE ? { count: 1, duration: 3600 } : { nodes: [names[i % N]], duration: 3600 }));
    });
    let shown = 0;
    await waitFor(() => {
      if (decidedAt.size - shown >= B / 10) console.log(`  ${(shown = decidedAt.size)} of ${B} decided after ${((performance.now() - t) / 1000).toFixed(0)} s`);
      return decidedAt.size >= B;
    }, { timeoutMs: 900_000, intervalMs: 50, what: `${B} bookings decided` });
    const cpuPerBooking = (cpuMs(op.proc.pid!) - cpu0) / B;
    const rate = B / ((Math.max(...decidedAt.values()) - t) / 1000);
    const wallMs = performance.now() - t;
    const self1 = process.cpuUsage(self0);
    const split = { etcd: (cpuMs(etcd.proc.pid!) - etcd0) / B, sim: (cpuMs(sim.pid!) - sim0) / B, clients: (self1.user + self1.system) / 1000 / B, machineBusy: (machineBusyMs() - busy0) / wallMs, writesPerBooking: ((await revisionOf(client)) - rev0) / B };
    console.log(`  CPU ms per booking: operator ${cpuPerBooking.toFixed(3)}, etcd ${split.etcd.toFixed(3)} (${etcdPerRaw.toFixed(3)} per raw create-if-absent txn), simulating daemon ${split.sim.toFixed(3)}, bench clients ${split.clients.toFixed(3)}; machine busy ${split.machineBusy.toFixed(2)} cores of ${availableParallelism()}; etcd revisions per booking ${split.writesPerBooking.toFixed(2)}`);
    const lat = [...decidedAt].map(([k, v]) => v - appliedAt.get(k)!);
    await w.cancel();

    const env = { ...process.env, KIWI_ENDPOINTS: etcd.endpoint, KIWI_STATE_DIR: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', ETCDCTL_API: '3' };
    const getNodes = median3(() => timeProcess(binPath('kiwictl'), ['get', 'nodes'], env).ms);
    const etcdctl = median3(() => etcdctlNodes(etcd.endpoint, env).ms);
    const leaderChanges = op.logs.filter((l) => l.msg === 'leadership lost').length;
    const row: Row = { nodes: N, bookings: B, rawRate, rate, p50: pct(lat, 50), p99: pct(lat, 99), getNodes, etcdctl, rssMiB: rssMiB(op.proc.pid!), simRssMiB: rssMiB(sim.pid!), cpuPerBooking, readySeconds, leaderChanges };
    rows.push(row);
    const first = rows[0];
    console.log(`${N} nodes, ${B} bookings: decided ${rate.toFixed(0)}/s (raw ${rawRate.toFixed(0)}/s), apply-to-decided p50 ${row.p50.toFixed(0)} ms p99 ${row.p99.toFixed(0)} ms, operator CPU ${cpuPerBooking.toFixed(3)} ms/booking, get nodes ${getNodes.toFixed(0)} ms (etcdctl ${etcdctl.toFixed(0)} ms), operator RSS ${row.rssMiB.toFixed(0)} MiB, simulated daemon RSS ${row.simRssMiB.toFixed(0)} MiB, ${N} nodes Ready in ${readySeconds.toFixed(1)} s, leadership lost ${leaderChanges} times`);
    const at = `${N} nodes, ${B} ${ANY_NODE ? 'count-1 ' : ''}bookings`;
    const atFirst = `the same at ${first.nodes} nodes`;
    record({ bench: BENCH, figure: `bookings decided/s, ${at}`, value: rate, unit: '/s', peer: 'raw etcd create-if-absent txns/s (64 in flight)', peerValue: rawRate });
    record({ bench: BENCH, figure: `apply-to-decided p99, ${at}`, value: row.p99, unit: 'ms', peer: 'apply-to-decided p50', peerValue: row.p50 });
    record({ bench: BENCH, figure: `operator CPU per booking decided, ${at}`, value: cpuPerBooking, unit: 'ms', peer: atFirst, peerValue: first.cpuPerBooking, goal: 'ratio <= 2 (linear)', met: cpuPerBooking / first.cpuPerBooking <= 2 });
    record({ bench: BENCH, figure: `operator RSS, ${at}`, value: row.rssMiB, unit: 'MiB', peer: atFirst, peerValue: first.rssMiB });
    if (!ANY_NODE) record({ bench: BENCH, figure: `simulating daemon RSS, ${N} nodes`, value: row.simRssMiB, unit: 'MiB', peer: atFirst, peerValue: first.simRssMiB });
    record({ bench: BENCH, figure: `leadership lost during the run, ${at}`, value: leaderChanges, unit: '', peer: 'bookings decided', peerValue: B, goal: 'value == 0', met: leaderChanges === 0 });
    // At small sizes both are mostly process start (node's ~60 ms against Go's ~10): a goal only where the data dominates.
    const big = N >= 10_000;
    if (!ANY_NODE) record({ bench: BENCH, figure: `kiwictl get nodes, ${N} nodes`, value: getNodes, unit: 'ms', peer: ETCDCTL_NODES, peerValue: etcdctl, ...(big ? { goal: 'ratio <= 3', met: getNodes / etcdctl <= 3 } : {}) });
  } finally {
    if (sim) await stopProc(sim);
    await op.stop();
    await etcd.stop();
  }
}

console.log('\ngrowth from one size to the next (x10 nodes): per-booking figures should stay flat');
console.log('nodes   bookings   decided/s   vs raw   p99 ms   CPU ms/booking   operator MiB   daemon MiB   get nodes/etcdctl');
for (const r of rows) console.log(`${String(r.nodes).padStart(6)}   ${String(r.bookings).padStart(8)}   ${r.rate.toFixed(0).padStart(9)}   ${(r.rate / r.rawRate).toFixed(2).padStart(6)}   ${r.p99.toFixed(0).padStart(6)}   ${r.cpuPerBooking.toFixed(3).padStart(14)}   ${r.rssMiB.toFixed(0).padStart(12)}   ${r.simRssMiB.toFixed(0).padStart(10)}   ${(r.getNodes / r.etcdctl).toFixed(2).padStart(17)}`);
process.exit(rows.every((r) => r.leaderChanges === 0) ? 0 : 1);
