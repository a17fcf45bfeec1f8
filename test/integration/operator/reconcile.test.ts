// The reconcile shell and the election against a real etcd, in-process: a second pass changes
// nothing, a lost compare-and-swap is re-read and retried, a fenced write of a deposed leader
// is refused, and a standby takes over when the leader's lease dies.
import assert from 'node:assert/strict';
import type { Store } from '../../../crds/api/index.js';
import { keys, logger, putOp } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { Election } from '../../../operator/src/election/election.js';
import { Reconciler } from '../../../operator/src/reconcile/index.js';
import { mkBooking, mkNode } from './helpers.js';

const log = logger('test-operator', 'silent');

describe('operator reconcile and election (real etcd, in-process)', function () {
  this.timeout(20_000);
  let etcd: TestEtcd;
  let store: Store;
  before(async () => {
    etcd = await startEtcd();
    store = etcd.store();
    for (const n of ['r1', 'r2']) await store.create(mkNode(n));
  });
  after(async () => etcd?.stop());

  it('leads, plans, and a second pass over the same state writes nothing; fenced writes of a deposed leader are refused', async () => {
    const el = new Election(etcd.client(), store, { id: 'a', ttlSeconds: 1, log });
    const lead = await el.campaign();
    const now = Date.parse('2030-01-01T00:00:00Z');
    let deposed = 0;
    const rec = new Reconciler({ store, fence: { key: lead.key, createRevision: lead.createRevision }, log, clock: { now: () => now }, onDeposed: () => deposed++ });
    try {
      await store.create(mkBooking('alice', 'x', { nodes: ['r1'], duration: 60 }));
      await rec.cache.start();
      await waitFor(() => rec.cache.bookings().length === 1);
      await rec.pass(new Set(['resync']));
      const b = await store.get({ kind: 'Booking', namespace: 'alice', name: 'x' });
      assert.equal(b!.status!.phase, 'Active');
      assert.equal(b!.status!.startTime, new Date(now).toISOString(), 'time comes from the injected clock');
      const txns = rec.stats.txns;
      await rec.pass(new Set(['resync']));
      assert.equal(rec.stats.txns, txns, 'idempotent: nothing to write');

      // Somebody else writes the calendar: the compare-and-swap is lost, re-read, retried.
      const cal = JSON.parse((await etcd.client().get(keys.calendar('r1')).string())!);
      await store.txn('test', [], [putOp(keys.calendar('r1'), cal)]);
      await store.create(mkBooking('bob', 'y', { nodes: ['r1'], duration: 60 }));
      await waitFor(() => rec.cache.bookings().length === 2);
      const stale = rec.cache.calendars.get('r1')!.modRevision;
      (rec.cache.calendars as Map<string, any>).set('r1', { ...rec.cache.calendars.get('r1')!, modRevision: stale - 1 });
      await rec.pass(new Set(['booking:bob/y']));
      assert.ok(rec.stats.conflicts >= 1);
      await waitFor(async () => {
        await rec.pass(new Set(['booking:bob/y']));
        return (await store.get({ kind: 'Booking', namespace: 'bob', name: 'y' }))?.status?.phase === 'Pending';
      }, { what: 'bob/y planned after the retry' });

      // Deposed: the lease goes, a standby takes the key; our fenced writes are refused.
      const standby = new Election(etcd.client(), store, { id: 'b', ttlSeconds: 1, log });
      const taking = standby.campaign();
      await etcd.client().delete().key(keys.election()).exec(); // as if our lease had expired
      const b2 = await taking;
      assert.notEqual(b2.createRevision, lead.createRevision);
      await store.create(mkBooking('carol', 'z', { nodes: ['r2'], duration: 60 }));
      await waitFor(() => rec.cache.bookings().length === 3);
      await rec.pass(new Set(['booking:carol/z']));
      assert.equal(deposed, 1);
      assert.equal((await store.get({ kind: 'Booking', namespace: 'carol', name: 'z' }))!.status, undefined, 'a deposed leader wrote nothing');
      await standby.resign();
    } finally {
      await rec.stop();
      await el.resign();
    }
  });

  it('a standby takes over within the lease TTL when the leader stops keeping its lease alive', async () => {
    const c1 = etcd.client();
    const a = new Election(c1, store, { id: 'a', ttlSeconds: 1, log });
    const b = new Election(etcd.client(), store, { id: 'b', ttlSeconds: 1, log });
    await a.campaign();
    let lost = false;
    a.once('lost', () => (lost = true));
    const taking = b.campaign();
    // The leader "dies": its lease is no longer kept alive (revoked here to be quick and exact).
    const t0 = Date.now();
    const kv = (await c1.get(keys.election()).exec()).kvs[0];
    assert.equal(JSON.parse(kv.value.toString()).id, 'a');
    await (etcd.client() as any).leaseClient.leaseRevoke({ ID: kv.lease });
    const lead = await taking;
    assert.ok(Date.now() - t0 < 2000, `took over in ${Date.now() - t0} ms`);
    assert.equal(JSON.parse((await c1.get(keys.election()).string())!).id, 'b');
    await waitFor(() => lost, { what: 'the old leader notices' });
    assert.ok(lead.createRevision > 0);
    await b.resign();
    await a.resign();
    assert.equal((await c1.get(keys.election()).exec()).kvs.length, 0);
  });

  it('a change is planned with what it shares nodes with, not the whole cluster; a resync plans everything', async () => {
    for (const n of ['s1', 's2', 's3']) await store.create(mkNode(n));
    const el = new Election(etcd.client(), store, { id: 'scope', ttlSeconds: 2, log });
    const lead = await el.campaign();
    // One instant for every pass: with the wall clock, entries a slow pass wrote start after the
    // pass began, so the next pass finds their nodes "due" and plans them too (seen under load).
    const at = Date.now();
    const rec = new Reconciler({ store, fence: { key: lead.key, createRevision: lead.createRevision }, log, clock: { now: () => at } });
    // The cache must hold a pass's own writes before the next pass, or that one plans on stale
    // revisions, loses its compare-and-swap and plans again (counted twice).
    const settled = (names: string[]) =>
      waitFor(() => names.every((n) => rec.cache.booking(`sc/${n}`)?.booking.status?.phase), { what: `the cache holds the status of ${names.join(', ')}` });
    try {
      await store.create(mkBooking('sc', 'one', { nodes: ['s1'], duration: 600 }));
      await store.create(mkBooking('sc', 'two', { nodes: ['s1', 's2'], duration: 600 }));
      await store.create(mkBooking('sc', 'three', { nodes: ['s3'], duration: 600 }));
      await rec.cache.start();
      const all = rec.cache.bookings().length;
      await rec.pass(new Set(['resync']));
      assert.equal(rec.stats.planned, all, 'the first pass plans everything');
      assert.equal(rec.stats.wholePasses, 1);
      await settled(['one', 'two', 'three']);

      // A new booking on s2 shares s2 with sc/two, which shares s1 with sc/one: those three, not sc/three.
      // longer than the gap before sc/two on s2, so it waits (600 s would backfill it exactly)
      await store.create(mkBooking('sc', 'four', { nodes: ['s2'], duration: 900 }));
      await waitFor(() => rec.cache.booking('sc/four') !== undefined);
      await rec.pass(new Set(['booking:sc/four']));
      assert.equal(rec.stats.planned - all, 3);
      assert.equal(rec.stats.wholePasses, 1);
      const four = await store.get({ kind: 'Booking', namespace: 'sc', name: 'four' });
      assert.equal(four!.status!.phase, 'Pending');
      assert.match(four!.status!.message!, /after sc\/two/);
      await settled(['four']);

      // Cancelling sc/one frees s1: sc/two starts at once, in the same scoped pass.
      const one = (await store.get({ kind: 'Booking', namespace: 'sc', name: 'one' }))!;
      await store.update({ ...one, spec: { ...one.spec, cancelled: true } });
      await waitFor(() => rec.cache.booking('sc/one')?.booking.spec.cancelled === true);
      await rec.pass(new Set(['booking:sc/one']));
      assert.equal((await store.get({ kind: 'Booking', namespace: 'sc', name: 'two' }))!.status!.phase, 'Active');
      assert.equal(rec.stats.wholePasses, 1);

      const before = rec.stats.planned;
      await rec.pass(new Set(['resync']));
      assert.equal(rec.stats.planned - before, rec.cache.bookings().length, 'a resync plans everything');
      assert.equal(rec.stats.wholePasses, 2);
    } finally {
      await rec.stop();
      await el.resign();
    }
  });
});
