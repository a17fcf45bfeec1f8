// Bench: accounting. (1) 50 clients race for an account that pays for exactly 10 bookings,
// through the real operator, RUNS times: exactly 10 admitted every run, and the time until all
// 50 are decided next to the same burst with no Account in the cluster (measured first, same
// run). (2) A year of usage records (COUNT, default 100,000, filed across 2026) read and grouped
// by `kiwictl usage --by user,pool`, whole process, next to etcdctl reading the same keys.
// Run: npx tsx bench/accounting.ts [runs] [records]
import type { Account, UsageRecord } from '../crds/api/index.js';
import { keys, putOp } from '../crds/api/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { ensureBuilt, KIWICTL, ROOT } from '../test/integration/kiwictl/cli.js';
import { startOperator, mkBooking, mkNode } from '../test/integration/operator/helpers.js';
import { waitFor } from '../test/helpers/wait.js';
import { median } from './stats.js';
import { record } from './record.js';
import { timeProcess } from './time-process.js';

const RUNS = Number(process.argv[2] ?? 5);
const COUNT = Number(process.argv[3] ?? 100_000);
const CLIENTS = 50;

await ensureBuilt();
const etcd = await startEtcd();
const op = startOperator(etcd.endpoint, { id: 'bench-acct', leaseTtl: 2, logLevel: 'warn' });
try {
  const store = etcd.store();
  const stores = Array.from({ length: 16 }, () => etcd.store());
  /** One burst of 50 bookings on 50 fresh nodes; ms until every one is decided, and how many went Active. */
  const burst = async (tag: string): Promise<{ ms: number; admitted: number }> => {
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => store.create(mkNode(`${tag}-${i}`))));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => stores[i % stores.length].create(mkBooking(`racer${i}`, tag, { nodes: [`${tag}-${i}`], duration: 3600 }))));
    const done = await waitFor(async () => {
      const bs = (await store.list('Booking')).filter((b) => b.metadata.name === tag);
      return bs.length === CLIENTS && bs.every((b) => b.status?.phase) ? bs : undefined;
    }, { timeoutMs: 60_000, intervalMs: 5, what: `burst ${tag} decided` });
    return { ms: performance.now() - t0, admitted: done.filter((b) => b.status!.phase === 'Active').length };
  };
  await burst('warmup'); // the operator's first passes (JIT, caches) are not what either side measures
  const plain: number[] = [];
  for (let r = 0; r < RUNS; r++) plain.push((await burst(`plain${r}`)).ms);
  const users = Array.from({ length: CLIENTS }, (_, i) => `racer${i}`);
  const charged: number[] = [];
  const admitted: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    // A fresh account per run, the only one its racers belong to (the earlier ones are emptied of members).
    for (let p = 0; p < r; p++) await store.apply({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name: `race${p}` }, spec: { members: { users: [] }, allocation: { units: 10 } } } as Account);
    await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name: `race${r}` }, spec: { members: { users }, allocation: { units: 10 } } } as Account);
    const b = await burst(`race${r}`);
    charged.push(b.ms);
    admitted.push(b.admitted);
  }
  const exact = admitted.every((n) => n === 10);
  console.log(`admitted per run (account pays for 10 of ${CLIENTS}): ${admitted.join(' ')} ${exact ? 'OK' : 'MISSED'}`);
  console.log(`50 bookings decided, median: with the account ${median(charged).toFixed(0)} ms, no account ${median(plain).toFixed(0)} ms`);
  record({ bench: 'accounting', figure: `50 racing bookings, account pays for 10: fewest admitted of ${RUNS} runs`, value: Math.min(...admitted), unit: 'bookings', peer: 'what the account pays for', peerValue: 10, goal: 'exactly 10 in every run', met: exact });
  record({ bench: 'accounting', figure: '50 racing bookings on an account, all decided (median)', value: median(charged), unit: 'ms', peer: 'the same burst with no Account, same run', peerValue: median(plain), goal: 'ratio <= 2', met: median(charged) / median(plain) <= 2 });

  // (2) a year of records, written straight into etcd as the retention controller files them.
  const t0 = performance.now();
  const start = Date.parse('2026-01-01T00:00:00Z');
  const span = 365 * 86400_000;
  for (let i = 0; i < COUNT; i += 100) {
    const ops = [];
    for (let j = i; j < Math.min(COUNT, i + 100); j++) {
      const end = start + Math.floor((j / COUNT) * span);
      const user = `u${j % 200}`;
      const r: UsageRecord = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'UsageRecord', metadata: { name: `b${j}.${j + 1}`, namespace: user }, spec: { booking: { name: `b${j}`, uid: `${j + 1}-0000000000000000`, createRevision: j + 1 }, user, nodes: [`n${j % 500}`], startTime: new Date(end - 3600_000).toISOString(), endTime: new Date(end).toISOString(), nodeSeconds: 3600, reason: 'TimeLimit', filedAt: new Date(end).toISOString(), account: `acct${j % 20}`, units: 1.5, period: new Date(end).toISOString().slice(0, 7), pool: j % 3 ? 'cpu' : 'gpu' } };
      ops.push(putOp(keys.usage(r.spec.filedAt, user, r.metadata.name!), r));
    }
    await store.txn('bench records', [], ops);
  }
  console.log(`wrote ${COUNT} usage records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const env = { ...process.env, KIWI_ENDPOINTS: etcd.endpoint, KIWI_STATE_DIR: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', ETCDCTL_API: '3' };
  const kiwi: number[] = [];
  const ctl: number[] = [];
  for (let i = 0; i < 5; i++) {
    const k = timeProcess(KIWICTL, ['usage', '--from', '2026-01-01T00:00:00Z', '--to', '2027-01-01T00:00:00Z', '--by', 'user,pool'], env, { cwd: ROOT });
    if (k.lines < 400) throw new Error(`kiwictl usage printed ${k.lines} lines`);
    kiwi.push(k.ms);
    const e = timeProcess('etcdctl', ['--endpoints', etcd.endpoint, 'get', '--prefix', keys.usagePrefix()], env);
    if (e.lines < 2 * COUNT) throw new Error(`etcdctl printed ${e.lines} lines`);
    ctl.push(e.ms);
  }
  const [mk, me] = [median(kiwi), median(ctl)];
  console.log(`kiwictl usage, a year (${COUNT} records), by user,pool: median ${mk.toFixed(0)} ms; etcdctl get --prefix of the same keys ${me.toFixed(0)} ms; ratio ${(mk / me).toFixed(2)}x`);
  record({ bench: 'accounting', figure: `kiwictl usage over a year, ${COUNT} records, by user,pool (median)`, value: mk, unit: 'ms', peer: 'etcdctl get --prefix of the same records, same run', peerValue: me, goal: 'ratio <= 3', met: mk / me <= 3 });
} finally {
  await op.stop();
  await etcd.stop();
}
