// Status transitions of one node commit in an order that never shows two Active bookings on it,
// even in a pass larger than one transaction: 150 nodes whose holders all end at one instant,
// each with the next booking planned to start then (its entry already in the calendar). The
// real operator writes the pass; etcd's history is then replayed revision by revision.
import assert from 'node:assert/strict';
import type { Store } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { checkHistory, etcdHistory } from '../../helpers/history.js';
import { buildOperator, startOperator, mkBooking, mkNode, type OperatorProc } from './helpers.js';

describe('kiwi-operator: one node never has two Active bookings at one revision (real etcd)', function () {
  this.timeout(90_000);
  let etcd: TestEtcd;
  let store: Store;
  let op: OperatorProc;
  const N = 150;
  before(async () => {
    await buildOperator();
    etcd = await startEtcd();
    store = etcd.store();
    op = startOperator(etcd.endpoint, { id: 'op-order', leaseTtl: 2, logLevel: 'warn' });
  });
  after(async () => {
    await op?.stop();
    await etcd?.stop();
  });

  it('a pass of 300 transitions (150 expiries, 150 starts) commits each expiry before its successor\'s start', async () => {
    const nodes = Array.from({ length: N }, (_, i) => `o${String(i).padStart(3, '0')}`);
    for (const n of nodes) await store.create(mkNode(n));
    const end = new Date(Math.ceil((Date.now() + 12_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    for (const n of nodes) await store.create(mkBooking('alice', `a-${n}`, { nodes: [n], end }));
    for (const n of nodes) await store.create(mkBooking('bob', `b-${n}`, { nodes: [n], duration: 600 }));
    const all = async (ns: string, ok: (phase?: string, start?: string) => boolean) => (await store.list('Booking', { namespace: ns })).filter((b) => ok(b.status?.phase, b.status?.startTime)).length === N;
    await waitFor(() => all('bob', (p, s) => p === 'Pending' && Date.parse(s!) === Date.parse(end)), { timeoutMs: 30_000, what: `${N} bookings queued to start at ${end}` });
    assert.ok(Date.now() < Date.parse(end), 'set up before the holders end (a slow machine: raise the 12 s)');
    await waitFor(() => all('bob', (p) => p === 'Active'), { timeoutMs: 30_000, what: `${N} successors Active` });
    const h = checkHistory(await etcdHistory(etcd.client()));
    assert.ok(h.maxActive >= N, `the history shows ${h.maxActive} Active at most`);
    assert.deepEqual(h.twoActive.slice(0, 5), [], `${h.twoActive.length} revisions show two Active bookings on a node`);
    assert.deepEqual(h.overlaps, []);
    assert.deepEqual(h.moved, []);
  });
});
