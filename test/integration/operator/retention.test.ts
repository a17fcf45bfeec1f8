// Usage records and retention through the real operator process (bin/kiwi-operator) and a real
// etcd: an Expired booking gets its record with what its status said, is deleted once its
// retention has passed, the record survives it, its events go after theirs; a record is written
// once even when the leader is killed while writing them; kiwictl get usagerecords lists them.
import assert from 'node:assert/strict';
import type { Booking, Store, UsageRecord } from '../../../crds/api/index.js';
import { CLUSTER_CONFIG_NAME, keys, usageKey, usageRecordName } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { kiwictl } from '../kiwictl/cli.js';
import { buildOperator, startOperator, mkBooking, mkNode, type OperatorProc } from './helpers.js';

describe('usage records and retention (real operator, real etcd)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let store: Store;
  const ops: OperatorProc[] = [];
  const SWEEP = ['--retention-sweep', '0.3'];

  const records = async (): Promise<{ key: string; version: number; create: number; mod: number; record: UsageRecord }[]> =>
    (await etcd.client().getAll().prefix(keys.usagePrefix()).exec()).kvs.map((kv) => ({
      key: kv.key.toString(), version: Number(kv.version), create: Number(kv.create_revision), mod: Number(kv.mod_revision), record: JSON.parse(kv.value.toString()),
    }));
  const get = (ns: string, name: string) => store.getStored({ kind: 'Booking', namespace: ns, name });
  const expired = (ns: string, name: string, reason?: string) =>
    waitFor(async () => {
      const s = await get(ns, name);
      return s?.object.status?.phase === 'Expired' && (!reason || s.object.status.reason === reason) ? s : undefined;
    }, { timeoutMs: 20_000, what: `${ns}/${name} Expired` });
  const recordOf = (b: Booking, createRevision: number) =>
    waitFor(async () => (await records()).find((r) => r.record.metadata.name === usageRecordName(b.metadata.name!, createRevision) && r.record.metadata.namespace === b.metadata.namespace), { timeoutMs: 20_000, what: `the record of ${b.metadata.name}` });
  const setRetention = async (retention: Record<string, unknown>) => {
    const cur = await store.get({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME });
    if (cur) await store.update({ ...cur, spec: { ...cur.spec, retention } });
    else await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG_NAME }, spec: { retention } });
  };

  before(async () => {
    this.timeout(120_000);
    await buildOperator();
    etcd = await startEtcd();
    store = etcd.store();
    for (let i = 0; i < 40; i++) await store.create(mkNode(`r${i}`));
  });
  after(async () => {
    for (const op of ops) await op.stop();
    await etcd?.stop();
  });

  it("writes the record of an Expired booking with what its status said, deletes the booking after its retention, keeps the record; the booking's events go after theirs", async () => {
    // Long retention first: the record must come while the booking stays.
    await setRetention({ expiredBookings: 3600, events: 3600 });
    ops.push(startOperator(etcd.endpoint, { id: 'ret-a', args: SWEEP }));
    const created = await store.create(mkBooking('alice', 'short', { nodes: ['r0', 'r1'], duration: 2 }));
    const done = await expired('alice', 'short', 'TimeLimit');
    const createRevision = Number(created.metadata.resourceVersion);
    const st = done.object.status!;
    const r = await recordOf(done.object, createRevision);
    assert.deepEqual(r.record.spec, {
      booking: { name: 'short', uid: created.metadata.uid, createRevision },
      user: 'alice', nodes: ['r0', 'r1'], startTime: st.startTime, endTime: st.endTime,
      nodeSeconds: 2 * (Date.parse(st.endTime!) - Date.parse(st.startTime!)) / 1000, reason: 'TimeLimit', filedAt: st.endTime,
    });
    assert.equal(r.record.spec.nodeSeconds, 4, 'two nodes for two seconds');
    assert.equal(r.key, usageKey(r.record));
    assert.equal(r.record.kind, 'UsageRecord');
    assert.ok(r.record.metadata.uid && r.record.metadata.creationTimestamp);
    assert.ok(await get('alice', 'short'), 'kept while its retention lasts');

    // A cancelled one: its end is when it was cancelled.
    const c0 = await store.create(mkBooking('bob', 'killed', { nodes: ['r2'], duration: 600 }));
    await waitFor(async () => (await get('bob', 'killed'))?.object.status?.phase === 'Active', { what: 'bob/killed Active' });
    const cur = (await get('bob', 'killed'))!.object;
    await store.update({ ...cur, spec: { ...cur.spec, cancelled: true } });
    const c = await expired('bob', 'killed', 'Cancelled');
    const rc = await recordOf(c.object, Number(c0.metadata.resourceVersion));
    assert.deepEqual([rc.record.spec.reason, rc.record.spec.endTime, rc.record.spec.startTime, rc.record.spec.nodes], ['Cancelled', c.object.status!.endTime, c.object.status!.startTime, ['r2']]);
    assert.ok(Date.parse(rc.record.spec.endTime!) < Date.parse(cur.status!.endTime!), 'ended when cancelled, not at its planned end');

    // Now a retention of 2 s: both go, their records stay, each written once.
    assert.ok((await store.listEvents({ kind: 'Booking', namespace: 'alice', name: 'short' })).length >= 2);
    await setRetention({ expiredBookings: 2, events: 2 });
    await waitFor(async () => !(await get('alice', 'short')) && !(await get('bob', 'killed')), { timeoutMs: 20_000, what: 'both bookings deleted' });
    const left = await records();
    assert.deepEqual(left.map((x) => x.record.metadata.name).sort(), [usageRecordName('killed', Number(c0.metadata.resourceVersion)), usageRecordName('short', createRevision)].sort());
    for (const x of left) assert.deepEqual([x.version, x.create], [1, x.mod], `${x.key} written once, never changed`);
    assert.equal((await etcd.client().getAll().prefix(keys.statusPrefix('Booking')).keys()).length, 0, 'their status went with them');
    await waitFor(async () => (await store.listEvents({ kind: 'Booking', namespace: 'alice', name: 'short' })).length === 0, { timeoutMs: 20_000, what: "the deleted booking's events to go" });
  });

  it('lists the records with kiwictl get usagerecords, by namespace or all; refuses to apply one', async () => {
    const env = { KIWI_ENDPOINTS: etcd.endpoint, USER: 'alice' };
    const all = await kiwictl(['get', 'usagerecords', '-A'], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^NAMESPACE\s+NAME\s+USER\s+NODES\s+START\s+END\s+NODESECONDS\s+REASON/);
    assert.match(all.stdout, /alice\s+short\.\d+\s+alice\s+r0,r1\s+.*\s4\s+TimeLimit/);
    assert.match(all.stdout, /bob\s+killed\.\d+\s+bob\s+r2\s+.*Cancelled/);
    const bob = await kiwictl(['get', 'ur', '-n', 'bob', '-o', 'json'], { env });
    assert.equal(bob.code, 0, bob.stderr);
    const items = JSON.parse(bob.stdout).items as UsageRecord[];
    assert.deepEqual(items.map((i) => i.spec.booking.name), ['killed']);
    const d = await kiwictl(['describe', 'usagerecord', items[0].metadata.name!, '-n', 'bob'], { env });
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /nodeSeconds/i);
    assert.match(d.stdout, /Cancelled/);
    const w = await kiwictl(['get', 'ur', '-w'], { env });
    assert.equal(w.code, 2);
    assert.match(w.stderr, /never change once written: -w does not apply/);
    const yaml = 'apiVersion: kiwi.dev/v1alpha1\nkind: UsageRecord\nmetadata: {name: forged.1, namespace: alice}\nspec: {booking: {name: forged, uid: x, createRevision: 1}, user: alice, nodes: [], nodeSeconds: 0, reason: TimeLimit, filedAt: "2026-01-01T00:00:00Z"}\n';
    const ap = await kiwictl(['apply', '-f', '-'], { env, input: yaml });
    assert.notEqual(ap.code, 0);
    assert.match(ap.stderr, /a UsageRecord is written only by the operator/);
    assert.equal((await records()).length, 2, 'nothing written');
  });

  it('writes each record once when the leader is killed while writing them', async () => {
    await setRetention({ expiredBookings: 3600, events: 3600 });
    ops.push(startOperator(etcd.endpoint, { id: 'ret-b', args: SWEEP }));
    const before = (await records()).length;
    // Ends spread over about three seconds, so that the kill falls among the writes.
    const made = [];
    for (let i = 0; i < 36; i++) made.push(await store.create(mkBooking(`u${i % 6}`, `f${i}`, { nodes: [`r${4 + i}`], duration: 2 + Math.floor(i / 12) })));
    const leader = async () => JSON.parse((await etcd.client().get(keys.election()).string())!).id as string;
    await waitFor(async () => (await records()).length > before, { timeoutMs: 20_000, intervalMs: 10, what: 'the first records' });
    const first = await leader();
    const mid = (await records()).length - before;
    ops.find((o) => o.id === first)!.kill();
    await waitFor(async () => (await records()).length === before + 36, { timeoutMs: 30_000, what: 'all 36 records after the failover' });
    assert.notEqual(await leader(), first, 'the standby took over');
    const rs = await records();
    const uids = rs.map((x) => x.record.spec.booking.uid);
    assert.equal(new Set(uids).size, uids.length, 'one record per booking');
    for (const x of rs) assert.deepEqual([x.version, x.create], [1, x.mod], `${x.key} written once, never changed`);
    for (const b of made) {
      const s = (await get(b.metadata.namespace!, b.metadata.name!))!;
      const r = rs.find((x) => x.record.spec.booking.uid === b.metadata.uid)!;
      assert.deepEqual([r.record.spec.startTime, r.record.spec.endTime, r.record.spec.nodes], [s.object.status!.startTime, s.object.status!.endTime, s.object.status!.nodes]);
    }
    console.log(`      (${mid} of 36 records were written before the leader was killed)`);
  });
});
