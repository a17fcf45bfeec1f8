// Healing end to end: the real operator, two real node daemons, a booking with count +
// nodeSelector Active on one of them. That daemon is killed by its PID mid-booking; once its
// heartbeat has been gone for healing.gracePeriod the booking runs on the other node (whose own
// daemon reports holding it), keeps its end, says what replaced what; the dead node, restarted,
// is not given the booking back.
import assert from 'node:assert/strict';
import { keys, type Booking, type Calendar, type Store } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { mkBooking, mkNode } from '../../integration/operator/helpers.js';
import { dumpOnFailure, putConfig, removeDir, startDaemon, startOperator, tempStateDir, type RunningDaemon } from './harness.js';

const GRACE = 2;

describe('healing (e2e: real operator, two node daemons, one killed mid-booking)', function () {
  this.timeout(90_000);
  let etcd: TestEtcd;
  let store: Store;
  let op: RunningDaemon | undefined;
  const daemons = new Map<string, RunningDaemon>();
  const dirs = new Map<string, string>();

  const start = async (node: string) => {
    if (!dirs.has(node)) dirs.set(node, tempStateDir());
    const d = await startDaemon({ endpoint: etcd.endpoint, node, stateDir: dirs.get(node)!, leaseTtl: 1 });
    daemons.set(node, d);
    return d;
  };
  const nodeOf = (name: string) => store.get({ kind: 'Node', name });
  const bookingOf = () => store.get({ kind: 'Booking', namespace: 'kiwitest-heal', name: 'h1' }) as Promise<Booking | undefined>;
  const calendar = async (node: string) => {
    const v = await store.etcd.get(keys.calendar(node)).string();
    return v ? (JSON.parse(v) as Calendar).entries : [];
  };

  before(async function () {
    // reason: the node daemon runs as root (it may signal users' processes)
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: the node daemons run as root)');
      this.skip();
    }
    etcd = await startEtcd();
    store = etcd.store();
    await putConfig(store, { healing: { gracePeriod: GRACE } });
    for (const n of ['heal-a', 'heal-b']) await store.create(mkNode(n, { address: '127.0.0.1' }, { rack: 'heal' }));
    op = await startOperator(etcd.endpoint);
  });

  afterEach(function () {
    dumpOnFailure(this, [op, ...daemons.values()]);
  });

  after(async () => {
    await Promise.all([...daemons.values()].map((d) => d.stop('SIGKILL')));
    await op?.stop();
    await etcd?.stop();
    for (const d of dirs.values()) removeDir(d);
  });

  it('a booking whose node dies goes on on a free matching node, keeping its end; the node back gets nothing back', async () => {
    await start('heal-a');
    await start('heal-b');
    await waitFor(async () => (await nodeOf('heal-a'))?.status?.phase === 'Ready' && (await nodeOf('heal-b'))?.status?.phase === 'Ready', { what: 'both nodes Ready', timeoutMs: 20_000 });
    await store.create(mkBooking('kiwitest-heal', 'h1', { count: 1, nodeSelector: { rack: 'heal' }, duration: 600 }));
    const active = await waitFor(async () => {
      const b = await bookingOf();
      return b?.status?.phase === 'Active' ? b : undefined;
    }, { what: 'the booking Active', timeoutMs: 15_000 });
    const [was] = active.status!.nodes!;
    const other = was === 'heal-a' ? 'heal-b' : 'heal-a';
    // The daemon there holds it (its own report), before it dies.
    await waitFor(async () => (await nodeOf(was))?.status?.booking?.name === 'h1', { what: `${was}'s daemon to report the booking` });

    const died = Date.now();
    await daemons.get(was)!.stop('SIGKILL');
    const healed = await waitFor(async () => {
      const b = await bookingOf();
      return b?.status?.nodes?.[0] === other ? b : undefined;
    }, { what: `the booking moved to ${other}`, timeoutMs: 20_000, intervalMs: 50 });
    const took = Date.now() - died;
    const st = healed.status!;
    assert.equal(st.phase, 'Active');
    assert.equal(st.startTime, active.status!.startTime, 'its start stays');
    assert.equal(st.endTime, active.status!.endTime, 'it keeps its end');
    assert.equal(st.replacements?.length, 1);
    assert.deepEqual([st.replacements![0].node, st.replacements![0].by, st.replacements![0].reason], [was, other, 'HeartbeatLost']);
    const c = st.conditions?.find((x) => x.type === 'Degraded');
    assert.equal(c?.status, 'True');
    assert.equal(c?.reason, 'Replaced');
    assert.match(c!.message!, new RegExp(`^node ${was} stopped heartbeating at .*, more than healing.gracePeriod ${GRACE}s ago: replaced by node ${other} at `));
    // Not before the grace: from the moment the node went NotReady (its Ready=False condition, in whole seconds).
    const since = (await nodeOf(was))!.status!.conditions!.find((x) => x.type === 'Ready' && x.status === 'False')!.lastTransitionTime!;
    assert.ok(Date.parse(st.replacements![0].time) >= Date.parse(since) + GRACE * 1000, `replaced at ${st.replacements![0].time}, NotReady since ${since}: within the grace of ${GRACE} s`);
    assert.ok(took < 15_000, `replaced ${took} ms after the daemon died`);
    // The calendars: gone from the dead node, on the other from the replacement on, to the same end.
    assert.deepEqual(await calendar(was), []);
    const [e] = await calendar(other);
    assert.equal(e.booking, 'kiwitest-heal/h1');
    assert.equal(e.start, Date.parse(st.replacements![0].time));
    assert.equal(e.end, Date.parse(active.status!.endTime!));
    // The booking runs on there: that node's daemon reports holding it.
    await waitFor(async () => (await nodeOf(other))?.status?.booking?.name === 'h1', { what: `${other}'s daemon to report the booking`, timeoutMs: 10_000 });
    const events = await store.listEvents({ kind: 'Booking', namespace: 'kiwitest-heal', name: 'h1' });
    assert.ok(events.some((x) => x.reason === 'Replaced' && x.type === 'Warning'), 'a Replaced event for the user');

    // The dead node comes back: Ready, and the booking stays where it is.
    await start(was);
    await waitFor(async () => (await nodeOf(was))?.status?.phase === 'Ready', { what: `${was} Ready again`, timeoutMs: 15_000 });
    await waitFor(async () => (await nodeOf(was))?.status?.booking === undefined && (await nodeOf(was))?.status?.heartbeatTime, { what: `${was}'s daemon to report no booking` });
    const after = (await bookingOf())!;
    assert.deepEqual(after.status!.nodes, [other]);
    assert.deepEqual(await calendar(was), []);
  });
});
