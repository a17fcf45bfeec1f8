// Liveness from values, not from leases. etcd lets any client keep any lease alive
// (LeaseKeepAlive needs no permission, even with auth on), so here another client keeps the
// dead party's lease alive through etcd's JSON gateway (POST /v3/lease/keepalive), as any lab
// user could, and:
// - a frozen leader's election key stays, yet the standby takes over within a bound, and the
//   leader, woken, writes nothing (the fence holds);
// - a dead daemon's heartbeat key stays, yet the Node goes NotReady within a bound and a booking
//   on it never shows Active;
// - heartbeatTime in the Node status is rewritten every --status-interval even when nothing else
//   changed.
// Real etcd, real kiwi-operator and kiwi-node-daemon processes.
import assert from 'node:assert/strict';
import { keys, type Store } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { buildOperator, startOperator, mkBooking, mkNode, calendarHistory, writesAcrossTakeover, type OperatorProc } from '../operator/helpers.js';
import { dumpOnFailure, removeDir, startDaemon, tempStateDir, type RunningDaemon } from '../../e2e/daemon/harness.js';

/** Keeps a lease alive as a foreign client would: etcd's JSON gateway, no credentials. */
function keepAliveForever(endpoint: string, leaseId: string): { stop(): void; answered(): number } {
  let n = 0;
  const t = setInterval(() => {
    fetch(`${endpoint}/v3/lease/keepalive`, { method: 'POST', body: JSON.stringify({ ID: leaseId }), signal: AbortSignal.timeout(1000) })
      .then(async (r) => {
        const text = await r.text();
        if (r.ok && /"TTL"/.test(text)) n++;
      })
      .catch(() => undefined);
  }, 250);
  return { stop: () => clearInterval(t), answered: () => n };
}

async function leaseTtlLeft(endpoint: string, leaseId: string): Promise<number> {
  const r = await fetch(`${endpoint}/v3/lease/timetolive`, { method: 'POST', body: JSON.stringify({ ID: leaseId }) });
  return Number((await r.json()).TTL ?? -1);
}

describe('liveness from values: a lease kept alive by another client blocks nothing', function () {
  this.timeout(90_000);
  let etcd: TestEtcd;
  let store: Store;
  const ops: OperatorProc[] = [];
  const daemons: RunningDaemon[] = [];
  const dirs: string[] = [];
  const keepers: { stop(): void }[] = [];

  before(async () => {
    this.timeout(60_000);
    await buildOperator();
    etcd = await startEtcd();
    store = etcd.store();
  });
  afterEach(function () {
    dumpOnFailure(this, daemons);
    if (this.currentTest?.state === 'failed') for (const o of ops) console.error(o.logs.slice(-30).map((l) => JSON.stringify(l)).join('\n'));
  });
  after(async () => {
    for (const k of keepers) k.stop();
    for (const o of ops) {
      if (o.proc.exitCode === null && o.proc.signalCode === null) o.proc.kill('SIGCONT');
      await o.stop();
    }
    for (const d of daemons) await d.stop('SIGKILL');
    for (const d of dirs) removeDir(d);
    await etcd?.stop();
  });

  it('a standby takes over from a frozen leader whose lease someone keeps alive; the woken leader writes nothing', async () => {
    const TTL = 2;
    const BOUND_MS = TTL * 1000 + 2000; // unchanged for a TTL, seen by a check every TTL/4, plus etcd round trips
    const client = etcd.client();
    for (let i = 0; i < 3; i++) await store.create(mkNode(`l${i}`));
    ops.push(startOperator(etcd.endpoint, { id: 'op-a', leaseTtl: TTL }));
    const held = await waitFor(async () => {
      const kv = (await client.get(keys.election()).exec()).kvs[0];
      return kv && JSON.parse(kv.value.toString()).id === 'op-a' ? kv : undefined;
    }, { what: 'op-a leading' });
    ops.push(startOperator(etcd.endpoint, { id: 'op-b', leaseTtl: TTL }));
    await waitFor(() => ops[1].logs.some((l) => l.msg === 'kiwi-operator starting'), { what: 'standby up' });
    await store.create(mkBooking('u', 'before', { nodes: ['l0'], duration: 3600 }));
    await waitFor(async () => (await store.get({ kind: 'Booking', namespace: 'u', name: 'before' }))?.status?.phase, { what: 'a first booking answered' });

    const keeper = keepAliveForever(etcd.endpoint, String(held.lease));
    keepers.push(keeper);
    ops[0].proc.kill('SIGSTOP'); // the leader stops: no refresh, no keepalive of its own
    const frozenAt = Date.now();
    const taken = await waitFor(async () => {
      const kv = (await client.get(keys.election()).exec()).kvs[0];
      return kv && JSON.parse(kv.value.toString()).id === 'op-b' ? kv : undefined;
    }, { timeoutMs: 15_000, intervalMs: 50, what: 'op-b to take over while op-a\'s lease is kept alive' });
    const took = Date.now() - frozenAt;
    assert.ok(keeper.answered() > 0, 'the foreign keepalives were answered');
    assert.ok((await leaseTtlLeft(etcd.endpoint, String(held.lease))) > 0, 'op-a\'s lease is still alive: only its stale value gave it away');
    assert.ok(took <= BOUND_MS, `op-b took over ${took} ms after op-a froze (bound ${BOUND_MS} ms)`);
    assert.ok(ops[1].logs.some((l) => /stopped refreshing the election key/.test(l.msg ?? '')), 'op-b says why it took over');
    const takeoverRev = Number(taken.create_revision);

    // The fence: op-a wakes, still thinking it leads; nothing it writes lands.
    for (let i = 0; i < 5; i++) await store.create(mkBooking('v', `during-${i}`, { nodes: [`l${i % 3}`], duration: 3600 }));
    ops[0].proc.kill('SIGCONT');
    await waitFor(() => ops[0].logs.some((l) => l.msg === 'leadership lost' || /stepping down/.test(l.msg ?? '')), { what: 'op-a notices it was deposed' });
    for (let i = 0; i < 5; i++) await store.create(mkBooking('w', `after-${i}`, { nodes: [`l${i % 3}`], duration: 3600 }));
    await waitFor(async () => {
      const all = await store.list('Booking');
      return all.length === 11 && all.every((b) => b.status?.phase === 'Active' || b.status?.phase === 'Pending');
    }, { what: 'all 11 bookings answered' });
    const fence = await writesAcrossTakeover(client, takeoverRev);
    assert.ok(fence.oldWriters >= 1, 'op-a wrote before it froze');
    assert.deepEqual(fence.lateWrites, [], 'no write of the deposed leader after the takeover');
    assert.equal(JSON.parse((await client.get(keys.election()).string())!).id, 'op-b', 'op-a did not take the key back');
    assert.deepEqual((await calendarHistory(client)).overlaps, []);
    console.log(`      standby took over ${took} ms after the leader froze, its lease kept alive by a foreign client (${keeper.answered()} keepalives answered)`);
    keeper.stop();
  });

  it('a dead daemon whose heartbeat lease someone keeps alive goes NotReady; no booking goes Active on it', async function () {
    // reason: the daemon runs as root (it would signal users' processes)
    if (process.getuid?.() !== 0) {
      console.log('      (skipped: the node daemon runs as root)');
      this.skip();
    }
    const TTL = 2;
    const BOUND_MS = TTL * 1000 + Math.round((TTL * 1000) / 3) + 2500; // unchanged for a TTL and one beat period of slack, the operator's 250 ms sweep, one pass
    if (!ops.some((o) => o.proc.exitCode === null && o.proc.signalCode === null)) ops.push(startOperator(etcd.endpoint, { id: 'op-c', leaseTtl: TTL }));
    const stateDir = tempStateDir();
    dirs.push(stateDir);
    const d = await startDaemon({ endpoint: etcd.endpoint, node: 'zombie', stateDir, leaseTtl: TTL });
    daemons.push(d);
    await waitFor(async () => (await store.get({ kind: 'Node', name: 'zombie' }))?.status?.phase === 'Ready', { timeoutMs: 15_000, what: 'zombie Ready' });
    const hb = (await store.etcd.get(keys.heartbeat('zombie')).exec()).kvs[0];
    assert.ok(hb, 'the heartbeat key is there');
    const keeper = keepAliveForever(etcd.endpoint, String(hb.lease));
    keepers.push(keeper);
    await d.stop('SIGKILL');
    const diedAt = Date.now();
    const nr = await waitFor(async () => {
      const n = await store.get({ kind: 'Node', name: 'zombie' });
      return n?.status?.phase === 'NotReady' ? n : undefined;
    }, { timeoutMs: 15_000, intervalMs: 50, what: 'zombie NotReady while its lease is kept alive' });
    const took = Date.now() - diedAt;
    assert.ok(took <= BOUND_MS, `NotReady ${took} ms after the daemon died (bound ${BOUND_MS} ms)`);
    assert.match(nr.status!.message!, /heartbeat stopped/);
    assert.ok((await store.etcd.get(keys.heartbeat('zombie')).exec()).kvs.length === 1, 'the heartbeat key is still there (its lease kept alive)');
    assert.ok(keeper.answered() > 0);

    // Every status the booking ever gets: none is Active.
    const phases: string[] = [];
    const ref = { kind: 'Booking' as const, namespace: 'u', name: 'on-zombie' };
    const w = await store.etcd.watch().key(keys.status(ref)).create();
    w.on('put', (kv) => phases.push(JSON.parse(kv.value.toString()).phase));
    try {
      await store.create(mkBooking('u', 'on-zombie', { nodes: ['zombie'], duration: 60 }));
      const b = await waitFor(async () => {
        const x = await store.get(ref);
        return x?.status?.phase ? x : undefined;
      }, { what: 'the booking answered' });
      assert.match(b.status!.message ?? '', /zombie is NotReady/);
      // A further TTL with the lease still kept alive: the node stays NotReady, nothing Active.
      await new Promise((r) => setTimeout(r, TTL * 1000)); // reason: an interval during which nothing may happen
      assert.equal((await store.get({ kind: 'Node', name: 'zombie' }))?.status?.phase, 'NotReady');
      assert.ok(!phases.includes('Active'), `phases seen: ${phases.join(',')}`);
      assert.ok(!((await store.etcd.get(keys.calendar('zombie')).string()) ?? '').includes('u/on-zombie'), 'no calendar entry on the dead node');
    } finally {
      await w.cancel();
    }
    console.log(`      NotReady ${took} ms after the daemon died, its heartbeat lease kept alive by a foreign client; booking: ${phases.join(' -> ')}`);
    keeper.stop();
  });

  it('rewrites heartbeatTime every --status-interval even when nothing else changed', async function () {
    if (process.getuid?.() !== 0) {
      console.log('      (skipped: the node daemon runs as root)');
      this.skip();
    }
    const stateDir = tempStateDir();
    dirs.push(stateDir);
    const d = await startDaemon({ endpoint: etcd.endpoint, node: 'beating', stateDir, leaseTtl: 2, statusInterval: 1 });
    daemons.push(d);
    const first = await waitFor(async () => (await store.get({ kind: 'Node', name: 'beating' }))?.status?.heartbeatTime, { timeoutMs: 15_000, what: 'a first heartbeatTime' });
    const seen = new Set([first]);
    await waitFor(async () => {
      const t = (await store.get({ kind: 'Node', name: 'beating' }))?.status?.heartbeatTime;
      if (t) seen.add(t);
      return seen.size >= 3;
    }, { timeoutMs: 6000, intervalMs: 100, what: 'heartbeatTime rewritten twice more (every second)' });
    const times = [...seen].map(Date.parse).sort((a, b) => a - b);
    assert.ok(times[times.length - 1] > times[0]);
    await d.stop();
  });
});
