// Idle release end to end: the real operator, two real node daemons, real kiwitest-* users. One
// user's booking has only an idle process (a sleep on a terminal): their terminal gets the
// warning, the booking condition IdleWarning, then it ends with reason Idle and the process is
// cleaned up. The other user's booking, started at the same time with the same settings, has a
// busy process: when the idle one has ended it is still Active, never warned.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Booking, Store } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { killAllOf, livePids, onTerminal, spawnAs, stopAll } from '../../helpers/procs.js';
import { mkBooking, mkNode } from '../../integration/operator/helpers.js';
import { dumpOnFailure, putConfig, removeDir, removeTestCgroups, startDaemon, startOperator, tempStateDir, type RunningDaemon } from './harness.js';

const AFTER = 6;
const WARN = 3;

describe('idle release (e2e: real operator, daemons, users, an idle and a busy process)', function () {
  this.timeout(90_000);
  let etcd: TestEtcd;
  let store: Store;
  let op: RunningDaemon | undefined;
  let idle: TestUser;
  let busy: TestUser;
  const daemons: RunningDaemon[] = [];
  const dirs: string[] = [];
  const started: ChildProcess[] = [];

  const get = (ns: string, name: string) => store.get({ kind: 'Booking', namespace: ns, name }) as Promise<Booking | undefined>;

  before(async function () {
    // reason: creating users, setpriv and signalling other users' processes need root
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: the idle e2e test creates users and runs their processes, as root)');
      this.skip();
    }
    etcd = await startEtcd();
    store = etcd.store();
    idle = ensureUser('idle-a');
    busy = ensureUser('idle-b');
    await putConfig(store, { killWaitSeconds: 1, idleRelease: { enabled: false, after: AFTER, warnBefore: WARN, cpuPercent: 5 } });
    for (const n of ['idle-n1', 'idle-n2']) {
      await store.create(mkNode(n, { address: '127.0.0.1' }));
      const dir = tempStateDir();
      dirs.push(dir);
      daemons.push(await startDaemon({ endpoint: etcd.endpoint, node: n, stateDir: dir, extra: ['--idle-sample-interval', '0.5'] }));
    }
    op = await startOperator(etcd.endpoint);
    await waitFor(async () => (await store.list('Node')).filter((n) => n.status?.phase === 'Ready').length === 2, { what: 'both nodes Ready', timeoutMs: 20_000 });
  });

  afterEach(function () {
    dumpOnFailure(this, [op, ...daemons]);
  });

  after(async () => {
    await stopAll(started);
    if (idle) await killAllOf(idle);
    if (busy) await killAllOf(busy);
    await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
    await op?.stop();
    await etcd?.stop();
    for (const d of dirs) removeDir(d);
    removeTestCgroups();
  });

  it('warns an idle user (terminal and condition), then ends the booking with reason Idle; a busy one goes on', async () => {
    // The busy user's process first, so that it is busy from its booking's first sample on.
    const spin = spawnAs(busy, ['bash', '-c', 'while :; do :; done']);
    started.push(spin);
    await store.create(mkBooking(idle.name, 'sleepy', { nodes: ['idle-n1'], duration: 600, idleRelease: true }));
    await store.create(mkBooking(busy.name, 'working', { nodes: ['idle-n2'], duration: 600, idleRelease: true }));
    await waitFor(async () => (await get(idle.name, 'sleepy'))?.status?.phase === 'Active' && (await get(busy.name, 'working'))?.status?.phase === 'Active', { what: 'both bookings Active' });
    const term = onTerminal(idle);
    started.push(term);
    let screen = '';
    term.stdout!.on('data', (b) => (screen += b));
    await waitFor(() => livePids(idle).length >= 2, { what: 'the idle user\'s terminal and sleep up' });

    // The warning: on the idle user's terminal, and as the booking's condition.
    await waitFor(() => /Kiwi: booking kiwitest-idle-a\/sleepy of kiwitest-idle-a has seen no activity of yours on this node since .*; it will be ended \(reason Idle\)/.test(screen), { what: 'the idle warning on the terminal', timeoutMs: 20_000 });
    const warned = await waitFor(async () => (await get(idle.name, 'sleepy'))?.status?.conditions?.find((c) => c.type === 'IdleWarning' && c.status === 'True'), { what: 'condition IdleWarning', timeoutMs: 10_000 });
    assert.match(warned.message!, /^its user has been idle on all its nodes since .*; it ends at .* \(reason Idle\) unless they use one of them$/);
    // What idle-n1's daemon reported in its Node status (its log of each report written).
    const reports = daemons[0].records().filter((r) => r.msg === 'activity report changed').map((r) => r.activity);
    assert.ok(reports.some((l: { booking: string; idleSince?: string }[]) => l.some((a) => a.booking === 'kiwitest-idle-a/sleepy' && a.idleSince)), `idle-n1 reported the user idle: ${JSON.stringify(reports)}`);

    // The end, reason Idle, after the warning stood for warnBefore; the idle process is cleaned up.
    const ended = await waitFor(async () => {
      const b = await get(idle.name, 'sleepy');
      return b?.status?.phase === 'Expired' ? b : undefined;
    }, { what: 'the idle booking Expired', timeoutMs: 20_000 });
    assert.equal(ended.status!.reason, 'Idle');
    assert.match(ended.status!.message!, /^ended at .*: its user was idle on all its nodes \(idle-n1\) since .*, for idleRelease\.after 6s; warned at /);
    assert.ok(Date.parse(ended.status!.endTime!) - Date.parse(warned.lastTransitionTime!) >= WARN * 1000 - 1000, 'not ended sooner than warnBefore after the warning');
    await waitFor(() => livePids(idle).length === 0, { what: 'the idle user\'s processes cleaned up', timeoutMs: 15_000 });

    // The busy one, booked at the same time with the same settings: still Active, never warned, reported active.
    const working = (await get(busy.name, 'working'))!;
    assert.equal(working.status!.phase, 'Active');
    assert.equal(working.status!.conditions?.find((c) => c.type === 'IdleWarning'), undefined);
    const node2 = (await store.get({ kind: 'Node', name: 'idle-n2' }))!;
    const rep = node2.status?.activity?.find((a) => a.booking === 'kiwitest-idle-b/working');
    assert.ok(rep && !rep.idleSince, `idle-n2 reports the busy user active: ${JSON.stringify(node2.status?.activity)}`);
  });
});
