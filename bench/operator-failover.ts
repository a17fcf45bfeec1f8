// Operator failover: two real operators against one etcd; the leader is SIGKILLed, and the
// time until the standby holds the election key and a new booking goes Active is measured, next
// to the lease TTL (the floor: a standby cannot take over before the dead leader's lease
// expires). Repeated a few times. Also the memory of an idle operator and of a node daemon.
// Run: npx tsx bench/operator-failover.ts [rounds=5]
import { readFileSync } from 'node:fs';
import { median } from './stats.js';
import { record } from './record.js';
const { startEtcd } = await import('../test/helpers/etcd.js');
const { waitFor } = await import('../test/helpers/wait.js');
const { buildOperator, startOperator, mkBooking, mkNode } = await import('../test/integration/operator/helpers.js');
const { keys } = await import('../crds/api/index.js');
const { startDaemon, tempStateDir, removeDir } = await import('../test/e2e/daemon/harness.js');

const ROUNDS = Number(process.argv[2] ?? 5);
const TTL = 2;
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

await buildOperator();
const etcd = await startEtcd();
const store = etcd.store();
const client = etcd.client();
const ops = [startOperator(etcd.endpoint, { id: 'op-0', leaseTtl: TTL, logLevel: 'warn' }), startOperator(etcd.endpoint, { id: 'op-1', leaseTtl: TTL, logLevel: 'warn' })];
let n = 2;
const takeovers: number[] = [];
const toActive: number[] = [];
try {
  await store.create(mkNode('f1'));
  const leaderId = async () => {
    const kv = (await client.get(keys.election()).exec()).kvs[0];
    return kv ? (JSON.parse(kv.value.toString()).id as string) : undefined;
  };
  await waitFor(leaderId, { timeoutMs: 20_000, what: 'a leader' });
  for (let r = 0; r < ROUNDS; r++) {
    const id = (await leaderId())!;
    const i = ops.findIndex((o) => o.id === id);
    const t0 = performance.now();
    await ops[i].kill();
    await waitFor(async () => {
      const now = await leaderId();
      return now !== undefined && now !== id;
    }, { timeoutMs: 20_000, intervalMs: 10, what: 'a new leader' });
    takeovers.push(performance.now() - t0);
    await store.create(mkBooking('bench', `f${r}`, { nodes: ['f1'], duration: 1 }));
    await waitFor(async () => ['Active', 'Expired'].includes((await store.get({ kind: 'Booking', namespace: 'bench', name: `f${r}` }))?.status?.phase ?? ''), { timeoutMs: 20_000, intervalMs: 10, what: 'a booking decided by the new leader' });
    toActive.push(performance.now() - t0);
    ops[i] = startOperator(etcd.endpoint, { id: `op-${n++}`, leaseTtl: TTL, logLevel: 'warn' }); // a new standby
    await waitFor(async () => (await store.get({ kind: 'Booking', namespace: 'bench', name: `f${r}` }))?.status?.phase === 'Expired', { timeoutMs: 20_000, what: 'the 1 s booking over' });
  }
  const opRss = rssMiB(ops[0].proc.pid!);
  // A node daemon (the real one), idle, with its view of a node.
  const stateDir = tempStateDir();
  const d = await startDaemon({ endpoint: etcd.endpoint, node: 'f2', stateDir });
  await waitFor(async () => (await store.get({ kind: 'Node', name: 'f2' }))?.status?.phase === 'Ready', { timeoutMs: 20_000, what: 'daemon Ready' });
  const daemonRss = rssMiB(d.proc.pid!);
  await d.stop();
  removeDir(stateDir);
  console.log(`operator failover, lease TTL ${TTL} s, ${ROUNDS} rounds (leader SIGKILLed):`);
  console.log(`  new leader after ${median(takeovers).toFixed(0)} ms (median; max ${Math.max(...takeovers).toFixed(0)} ms), a booking decided after ${median(toActive).toFixed(0)} ms`);
  console.log(`  memory: operator ${opRss.toFixed(0)} MiB, node daemon ${daemonRss.toFixed(0)} MiB (RSS, idle)`);
  record({ bench: 'operator-failover', figure: 'operator failover: new leader after the leader is SIGKILLed (median)', value: median(takeovers), unit: 'ms', peer: 'lease TTL (the floor)', peerValue: TTL * 1000, goal: 'value < 3000', met: Math.max(...takeovers) < 3000 });
  record({ bench: 'operator-failover', figure: 'operator failover: a new booking decided (median)', value: median(toActive), unit: 'ms', peer: 'lease TTL (the floor)', peerValue: TTL * 1000 });
  record({ bench: 'operator-failover', figure: 'memory (RSS): node daemon, idle', value: daemonRss, unit: 'MiB', peer: 'operator, idle', peerValue: opRss });
} finally {
  for (const o of ops) await o.stop().catch(() => undefined);
  await etcd.stop();
}
process.exit(0);
