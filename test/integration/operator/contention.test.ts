// 50 concurrent clients book the same node through the real operator process: exactly one
// Active, the rest Pending in a valid FIFO queue (or Busy with queue false), and no calendar
// value ever written overlaps (every revision, read back with a watch from revision 1).
import assert from 'node:assert/strict';
import type { Booking, Calendar, Store } from '../../../crds/api/index.js';
import { keys } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { buildOperator, startOperator, mkBooking, mkNode, calendarHistory, type OperatorProc } from './helpers.js';

const CLIENTS = 50;

describe('kiwi-operator under contention (50 clients, one node)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let stores: Store[];
  let op: OperatorProc;

  before(async () => {
    this.timeout(60_000);
    await buildOperator();
    etcd = await startEtcd();
    stores = Array.from({ length: CLIENTS }, () => etcd.store()); // one connection per client
    await stores[0].create(mkNode('hot'));
    await stores[0].create(mkNode('hot2'));
    op = startOperator(etcd.endpoint, { id: 'op-contention', leaseTtl: 1 });
  });
  after(async () => {
    await op?.stop();
    await etcd?.stop();
  });

  const burst = async (node: string, queue: boolean): Promise<{ items: { b: Booking; create: number }[] }> => {
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => stores[i % stores.length].create(mkBooking(`user${i}`, `on-${node}`, { nodes: [node], duration: 3600, queue }))));
    const done = await waitFor(async () => {
      const { items } = await stores[0].listStored('Booking');
      const mine = items.filter((s) => s.object.metadata.name === `on-${node}`);
      return mine.length === CLIENTS && mine.every((s) => s.object.status?.phase) ? mine : undefined;
    }, { timeoutMs: 30_000, what: `all ${CLIENTS} bookings of ${node} answered` });
    const creates = await Promise.all(done.map(async (s) => Number((await etcd.client().get(keys.spec({ kind: 'Booking', namespace: s.object.metadata.namespace, name: s.object.metadata.name! })).exec()).kvs[0].create_revision)));
    return { items: done.map((s, i) => ({ b: s.object, create: creates[i] })) };
  };

  it('queue true: one Active, 49 Pending in arrival order, back to back', async () => {
    const { items } = await burst('hot', true);
    const active = items.filter((x) => x.b.status!.phase === 'Active');
    const pending = items.filter((x) => x.b.status!.phase === 'Pending');
    assert.equal(active.length, 1);
    assert.equal(pending.length, CLIENTS - 1);
    // FIFO: the first to arrive holds the node; the rest follow in arrival order, each starting when the one before ends.
    const order = [...items].sort((a, b) => a.create - b.create);
    assert.equal(order[0].b.status!.phase, 'Active');
    for (let i = 1; i < order.length; i++) {
      assert.equal(order[i].b.status!.startTime, order[i - 1].b.status!.endTime, `${order[i].b.metadata.namespace} starts when ${order[i - 1].b.metadata.namespace} ends`);
      assert.equal(order[i].b.status!.waitingFor![0].booking, `${order[i - 1].b.metadata.namespace}/on-hot`);
    }
    const cal = JSON.parse((await etcd.client().get(keys.calendar('hot')).string())!) as Calendar;
    assert.deepEqual(cal.entries.map((e) => e.booking), order.map((x) => `${x.b.metadata.namespace}/on-hot`));
  });

  it('queue false: one Active, the rest refused Busy naming the holder', async () => {
    const { items } = await burst('hot2', false);
    const active = items.filter((x) => x.b.status!.phase === 'Active');
    const busy = items.filter((x) => x.b.status!.reason === 'Busy');
    assert.equal(active.length, 1);
    assert.equal(busy.length, CLIENTS - 1);
    const holder = `${active[0].b.metadata.namespace}/on-hot2`;
    for (const x of busy) assert.match(x.b.status!.message!, new RegExp(`node hot2 is held by ${holder} \\(user ${active[0].b.metadata.namespace}\\) until `));
    const cal = JSON.parse((await etcd.client().get(keys.calendar('hot2')).string())!) as Calendar;
    assert.deepEqual(cal.entries.map((e) => e.booking), [holder]);
  });

  it('no calendar revision ever held overlapping entries', async () => {
    const h = await calendarHistory(etcd.client());
    assert.ok(h.values >= 2);
    assert.deepEqual(h.overlaps, []);
  });
});
