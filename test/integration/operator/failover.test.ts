// Two real operator processes; the leader is SIGKILLed in the middle of a burst of 500
// bookings. Afterwards every booking is in a valid phase, none is lost, calendars match the
// statuses, no calendar revision ever overlapped, and the standby took over within the
// configured time (lease TTL 2 s: within 3 s).
import assert from 'node:assert/strict';
import type { Calendar, Store } from '../../../crds/api/index.js';
import { keys } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { buildOperator, startOperator, mkBooking, mkNode, calendarHistory, writesAcrossTakeover, type OperatorProc } from './helpers.js';

const BOOKINGS = 500;
const NODES = 25;
const LEASE_TTL = 2;
const TAKEOVER_MS = 3000;

describe('kiwi-operator failover (two processes, leader SIGKILLed mid-burst)', function () {
  this.timeout(90_000);
  let etcd: TestEtcd;
  let stores: Store[];
  const ops: OperatorProc[] = [];

  before(async () => {
    this.timeout(60_000);
    await buildOperator();
    etcd = await startEtcd();
    stores = Array.from({ length: 10 }, () => etcd.store());
    for (let i = 0; i < NODES; i++) await stores[0].create(mkNode(`f${i}`));
  });
  after(async () => {
    for (const o of ops) await o.stop();
    await etcd?.stop();
  });

  it('survives: valid phases, nothing lost, no overlap, takeover in time', async () => {
    const client = etcd.client();
    ops.push(startOperator(etcd.endpoint, { id: 'op-a', leaseTtl: LEASE_TTL }));
    const leaderId = await waitFor(async () => {
      const v = await client.get(keys.election()).string();
      return v ? (JSON.parse(v).id as string) : undefined;
    }, { what: 'a leader' });
    assert.equal(leaderId, 'op-a');
    ops.push(startOperator(etcd.endpoint, { id: 'op-b', leaseTtl: LEASE_TTL }));
    await waitFor(() => ops[1].logs.some((l) => l.msg === 'kiwi-operator starting'), { what: 'standby up' });

    // Watch the election key: when does somebody else hold it?
    let killedAt = 0;
    let takenAt = 0;
    let newLeader = '';
    const w = await client.watch().key(keys.election()).create();
    w.on('put', (kv) => {
      const id = JSON.parse(kv.value.toString()).id;
      if (id !== leaderId && !takenAt) {
        takenAt = Date.now();
        newLeader = id;
      }
    });

    // Kill the leader while it is busy writing: once 300 are applied the clients hold, until it
    // has answered at least 100 (a fast operator may have answered all 300); then SIGKILL, and
    // the last 200 are applied with only the standby left.
    let answered = 0;
    const ws = await client.watch().prefix(keys.statusPrefix('Booking')).create();
    ws.on('put', () => answered++);
    const KILL_AT = 300;
    let created = 0;
    let createdAtKill = 0;
    let answeredAtKill = 0;
    let killing: Promise<void> | undefined;
    const create = async (i: number) => {
      if (i >= KILL_AT) await (killing ??= (async () => {
        await waitFor(() => created >= KILL_AT && answered >= 100, { what: 'the leader answering' });
        killedAt = Date.now();
        [createdAtKill, answeredAtKill] = [created, answered];
        await ops[0].kill();
      })());
      await stores[i % stores.length].create(mkBooking(`u${i % 40}`, `bk-${i}`, { nodes: [`f${i % NODES}`], duration: 3600 }));
      created++;
    };
    // 10 clients in flight at a time.
    let next = 0;
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (next < BOOKINGS) await create(next++);
    }));
    await ws.cancel();
    assert.ok(killedAt > 0 && createdAtKill < BOOKINGS, `killed in the middle of the burst (at ${createdAtKill} applied, ${answeredAtKill} answered)`);
    assert.equal(ops[0].proc.signalCode, 'SIGKILL');

    const all = await waitFor(async () => {
      const { items } = await stores[0].listStored('Booking');
      return items.length === BOOKINGS && items.every((s) => s.object.status?.phase) ? items : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `all ${BOOKINGS} bookings answered` });
    await w.cancel();

    assert.equal(newLeader, 'op-b');
    const takeover = takenAt - killedAt;
    assert.ok(takeover <= TAKEOVER_MS, `standby took over ${takeover} ms after the SIGKILL (limit ${TAKEOVER_MS})`);
    assert.ok(ops[1].logs.some((l) => l.msg === 'became leader'));

    // Valid phases; per node one Active, the rest Pending; calendars agree with statuses.
    const cals = new Map<string, Calendar>();
    for (const kv of (await client.getAll().prefix(keys.calendarPrefix()).exec()).kvs) cals.set(kv.key.toString().slice(keys.calendarPrefix().length), JSON.parse(kv.value.toString()));
    const perNode = new Map<string, string[]>();
    for (const s of all) {
      const b = s.object;
      const st = b.status!;
      assert.ok(st.phase === 'Active' || st.phase === 'Pending', `${b.metadata.namespace}/${b.metadata.name} is ${st.phase}/${st.reason}: ${st.message}`);
      const node = b.spec.nodes![0];
      perNode.set(node, [...(perNode.get(node) ?? []), st.phase!]);
      const e = cals.get(node)!.entries.find((x) => x.booking === `${b.metadata.namespace}/${b.metadata.name}`);
      assert.ok(e, `${b.metadata.name} has its calendar entry`);
      assert.equal(e.uid, b.metadata.uid);
      assert.equal(iso(e.start), st.startTime);
      assert.equal(iso(e.end), st.endTime);
    }
    for (const [n, phases] of perNode) assert.equal(phases.filter((p) => p === 'Active').length, 1, `one Active on ${n}`);
    const entries = [...cals.values()].reduce((s, c) => s + c.entries.length, 0);
    assert.equal(entries, BOOKINGS, 'no orphan or duplicate entries');

    // The fence held: nothing the old leader wrote landed after the new leader's election.
    // (Each process suffixes its event keys with its own random tag.)
    const takeoverRev = Number((await client.get(keys.election()).exec()).kvs[0].create_revision);
    const fence = await writesAcrossTakeover(client, takeoverRev);
    assert.ok(fence.oldWriters >= 1, 'the old leader wrote before it died');
    assert.deepEqual(fence.lateWrites, [], 'no write of the old leader after the takeover');

    const h = await calendarHistory(client);
    assert.deepEqual(h.overlaps, []);
    console.log(`      killed at ${createdAtKill} applied / ${answeredAtKill} answered; takeover ${takeover} ms after SIGKILL; ${h.values} calendar values checked`);

    // The standby had its cache synced before it campaigned, and took no snapshot of its own as
    // leader: at 100,000 bookings that snapshot held the event loop longer than the lease TTL.
    const msgs = ops[1].logs.map((l) => l.msg);
    assert.equal(msgs.filter((m) => m === 'cache synced; campaigning').length, 1, msgs.join(' | '));
    assert.ok(msgs.indexOf('cache synced; campaigning') < msgs.indexOf('became leader'), msgs.join(' | '));

    // SIGTERM: resign (the key goes at once), exit 0.
    await ops[1].stop();
    assert.equal(ops[1].proc.exitCode, 0);
    assert.equal((await client.get(keys.election()).exec()).kvs.length, 0, 'resigned');
  });
});

describe('kiwi-operator: a frozen leader that wakes up deposed (SIGSTOP, SIGCONT)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let store: Store;
  const ops: OperatorProc[] = [];
  before(async () => {
    await buildOperator();
    etcd = await startEtcd();
    store = etcd.store();
    for (let i = 0; i < 5; i++) await store.create(mkNode(`z${i}`));
  });
  after(async () => {
    for (const o of ops) {
      if (o.proc.exitCode === null && o.proc.signalCode === null) o.proc.kill('SIGCONT');
      await o.stop();
    }
    await etcd?.stop();
  });

  it('never writes again: its fenced transactions fail, it steps down, the calendars stay valid', async () => {
    const client = etcd.client();
    ops.push(startOperator(etcd.endpoint, { id: 'op-x', leaseTtl: 1 }));
    await waitFor(async () => (await client.get(keys.election()).string()) !== null, { what: 'a leader' });
    ops.push(startOperator(etcd.endpoint, { id: 'op-y', leaseTtl: 1 }));
    for (let i = 0; i < 10; i++) await store.create(mkBooking('u', `before-${i}`, { nodes: [`z${i % 5}`], duration: 3600 }));
    await waitFor(async () => (await store.list('Booking')).every((b) => b.status?.phase), { what: 'first bookings answered' });

    ops[0].proc.kill('SIGSTOP');
    await waitFor(async () => JSON.parse((await client.get(keys.election()).string()) ?? '{}').id === 'op-y', { what: 'op-y takes over' });
    const takeoverRev = Number((await client.get(keys.election()).exec()).kvs[0].create_revision);
    for (let i = 0; i < 10; i++) await store.create(mkBooking('v', `after-${i}`, { nodes: [`z${i % 5}`], duration: 3600 }));
    ops[0].proc.kill('SIGCONT');
    await waitFor(() => ops[0].logs.some((l) => l.msg === 'leadership lost' || /stepping down/.test(l.msg ?? '')), { what: 'op-x notices it was deposed' });
    for (let i = 0; i < 10; i++) await store.create(mkBooking('w', `later-${i}`, { nodes: [`z${i % 5}`], duration: 3600 }));
    await waitFor(async () => {
      const all = await store.list('Booking');
      return all.length === 30 && all.every((b) => b.status?.phase === 'Active' || b.status?.phase === 'Pending');
    }, { what: 'all 30 answered' });

    assert.deepEqual((await writesAcrossTakeover(client, takeoverRev)).lateWrites, [], 'no write of the deposed leader after the takeover');
    assert.equal(JSON.parse((await client.get(keys.election()).string())!).id, 'op-y', 'the woken leader did not take the key back');
    assert.deepEqual((await calendarHistory(client)).overlaps, []);
  });
});

const iso = (t: number) => new Date(t).toISOString();
