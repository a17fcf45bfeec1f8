// End to end through the real operator process (bin/kiwi-operator) and a real etcd: expiry,
// cancel, extend, shrink, a future start, queue move-up, delete, refusals, node readiness
// from the heartbeat lease, cordon and drain. Specs are written with the Store, as kiwictl does.
import assert from 'node:assert/strict';
import type { Booking, Calendar, Store } from '../../../crds/api/index.js';
import { keys, CLUSTER_CONFIG_NAME, DRAIN_ANNOTATION } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { buildOperator, startOperator, mkBooking, mkNode, calendarHistory, type OperatorProc } from './helpers.js';

describe('kiwi-operator end to end (real process, real etcd)', function () {
  this.timeout(30_000);
  let etcd: TestEtcd;
  let store: Store;
  let op: OperatorProc;

  const get = (ns: string, name: string) => store.get({ kind: 'Booking', namespace: ns, name });
  const phaseOf = async (ns: string, name: string, phase: string, reason?: string) =>
    waitFor(async () => {
      const b = await get(ns, name);
      return b?.status?.phase === phase && (!reason || b.status.reason === reason) ? b : undefined;
    }, { timeoutMs: 15_000, what: `${ns}/${name} ${phase}${reason ? `/${reason}` : ''}` });
  const calendar = async (node: string): Promise<Calendar | undefined> => {
    const v = await etcd.client().get(keys.calendar(node)).string();
    return v ? JSON.parse(v) : undefined;
  };
  const events = async (ns: string, name: string) => (await store.listEvents({ kind: 'Booking', namespace: ns, name })).map((e) => e.reason);
  const change = async (ns: string, name: string, f: (b: Booking) => void) => {
    const b = (await get(ns, name))!;
    f(b);
    return store.update(b);
  };

  before(async () => {
    this.timeout(60_000);
    await buildOperator();
    etcd = await startEtcd();
    store = etcd.store();
    for (const n of ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8']) await store.create(mkNode(n));
    op = startOperator(etcd.endpoint, { id: 'op-e2e', leaseTtl: 1 });
  });
  after(async () => {
    await op?.stop();
    await etcd?.stop();
  });

  it('expires at the end (TimeLimit) and removes the entry; records each transition', async () => {
    await store.create(mkBooking('alice', 'short', { nodes: ['e1'], duration: 2 }));
    const a = await phaseOf('alice', 'short', 'Active', 'Started');
    assert.deepEqual(a.status!.nodes, ['e1']);
    assert.equal((await calendar('e1'))!.entries[0].booking, 'alice/short');
    const x = await phaseOf('alice', 'short', 'Expired', 'TimeLimit');
    assert.equal(x.status!.endTime, a.status!.endTime);
    assert.deepEqual((await calendar('e1'))!.entries, []);
    assert.deepEqual(await events('alice', 'short'), ['Started', 'TimeLimit']);
  });

  it('queues, and moves the waiting booking up when the holder is cancelled (kiwictl kill)', async () => {
    await store.create(mkBooking('alice', 'holder', { nodes: ['e2'], duration: 600 }));
    await phaseOf('alice', 'holder', 'Active');
    await store.create(mkBooking('bob', 'waiter', { nodes: ['e2'], duration: 60 }));
    const w = await phaseOf('bob', 'waiter', 'Pending', 'Queued');
    assert.match(w.status!.message!, /after alice\/holder \(user alice\) on e2/);
    assert.deepEqual(w.status!.waitingFor!.map((x) => x.booking), ['alice/holder']);
    await change('alice', 'holder', (b) => (b.spec.cancelled = true));
    const c = await phaseOf('alice', 'holder', 'Expired', 'Cancelled');
    const moved = await phaseOf('bob', 'waiter', 'Active');
    assert.ok(Date.parse(moved.status!.startTime!) < Date.parse(w.status!.startTime!), 'moved up');
    assert.ok(Date.parse(c.status!.endTime!) <= Date.parse(moved.status!.startTime!));
    assert.deepEqual((await calendar('e2'))!.entries.map((e) => e.booking), ['bob/waiter']);
    assert.deepEqual(await events('alice', 'holder'), ['Started', 'Cancelled']);
    const ev = await events('bob', 'waiter');
    assert.equal(ev[0], 'Queued');
    assert.equal(ev[ev.length - 1], 'Started');
  });

  it('extends when free, refuses naming the conflict, shrinks; observedGeneration follows', async () => {
    const a0 = await store.create(mkBooking('alice', 'grow', { nodes: ['e3'], duration: 60 }));
    const a = await phaseOf('alice', 'grow', 'Active');
    await store.create(mkBooking('bob', 'next', { nodes: ['e3'], duration: 60 }));
    await phaseOf('bob', 'next', 'Pending');
    await change('alice', 'grow', (b) => (b.spec.duration = 120));
    const refused = await waitFor(async () => {
      const b = await get('alice', 'grow');
      return b?.status?.observedGeneration === 2 ? b : undefined;
    }, { what: 'extend answered' });
    assert.equal(refused.status!.endTime, a.status!.endTime);
    const cond = refused.status!.conditions!.find((c) => c.type === 'ExtendRefused')!;
    assert.equal(cond.status, 'True');
    assert.match(cond.message!, /^node e3 is booked by bob\/next \(user bob\) from \S+ to \S+, before the asked end/);
    assert.match(refused.status!.message!, /^extend refused: /);
    assert.ok((await events('alice', 'grow')).includes('ExtendRefused'));

    // Deleting the waiting booking cancels it: its entry goes, an event says so.
    await store.delete({ kind: 'Booking', namespace: 'bob', name: 'next' });
    await waitFor(async () => (await calendar('e3'))!.entries.length === 1, { what: 'deleted booking removed from e3' });
    assert.ok((await events('bob', 'next')).includes('Cancelled'));

    await change('alice', 'grow', (b) => (b.spec.duration = 180));
    const grown = await waitFor(async () => {
      const b = await get('alice', 'grow');
      return b?.status?.observedGeneration === 3 ? b : undefined;
    });
    assert.equal(Date.parse(grown.status!.endTime!) - Date.parse(grown.status!.startTime!), 180_000);
    assert.equal(grown.status!.conditions, undefined);
    assert.equal((await calendar('e3'))!.entries[0].end, Date.parse(grown.status!.endTime!));

    await change('alice', 'grow', (b) => (b.spec.duration = 90));
    const shrunk = await waitFor(async () => {
      const b = await get('alice', 'grow');
      return b?.status?.observedGeneration === 4 ? b : undefined;
    });
    assert.equal(Date.parse(shrunk.status!.endTime!) - Date.parse(shrunk.status!.startTime!), 90_000);
    assert.deepEqual((await events('alice', 'grow')).filter((r) => r !== 'Started'), ['ExtendRefused', 'Extended', 'Shortened']);
    assert.ok(a0.metadata.uid);
  });

  it('reserves a future start, starts it then, and ends it', async () => {
    const start = new Date(Date.now() + 2500).toISOString();
    await store.create(mkBooking('carol', 'future', { nodes: ['e4'], start, duration: 2 }));
    const p = await phaseOf('carol', 'future', 'Pending', 'Scheduled');
    assert.equal(p.status!.startTime, new Date(Date.parse(start)).toISOString());
    assert.equal((await calendar('e4'))!.entries[0].start, Date.parse(start));
    const act = await phaseOf('carol', 'future', 'Active');
    assert.ok(Date.now() >= Date.parse(start));
    assert.equal(act.status!.startTime, p.status!.startTime);
    await phaseOf('carol', 'future', 'Expired', 'TimeLimit');
    assert.deepEqual(await events('carol', 'future'), ['Scheduled', 'Started', 'TimeLimit']);
  });

  it('refuses by rule: root, maxDuration, a cordoned node, queue false on a busy node (Busy)', async () => {
    await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG_NAME }, spec: { maxDuration: 3600 } });
    await store.create(mkBooking('root', 'r', { nodes: ['e5'], duration: 60 }));
    assert.equal((await phaseOf('root', 'r', 'Expired', 'Rejected')).status!.message, 'user root may not book nodes: root is never touched');
    await store.create(mkBooking('alice', 'long', { nodes: ['e5'], duration: 7200 }));
    assert.match((await phaseOf('alice', 'long', 'Expired', 'Rejected')).status!.message!, /maxDuration 1h/);
    const n = (await store.get({ kind: 'Node', name: 'e6' }))!;
    n.spec = { ...n.spec, unschedulable: true };
    await store.update(n);
    await waitFor(async () => {
      await store.create(mkBooking('alice', `cordoned-${Date.now()}`, { nodes: ['e6'], duration: 60 }));
      const all = await store.list('Booking', { namespace: 'alice' });
      return all.some((b) => b.metadata.name!.startsWith('cordoned-') && b.status?.message === 'node e6 is cordoned (spec.unschedulable)');
    }, { intervalMs: 200, what: 'a booking on a cordoned node refused' });
    await store.create(mkBooking('alice', 'busy-holder', { nodes: ['e5'], duration: 600 }));
    await phaseOf('alice', 'busy-holder', 'Active');
    await store.create(mkBooking('bob', 'now-or-never', { nodes: ['e5'], duration: 60, queue: false }));
    const busy = await phaseOf('bob', 'now-or-never', 'Expired', 'Busy');
    assert.match(busy.status!.message!, /^cannot start now and queue is false: node e5 is held by alice\/busy-holder \(user alice\) until /);
  });

  it('marks a node NotReady when its heartbeat lease is gone and Ready when it is back; drains', async () => {
    const c = etcd.client();
    const lease = c.lease(1, { autoKeepAlive: true });
    await lease.put(keys.heartbeat('e7')).value(JSON.stringify({ time: new Date().toISOString() }));
    await store.updateStatus({ kind: 'Node', name: 'e7' }, { phase: 'Ready', capacity: { cpus: 2 } });
    try {
      await lease.revoke();
      const nr = await waitFor(async () => {
        const n = await store.get({ kind: 'Node', name: 'e7' });
        return n?.status?.phase === 'NotReady' ? n : undefined;
      }, { what: 'e7 NotReady' });
      assert.deepEqual(nr.status!.capacity, { cpus: 2 }, 'the daemon\'s fields stay');
      await store.create(mkBooking('alice', 'on-notready', { nodes: ['e7'], duration: 60 }));
      assert.match((await phaseOf('alice', 'on-notready', 'Expired', 'Rejected')).status!.message!, /node e7 is NotReady/);
      const lease2 = c.lease(1, { autoKeepAlive: true });
      try {
        await lease2.put(keys.heartbeat('e7')).value(JSON.stringify({ time: new Date().toISOString() }));
        await waitFor(async () => (await store.get({ kind: 'Node', name: 'e7' }))?.status?.phase === 'Ready', { what: 'e7 Ready again' });
      } finally {
        await lease2.revoke();
      }
    } finally {
      if (!lease.revoked()) await lease.revoke();
    }

    // Drain, as kiwictl drain asks for it: cordon + the drain annotation; Draining at once,
    // Drained once its booking is over; taking the annotation back puts it in service again.
    await store.create(mkBooking('alice', 'on-e8', { nodes: ['e8'], duration: 2 }));
    await phaseOf('alice', 'on-e8', 'Active');
    const n = (await store.getStored({ kind: 'Node', name: 'e8' }))!;
    n.object.spec = { ...n.object.spec, unschedulable: true };
    n.object.metadata.annotations = { [DRAIN_ANNOTATION]: 'disk swap' };
    await store.update(n.object);
    const draining = await waitFor(async () => {
      const x = await store.get({ kind: 'Node', name: 'e8' });
      return x?.status?.phase === 'Draining' ? x : undefined;
    }, { what: 'e8 Draining' });
    assert.match(draining.status!.message!, /disk swap/);
    const held = await phaseOf('alice', 'on-e8', 'Expired');
    await waitFor(async () => (await store.get({ kind: 'Node', name: 'e8' }))?.status?.phase === 'Drained', { what: 'e8 Drained' });
    const drained = (await store.listEvents({ kind: 'Node', name: 'e8' })).find((e) => e.reason === 'Drained')!;
    assert.ok(Date.parse(drained.time) >= Date.parse(held.status!.endTime!), 'Drained only once its booking was over');
    const again = (await store.get({ kind: 'Node', name: 'e8' }))!;
    delete again.metadata.annotations;
    again.spec = { ...again.spec, unschedulable: false };
    await store.update(again);
    await waitFor(async () => (await store.get({ kind: 'Node', name: 'e8' }))?.status?.phase === undefined, { what: 'e8 back in service (no daemon: no phase)' });
    assert.ok((await store.listEvents({ kind: 'Node', name: 'e8' })).some((e) => e.reason === 'Undrained'));
  });

  it('expires an Active booking with NodeLost when its node is deleted', async () => {
    await store.create(mkNode('e9'));
    await store.create(mkBooking('dave', 'lost', { nodes: ['e9'], duration: 600 }));
    await phaseOf('dave', 'lost', 'Active');
    await store.delete({ kind: 'Node', name: 'e9' });
    const x = await phaseOf('dave', 'lost', 'Expired', 'NodeLost');
    assert.equal(x.status!.message, 'node e9 was deleted');
    assert.deepEqual((await calendar('e9'))!.entries, []);
  });

  it('plans inside a node\'s reservable window, and refuses what no window holds, naming it', async () => {
    // A daily window that opens two hours from now (UTC) and lasts half an hour.
    const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
    const open = Math.ceil((Date.now() + 2 * 3600_000) / 60_000) * 60_000;
    const window = { start: hhmm(open), end: hhmm(open + 1800_000) };
    await store.create(mkNode('e10', { reservableWindows: [window] }));
    await store.create(mkBooking('erin', 'in-window', { nodes: ['e10'], duration: 1200 }));
    const p = await phaseOf('erin', 'in-window', 'Pending', 'Scheduled');
    assert.equal(p.status!.startTime, new Date(open).toISOString());
    assert.match(p.status!.message!, /when the nodes' reservable windows open/);
    await store.create(mkBooking('erin', 'too-long', { nodes: ['e10'], duration: 2700 }));
    const r = await phaseOf('erin', 'too-long', 'Expired', 'Rejected');
    assert.equal(r.status!.message, `node e10 is bookable only within ${window.start}-${window.end} UTC; a 45m booking never fits inside one window`);
  });

  it('never wrote an overlapping calendar', async () => {
    const h = await calendarHistory(etcd.client());
    assert.ok(h.values > 10);
    assert.deepEqual(h.overlaps, []);
  });
});
