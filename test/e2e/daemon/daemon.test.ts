// kiwi-node-daemon end to end: real etcd, the real daemon process, real kiwitest-* users and
// real processes (sleepers, one that ignores SIGTERM, one that keeps forking). No operator runs
// in these tests, so every cleanup here is the daemon's alone, by its own clock.
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { keys, type Node, type Store } from '../../../crds/api/index.js';
import { heartbeatLeaseTtlSeconds } from '../../../crds/api/heartbeat.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { forker, livePids, marked, onTerminal, signalPrinter, sleeper, termIgnorer } from '../../helpers/procs.js';
import { endTest, entry, putCalendar, putConfig, removeTestCgroups, startDaemon, startOperator, tempStateDir, type RunningDaemon } from './harness.js';

const KILL_WAIT = 1;
const UNKILLABLE = 'kiwitest-unkillable';

describe('kiwi-node-daemon (e2e: real etcd, daemon, users, processes)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let store: Store;
  let alice: TestUser;
  let bob: TestUser;
  const started: ChildProcess[] = [];
  const daemons: RunningDaemon[] = [];
  const dirs: string[] = [];

  const node = async (name: string) => store.get({ kind: 'Node', name });
  const run = async (args: Partial<Parameters<typeof startDaemon>[0]> & { node: string }) => {
    const stateDir = args.stateDir ?? tempStateDir();
    if (!dirs.includes(stateDir)) dirs.push(stateDir);
    const d = await startDaemon({ endpoint: etcd.endpoint, stateDir, ...args });
    daemons.push(d);
    return d;
  };
  /** Waits until the daemon has the calendar (it logs every change). */
  const sawCalendar = (d: RunningDaemon, n: number) => waitFor(() => d.records().some((r) => r.msg === 'calendar changed' && r.entries.length === n), { what: 'the daemon to see the calendar' });
  const registered = (name: string) => waitFor(async () => (await node(name))?.status?.daemonVersion, { what: `Node ${name} registered with status` });
  const spawnAlice = () => {
    const ps = [sleeper(alice), sleeper(alice), termIgnorer(alice), forker(alice)];
    started.push(...ps);
    return ps;
  };

  before(async function () {
    this.timeout(60_000);
    // reason: creating users, setpriv and signalling other users' processes need root
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: the daemon e2e tests create users and signal their processes, as root)');
      this.skip();
    }
    etcd = await startEtcd();
    store = etcd.store();
    alice = ensureUser('dmn-alice');
    bob = ensureUser('dmn-bob');
    await putConfig(store, { killWaitSeconds: KILL_WAIT, warnBefore: [2] });
  });

  afterEach(async function () {
    await endTest(this, { daemons, procs: started, dirs }, [alice, bob]);
  });

  after(async () => {
    await etcd?.stop();
    removeTestCgroups(); // booking cgroups of a drained cleanup stay behind on purpose; the empty ones of these tests go
  });


  it('registers its Node with capacity and version, and heartbeats under a lease', async () => {
    const d = await run({ node: 'n-reg' });
    await registered('n-reg');
    const n = (await node('n-reg')) as Node;
    assert.equal(n.spec?.address, '127.0.0.1');
    assert.equal(n.status?.phase, 'Ready');
    assert.equal(n.status?.capacity?.cpus, cpus().length);
    assert.ok((n.status?.capacity?.memoryBytes ?? 0) > 0);
    assert.equal(n.status?.capacity?.gpus, 0);
    assert.ok(n.status?.heartbeatTime);
    const hb = await waitFor(async () => (await store.etcd.get(keys.heartbeat('n-reg')).exec()).kvs[0], { what: 'heartbeat key' });
    assert.notEqual(hb.lease, '0', 'the heartbeat key is under a lease');
    assert.equal(JSON.parse(hb.value.toString()).daemonVersion, n.status?.daemonVersion);
    const skew = await waitFor(async () => (await node('n-reg'))?.status?.conditions?.find((c) => c.type === 'ClockSkew'), { what: 'ClockSkew condition' });
    assert.equal(skew.status, 'False', skew.message);
    await d.stop();
    assert.equal(await d.exited, 0, 'SIGTERM is a graceful exit');
    assert.equal((await store.etcd.get(keys.heartbeat('n-reg')).exec()).kvs.length, 0, 'a graceful stop revokes the heartbeat at once');
  });

  for (const mode of ['cgroups', 'no-cgroups'] as const) {
  it(`ends all the booked user's processes within killWait + 1 s of the end, and no one else's (${mode})`, async () => {
    const name = `n-end-${mode}`;
    const d = await run({ node: name, extra: mode === 'no-cgroups' ? ['--no-cgroups'] : [] });
    await registered(name);
    spawnAlice();
    const other = sleeper(bob);
    started.push(other);
    await waitFor(() => livePids(alice).length >= 4 && livePids(bob).length === 1, { what: 'test processes up' });
    const end = Date.now() + 2500;
    await putCalendar(store, name, [entry(alice.name, Date.now() - 1000, end)]);
    await sawCalendar(d, 1);
    const holder = await waitFor(async () => (await node(name))?.status?.booking, { what: 'status.booking while it is active' });
    assert.equal(holder.user, alice.name);
    await waitFor(() => Date.now() >= end - 300, { what: 'almost the end', timeoutMs: 5000 });
    assert.ok(livePids(alice).length >= 4, 'nothing is killed before the end');
    await waitFor(() => livePids(alice).length === 0, { what: 'alice has no processes left', timeoutMs: 10_000, intervalMs: 10 });
    const late = Date.now() - end;
    assert.ok(late <= KILL_WAIT * 1000 + 1000, `gone ${late} ms after the end (limit ${KILL_WAIT * 1000 + 1000})`);
    assert.deepEqual(livePids(bob), [other.pid], 'the other user\'s process is untouched');
    const cleaned = await waitFor(async () => (await node(name))?.status?.conditions?.find((c) => c.type === 'Cleaned'), { what: 'Cleaned condition' });
    assert.equal(cleaned.status, 'True');
    assert.equal((await node(name))?.status?.phase, 'Ready');
    assert.equal((await node(name))?.status?.booking, undefined, 'nobody holds the node after the end');
  });
  }

  it('cleans up on time by its own clock while etcd (and so any operator) is unreachable', async () => {
    const d = await run({ node: 'n-outage' });
    await registered('n-outage');
    spawnAlice();
    await waitFor(() => livePids(alice).length >= 4, { what: 'test processes up' });
    const end = Date.now() + 2500;
    await putCalendar(store, 'n-outage', [entry(alice.name, Date.now() - 1000, end)]);
    await sawCalendar(d, 1);
    await etcd.kill();
    try {
      await waitFor(() => livePids(alice).length === 0, { what: 'alice has no processes left', timeoutMs: 10_000, intervalMs: 10 });
      const late = Date.now() - end;
      assert.ok(late <= KILL_WAIT * 1000 + 1000, `gone ${late} ms after the end (limit ${KILL_WAIT * 1000 + 1000})`);
    } finally {
      await etcd.restart();
    }
    // etcd back: the watch resumes and the heartbeat is there again
    await putCalendar(store, 'n-outage', []);
    await waitFor(() => d.records().some((r) => r.msg === 'calendar changed' && r.entries.length === 0), { what: 'the daemon to see a change after the outage', timeoutMs: 15_000 });
    await waitFor(async () => (await store.etcd.get(keys.heartbeat('n-outage')).exec()).kvs.length === 1, { what: 'the heartbeat after the outage', timeoutMs: 15_000 });
  });

  it('cleans up at once when the booking is cancelled (entry removed before its end)', async () => {
    const d = await run({ node: 'n-cancel' });
    await registered('n-cancel');
    spawnAlice();
    await waitFor(() => livePids(alice).length >= 4, { what: 'test processes up' });
    await putCalendar(store, 'n-cancel', [entry(alice.name, Date.now() - 1000, Date.now() + 3_600_000)]);
    await sawCalendar(d, 1);
    const removed = Date.now();
    await putCalendar(store, 'n-cancel', []);
    await waitFor(() => livePids(alice).length === 0, { what: 'alice has no processes left', timeoutMs: 10_000, intervalMs: 10 });
    const took = Date.now() - removed;
    assert.ok(took <= KILL_WAIT * 1000 + 1000, `gone ${took} ms after the cancel`);
  });

  it('spares a user who still holds an active booking (back to back)', async () => {
    const d = await run({ node: 'n-b2b' });
    await registered('n-b2b');
    const p = sleeper(alice);
    started.push(p);
    await waitFor(() => livePids(alice).length === 1, { what: 'sleeper up' });
    const t = Date.now() + 1500;
    await putCalendar(store, 'n-b2b', [entry(alice.name, Date.now() - 1000, t), entry(alice.name, t, t + 3_600_000)]);
    await sawCalendar(d, 2);
    await waitFor(() => d.records().some((r) => r.reason === 'holds-active-booking'), { what: 'the daemon to spare alice', timeoutMs: 5000 });
    assert.deepEqual(livePids(alice), [p.pid]);
  });

  it('stops cleaning up when a booking of the same user begins during the kill wait: what they start under it lives on', async () => {
    const d = await run({ node: 'n-again' });
    await registered('n-again');
    const old = termIgnorer(alice);
    started.push(old);
    await waitFor(() => livePids(alice).length >= 1, { what: 'the first booking\'s process up' });
    const end = Date.now() + 1500;
    const again = end + 300; // a gap: not back to back, so the cleanup of the first one starts
    await putCalendar(store, 'n-again', [entry(alice.name, Date.now() - 1000, end), entry(alice.name, again, again + 3_600_000)]);
    await sawCalendar(d, 2);
    await waitFor(() => d.records().some((r) => r.msg === 'cleaning up' && r.user === alice.name), { what: 'the cleanup of the first booking to start', timeoutMs: 5000 });
    await waitFor(() => Date.now() >= again + 50, { what: 'the second booking to begin', timeoutMs: 5000, intervalMs: 5 });
    const fresh = sleeper(alice); // a login under the second booking, inside the first one's kill wait
    started.push(fresh);
    // past the first booking's kill wait, when its SIGKILL round would have run
    await waitFor(() => Date.now() >= end + KILL_WAIT * 1000 + 1000, { what: 'the kill wait to pass', timeoutMs: 5000, intervalMs: 20 });
    assert.ok(livePids(alice).includes(fresh.pid!), 'the process started under the second booking is alive');
    assert.ok(d.records().some((r) => /^stopped cleaning up/.test(r.msg ?? '') && r.user === alice.name && r.heldAgain), 'the daemon says why it stopped');
  });

  it('a daemon stopped across the end cleans up within 2 s of restarting (etcd down too: from its state file)', async () => {
    const stateDir = tempStateDir();
    const d1 = await run({ node: 'n-restart', stateDir });
    await registered('n-restart');
    spawnAlice();
    await waitFor(() => livePids(alice).length >= 4, { what: 'test processes up' });
    const end = Date.now() + 1500;
    await putCalendar(store, 'n-restart', [entry(alice.name, Date.now() - 1000, end)]);
    await sawCalendar(d1, 1);
    await d1.stop();
    await etcd.kill();
    try {
      await waitFor(() => Date.now() > end + 500, { what: 'the end to pass while the daemon is down', timeoutMs: 5000 });
      assert.ok(livePids(alice).length >= 4, 'nothing was cleaned while the daemon was down');
      const restarted = Date.now();
      await run({ node: 'n-restart', stateDir });
      await waitFor(() => livePids(alice).length === 0, { what: 'alice has no processes left', timeoutMs: 10_000, intervalMs: 10 });
      const took = Date.now() - restarted;
      assert.ok(took <= 2000 + KILL_WAIT * 1000, `cleaned ${took} ms after the restart`);
    } finally {
      await etcd.restart();
    }
  });

  it('heartbeats again after an etcd outage longer than its lease', async () => {
    const d = await run({ node: 'n-long-outage', leaseTtl: 1 });
    await registered('n-long-outage');
    const hb = async () => (await store.etcd.get(keys.heartbeat('n-long-outage')).exec()).kvs[0];
    const before = await waitFor(hb, { what: 'heartbeat key' });
    await etcd.kill();
    try {
      await waitFor(() => d.records().some((r) => r.level >= 40 && /heartbeat lease lost/.test(r.msg ?? '')), { what: 'the daemon to notice the lost lease', timeoutMs: 10_000, intervalMs: 100 });
    } finally {
      await etcd.restart();
    }
    const after = await waitFor(async () => {
      const kv = await hb();
      return kv && kv.lease !== before.lease ? kv : undefined;
    }, { what: 'a heartbeat under a new lease', timeoutMs: 15_000, intervalMs: 100 });
    assert.ok(after);
  });

  it('a daemon that dies loses its heartbeat key within its lease (three heartbeat TTLs)', async () => {
    const d = await run({ node: 'n-dies', leaseTtl: 2 });
    await registered('n-dies');
    await waitFor(async () => (await store.etcd.get(keys.heartbeat('n-dies')).exec()).kvs.length === 1, { what: 'heartbeat key' });
    const died = Date.now();
    await d.stop('SIGKILL');
    await waitFor(async () => (await store.etcd.get(keys.heartbeat('n-dies')).exec()).kvs.length === 0, { what: 'the heartbeat key to vanish', timeoutMs: 12_000, intervalMs: 50 });
    const took = Date.now() - died;
    // etcd expires a lease at its TTL (heartbeatLeaseTtlSeconds: 3 x 2 s) after its last
    // keepalive (sent every third of it), checked each 500 ms. The node is NotReady sooner, by
    // the value's rule (the next test).
    assert.ok(took <= heartbeatLeaseTtlSeconds(2) * 1000 + 1000, `heartbeat gone ${took} ms after the daemon died`);
  });

  it('a node whose daemon dies becomes NotReady (with the real operator)', async function () {
    // A fresh etcd: the operator must not meet the other tests' calendars without bookings.
    const own = await startEtcd();
    const st = own.store();
    let op: RunningDaemon | undefined;
    try {
      op = await startOperator(own.endpoint);
      daemons.push(op);
      const stateDir = tempStateDir();
      dirs.push(stateDir);
      const d = await startDaemon({ endpoint: own.endpoint, node: 'n-notready', stateDir, leaseTtl: 2 });
      daemons.push(d);
      await waitFor(async () => {
        const x = await st.get({ kind: 'Node', name: 'n-notready' });
        return x?.status?.phase === 'Ready' && x.status.daemonVersion;
      }, { what: 'Node Ready, with the daemon\'s status fields', timeoutMs: 15_000 });
      const died = Date.now();
      await d.stop('SIGKILL');
      const n = await waitFor(async () => {
        const x = await st.get({ kind: 'Node', name: 'n-notready' });
        return x?.status?.phase === 'NotReady' ? x : undefined;
      }, { what: 'Node NotReady after the daemon died', timeoutMs: 15_000, intervalMs: 50 });
      const took = Date.now() - died;
      assert.ok(took <= 2000 + 2000, `NotReady ${took} ms after the daemon died (lease TTL 2 s)`);
      assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
      assert.ok(n.status?.daemonVersion, 'the daemon\'s fields are kept');
    } finally {
      await op?.stop();
      await own.stop();
    }
  });

  it('with the real operator: a booking applied to etcd ends with its user\'s processes', async function () {
    const own = await startEtcd();
    const st = own.store();
    let op: RunningDaemon | undefined;
    try {
      await putConfig(st, { killWaitSeconds: KILL_WAIT, warnBefore: [] });
      op = await startOperator(own.endpoint);
      daemons.push(op);
      const stateDir = tempStateDir();
      dirs.push(stateDir);
      const d = await startDaemon({ endpoint: own.endpoint, node: 'n-op', stateDir });
      daemons.push(d);
      await waitFor(async () => (await st.get({ kind: 'Node', name: 'n-op' }))?.status?.phase === 'Ready', { what: 'Node Ready', timeoutMs: 15_000 });
      spawnAlice();
      await waitFor(() => livePids(alice).length >= 4, { what: 'test processes up' });
      await st.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { namespace: alice.name, name: 'bk-op' }, spec: { user: alice.name, nodes: ['n-op'], duration: 3, queue: false } });
      await sawCalendar(d, 1);
      const [e] = d.records().find((r) => r.msg === 'calendar changed' && r.entries.length === 1).entries;
      const end = Date.parse(e.end);
      assert.equal(e.user, alice.name);
      await waitFor(() => livePids(alice).length === 0, { what: 'alice has no processes left', timeoutMs: 15_000, intervalMs: 10 });
      const late = Date.now() - end;
      assert.ok(late <= KILL_WAIT * 1000 + 1000, `gone ${late} ms after the end (limit ${KILL_WAIT * 1000 + 1000})`);
      const bk = await waitFor(async () => {
        const b = await st.get({ kind: 'Booking', namespace: alice.name, name: 'bk-op' });
        return b?.status?.phase === 'Expired' ? b : undefined;
      }, { what: 'the operator to expire the booking', timeoutMs: 10_000 });
      assert.equal(bk.status?.phase, 'Expired');
    } finally {
      await op?.stop();
      await own.stop();
    }
  });

  it('a process that cannot be killed drains the node with the reason and the leftover pid', async () => {
    const d = await run({ node: 'n-drain', cleanupTimeout: 1, env: { KIWI_TEST_UNKILLABLE_MARK: UNKILLABLE } });
    await registered('n-drain');
    const stubborn = marked(alice, UNKILLABLE);
    const plain = sleeper(alice);
    started.push(stubborn, plain);
    await waitFor(() => livePids(alice).length === 2, { what: 'test processes up' });
    await putCalendar(store, 'n-drain', [entry(alice.name, Date.now() - 1000, Date.now() + 1000)]);
    await sawCalendar(d, 1);
    const n = await waitFor(async () => {
      const x = await node('n-drain');
      return x?.status?.phase === 'Drained' ? x : undefined;
    }, { what: 'Node n-drain Drained', timeoutMs: 15_000 });
    const cleaned = n.status?.conditions?.find((c) => c.type === 'Cleaned');
    assert.equal(cleaned?.status, 'False');
    assert.equal(cleaned?.reason, 'CleanupFailed');
    assert.match(cleaned!.message!, new RegExp(`pids ${stubborn.pid}\\b`));
    assert.match(n.status!.message!, /cleanup of kiwitest-dmn-alice .* failed/);
    assert.deepEqual(livePids(alice), [stubborn.pid], 'everything else was killed');
  });

  it('reports ClockSkew when its clock is off from etcd\'s', async () => {
    await run({ node: 'n-skew', env: { KIWI_TEST_CLOCK_OFFSET_MS: '10000' } });
    const skew = await waitFor(async () => (await node('n-skew'))?.status?.conditions?.find((c) => c.type === 'ClockSkew'), { what: 'ClockSkew condition' });
    assert.equal(skew.status, 'True');
    assert.match(skew.message!, /off from etcd's by/);
  });

  it('warns the user\'s terminals before the end and sends the opt-in end signal', async () => {
    const d = await run({ node: 'n-warn' });
    await registered('n-warn');
    const term = onTerminal(alice);
    const sig = signalPrinter(alice);
    started.push(term, sig);
    let screen = '';
    let out = '';
    term.stdout!.on('data', (b) => (screen += b));
    sig.stdout!.on('data', (b) => (out += b));
    await waitFor(() => livePids(alice).length >= 3, { what: 'test processes up' });
    const end = Date.now() + 4000;
    await putCalendar(store, 'n-warn', [entry(alice.name, Date.now() - 1000, end, { endSignal: { signal: 'SIGUSR1', before: 1 } })]);
    await sawCalendar(d, 1);
    await waitFor(() => /Kiwi: booking kiwitest-dmn-alice\/.* ends in \d seconds/.test(screen), { what: 'the warning on the terminal', timeoutMs: 5000 });
    assert.ok(Date.now() >= end - 2000 - 200, 'not before warnBefore');
    await waitFor(() => out.includes('got-USR1'), { what: 'SIGUSR1 before the end', timeoutMs: 5000 });
    assert.ok(Date.now() < end, 'the end signal comes before the end');
  });
});
