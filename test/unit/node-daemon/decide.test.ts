// The daemon's pure decisions, table-driven with a fake now: who is cleaned up, who is spared
// and why, which warnings and signals are due, when to wake up, the owned status and skew.
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, type CalendarEntry, type EffectiveConfig } from '../../../crds/api/index.js';
import { dueCleanups, track, whoToKill, type Proc, type Tracked } from '../../../node-daemon/src/decide/kill.js';
import { endSignalsDue, holdEnd, nextWake, pruneSent, signalName, warningsDue } from '../../../node-daemon/src/decide/timers.js';
import { currentBooking, estimateSkew, mergeStatus } from '../../../node-daemon/src/decide/status.js';
import { parseStatus } from '../../../node-daemon/src/enforce/procs.js';
import { parseCgroup2Mount } from '../../../node-daemon/src/enforce/cgroup.js';
import { parseNvidiaSmiL } from '../../../node-daemon/src/register/capacity.js';

const T = Date.UTC(2026, 0, 1, 12, 0, 0);
const min = 60_000;
const cfg = (o: Partial<EffectiveConfig> = {}): EffectiveConfig => ({ ...DEFAULT_CONFIG, ...o });
const entry = (user: string, uid: string, start: number, end: number, extra: Partial<CalendarEntry> = {}): CalendarEntry => ({ booking: `${user}/bk-${uid}`, uid, user, start, end, ...extra });
const uids: Record<string, number> = { root: 0, daemon: 1, alice: 1001, bob: 1002, carol: 1003, admin: 1004, kiwitest: 1005 };
const users = (u: string) => (uids[u] !== undefined ? { name: u, uid: uids[u], gid: uids[u] } : undefined);
const procs: Proc[] = [
  { pid: 10, ruid: 1001, euid: 1001, state: 'S' },
  { pid: 11, ruid: 1001, euid: 1001, state: 'Z' }, // zombie: never listed
  { pid: 12, ruid: 0, euid: 1001, state: 'R' }, // effective uid alice (setuid-ish): listed
  { pid: 13, ruid: 1001, euid: 0, state: 'S' }, // real uid alice, now root (e.g. sudo): listed
  { pid: 20, ruid: 1002, euid: 1002, state: 'S' },
  { pid: 30, ruid: 0, euid: 0, state: 'S' },
];

describe('node-daemon decide: track and dueCleanups', () => {
  const cases: { name: string; known: Tracked[]; cal: CalendarEntry[]; now: number; tracked: string[]; gone: string[]; due: string[] }[] = [
    { name: 'a running entry is tracked, not due', known: [], cal: [entry('alice', 'a', T - min, T + min)], now: T, tracked: ['a'], gone: [], due: [] },
    { name: 'an entry is due at its end by the clock, still in the calendar', known: [], cal: [entry('alice', 'a', T - min, T)], now: T, tracked: ['a'], gone: [], due: ['a'] },
    { name: 'one ms before its end it is not due', known: [], cal: [entry('alice', 'a', T - min, T + 1)], now: T, tracked: ['a'], gone: [], due: [] },
    { name: 'removed from the calendar after it began (cancel): due at once', known: [entry('alice', 'a', T - min, T + min)], cal: [], now: T, tracked: ['a'], gone: ['a'], due: ['a'] },
    { name: 'removed before it began: forgotten, nothing to clean', known: [entry('alice', 'a', T + min, T + 2 * min)], cal: [], now: T, tracked: [], gone: [], due: [] },
    { name: 'a shortened end replaces the tracked one', known: [entry('alice', 'a', T - min, T + 9 * min)], cal: [entry('alice', 'a', T - min, T)], now: T, tracked: ['a'], gone: [], due: ['a'] },
    { name: 'ended while the daemon was down (from the state file)', known: [entry('alice', 'a', T - 9 * min, T - 5 * min)], cal: [entry('alice', 'a', T - 9 * min, T - 5 * min)], now: T, tracked: ['a'], gone: [], due: ['a'] },
    { name: 'a begun entry whose start the calendar moved past now has ended: due at once', known: [entry('alice', 'a', T - min, T + min)], cal: [entry('alice', 'a', T + 5 * min, T + 7 * min)], now: T, tracked: ['a'], gone: ['a'], due: ['a'] },
    { name: 'an entry not yet begun may move later: tracked, not due', known: [entry('alice', 'a', T + min, T + 2 * min)], cal: [entry('alice', 'a', T + 5 * min, T + 7 * min)], now: T, tracked: ['a'], gone: [], due: [] },
    { name: 'a future entry is tracked, not due', known: [], cal: [entry('bob', 'b', T + min, T + 2 * min)], now: T, tracked: ['b'], gone: [], due: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const k = track(c.known, c.cal, c.now);
      assert.deepEqual(k.map((x) => x.uid), c.tracked);
      assert.deepEqual(k.filter((x) => x.goneAt !== undefined).map((x) => x.uid), c.gone);
      assert.deepEqual(dueCleanups(k, c.now).map((x) => x.uid), c.due);
    });
  }
  it('a moved begun slot stays ended across ticks; its later copy is tracked once cleaned up', () => {
    const moved = entry('alice', 'a', T + 5 * min, T + 7 * min);
    const k1 = track([entry('alice', 'a', T - min, T + min)], [moved], T);
    const k2 = track(k1, [moved], T + 5000);
    assert.deepEqual(k2.map((x) => [x.start, x.goneAt]), [[T - min, T]]);
    // the daemon's forget(): the old copy is done; the moved one is tracked as a future entry
    assert.deepEqual(track([], [moved], T + 6000, new Set([`a@${T + min}`])).map((x) => [x.start, x.goneAt]), [[T + 5 * min, undefined]]);
  });
  it('keeps the first goneAt across ticks', () => {
    const k1 = track([entry('alice', 'a', T - min, T + min)], [], T);
    const k2 = track(k1, [], T + 5000);
    assert.equal(k2[0].goneAt, T);
  });
});

describe('node-daemon decide: whoToKill', () => {
  const cases: { name: string; due: Tracked[]; entries?: CalendarEntry[]; config?: Partial<EffectiveConfig>; onlyUsers?: RegExp; kill: { user: string; pids: number[] }[]; spared: { user: string; reason: string }[] }[] = [
    { name: 'the booked user\'s live processes by real or effective uid, zombies skipped', due: [entry('alice', 'a', T - min, T)], kill: [{ user: 'alice', pids: [10, 12, 13] }], spared: [] },
    { name: 'another user is untouched', due: [entry('bob', 'b', T - min, T)], kill: [{ user: 'bob', pids: [20] }], spared: [] },
    { name: 'a user holding another active booking is spared', due: [entry('alice', 'a', T - min, T)], entries: [entry('alice', 'a', T - min, T), entry('alice', 'a2', T, T + min)], kill: [], spared: [{ user: 'alice', reason: 'holds-active-booking' }] },
    { name: 'a future booking of the same user does not spare', due: [entry('alice', 'a', T - min, T)], entries: [entry('alice', 'a2', T + 1, T + min)], kill: [{ user: 'alice', pids: [10, 12, 13] }], spared: [] },
    { name: 'root is never touched', due: [entry('root', 'r', T - min, T)], kill: [], spared: [{ user: 'root', reason: 'root' }] },
    { name: 'users below minUid are never touched', due: [entry('daemon', 'd', T - min, T)], kill: [], spared: [{ user: 'daemon', reason: 'system-user' }] },
    { name: 'minUid is taken from the config', due: [entry('alice', 'a', T - min, T)], config: { minUid: 1002 }, kill: [], spared: [{ user: 'alice', reason: 'system-user' }] },
    { name: 'sshBypassUsers are never touched', due: [entry('admin', 'x', T - min, T)], config: { sshBypassUsers: ['admin'] }, kill: [], spared: [{ user: 'admin', reason: 'bypass-user' }] },
    { name: 'an unknown user is spared', due: [entry('nobody-here', 'n', T - min, T)], kill: [], spared: [{ user: 'nobody-here', reason: 'unknown-user' }] },
    { name: 'the test-mode guard spares users outside it', due: [entry('alice', 'a', T - min, T)], onlyUsers: /^kiwitest/, kill: [], spared: [{ user: 'alice', reason: 'guard' }] },
    { name: 'two due bookings of one user make one target', due: [entry('alice', 'a', T - 2 * min, T - min), entry('alice', 'b', T - min, T)], kill: [{ user: 'alice', pids: [10, 12, 13] }], spared: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = whoToKill({ due: c.due, entries: c.entries ?? c.due, procs, config: cfg(c.config), now: T, users, onlyUsers: c.onlyUsers });
      assert.deepEqual(r.kill.map((k) => ({ user: k.user, pids: k.pids })), c.kill);
      assert.deepEqual(r.spared.map((s) => ({ user: s.user, reason: s.reason })), c.spared);
    });
  }
  it('says why: ended at, or removed from the calendar', () => {
    const ended = whoToKill({ due: [entry('alice', 'a', T - min, T)], entries: [], procs, config: cfg(), now: T, users });
    assert.equal(ended.kill[0].reason, 'alice/bk-a ended at 2026-01-01T12:00:00.000Z');
    const cancelled = whoToKill({ due: [{ ...entry('alice', 'a', T - min, T + min), goneAt: T }], entries: [], procs, config: cfg(), now: T, users });
    assert.equal(cancelled.kill[0].reason, 'alice/bk-a removed from the calendar');
    assert.deepEqual(cancelled.kill[0].entryUids, ['a']);
  });
});

describe('node-daemon decide: warnings, end signals, wake-ups', () => {
  const e = entry('alice', 'a', T - 60 * min, T);
  const cases: { name: string; now: number; sent?: string[]; entries?: CalendarEntry[]; keys: string[] }[] = [
    { name: 'nothing before the first threshold', now: T - 11 * min, keys: [] },
    { name: '10 minutes before', now: T - 10 * min, keys: ['a:warn:600'] },
    { name: 'once only', now: T - 9 * min, sent: ['a:warn:600'], keys: [] },
    { name: '1 minute before', now: T - min, sent: ['a:warn:600'], keys: ['a:warn:60'] },
    { name: 'a late start sends only the nearest threshold', now: T - 30_000, keys: ['a:warn:60'] },
    { name: 'nothing after the end', now: T, keys: [] },
    { name: 'a back-to-back booking of the same user postpones the warning', now: T - min, entries: [e, entry('alice', 'b', T, T + 60 * min)], keys: [] },
  ];
  for (const c of cases) {
    it(`warnings: ${c.name}`, () => {
      assert.deepEqual(warningsDue(c.entries ?? [e], cfg(), c.now, new Set(c.sent ?? [])).map((w) => w.key), c.keys);
    });
  }
  it('warning text names the booking and the time left', () => {
    const [w] = warningsDue([e], cfg(), T - 10 * min, new Set());
    assert.match(w.message, /booking alice\/bk-a of alice ends in 10 minutes/);
    assert.equal(w.secondsLeft, 600);
  });
  it('warnBefore comes from the config', () => {
    assert.deepEqual(warningsDue([e], cfg({ warnBefore: [30] }), T - min, new Set()).map((w) => w.key), []);
    assert.deepEqual(warningsDue([e], cfg({ warnBefore: [30] }), T - 30_000, new Set()).map((w) => w.key), ['a:warn:30']);
  });
  it('holdEnd follows back-to-back entries of the same user only', () => {
    assert.equal(holdEnd(e, [e, entry('alice', 'b', T, T + min), entry('bob', 'c', T + min, T + 2 * min)]), T + min);
  });
  it('end signal: opt-in, at end - before, once, normalised', () => {
    const s = entry('alice', 's', T - 60 * min, T, { endSignal: { signal: 'SIGUSR1', before: 120 } });
    assert.deepEqual(endSignalsDue([s], T - 121_000, new Set()), []);
    assert.deepEqual(endSignalsDue([s], T - 120_000, new Set()).map((x) => [x.key, x.signal]), [['s:signal', 'SIGUSR1']]);
    assert.deepEqual(endSignalsDue([s], T - 60_000, new Set(['s:signal'])), []);
    assert.deepEqual(endSignalsDue([e], T - 1000, new Set()), [], 'no opt-in, no signal');
    assert.equal(signalName('usr2'), 'SIGUSR2');
    assert.equal(signalName('SIGKILL'), undefined);
  });
  it('nextWake: the nearest start, end, warning or signal', () => {
    const s = entry('alice', 's', T - 60 * min, T, { endSignal: { signal: 'SIGUSR1', before: 120 } });
    assert.equal(nextWake([], [s], cfg(), T - 30 * min), T - 10 * min);
    assert.equal(nextWake([], [s], cfg(), T - 10 * min), T - 2 * min);
    assert.equal(nextWake([], [s], cfg(), T - 2 * min), T - min);
    assert.equal(nextWake([], [s], cfg(), T - min), T);
    assert.equal(nextWake([], [s], cfg(), T), undefined);
    assert.equal(nextWake([], [entry('bob', 'f', T + 5 * min, T + 9 * min)], cfg({ warnBefore: [] }), T), T + 5 * min);
  });
  it('pruneSent drops marks of entries no longer tracked', () => {
    assert.deepEqual([...pruneSent(['a:warn:600', 'x:signal'], [e])], ['a:warn:600']);
  });
});

describe('node-daemon decide: status and clock skew', () => {
  it('currentBooking is the active entry', () => {
    const e = entry('alice', 'a', T - min, T + min);
    assert.deepEqual(currentBooking([e], T), { name: 'bk-a', namespace: 'alice', user: 'alice', since: '2026-01-01T11:59:00Z', until: '2026-01-01T12:01:00Z' });
    assert.equal(currentBooking([e], T + min), undefined);
  });
  it('mergeStatus keeps the operator\'s phase and sets Drained only on a failed cleanup', () => {
    const ready = mergeStatus(undefined, { daemonVersion: 'v' }, T);
    assert.equal(ready.phase, 'Ready', 'first registration');
    const notReady = mergeStatus({ phase: 'NotReady', conditions: [{ type: 'Ready', status: 'False' }] }, { daemonVersion: 'v', cleaned: { status: 'True', reason: 'CleanedUp' } }, T);
    assert.equal(notReady.phase, 'NotReady');
    assert.deepEqual(notReady.conditions!.map((c) => [c.type, c.status]), [['Ready', 'False'], ['Cleaned', 'True']]);
    const drained = mergeStatus({ phase: 'Ready' }, { daemonVersion: 'v', drain: 'pids 1,2 left', cleaned: { status: 'False', reason: 'CleanupFailed', message: 'pids 1,2' } }, T);
    assert.equal(drained.phase, 'Drained');
    assert.equal(drained.message, 'pids 1,2 left');
  });
  it('mergeStatus keeps lastTransitionTime while a condition holds', () => {
    const a = mergeStatus({ phase: 'Ready' }, { daemonVersion: 'v', clockSkew: { status: 'False' } }, T);
    const b = mergeStatus(a, { daemonVersion: 'v', clockSkew: { status: 'False' } }, T + min);
    const c = mergeStatus(b, { daemonVersion: 'v', clockSkew: { status: 'True' } }, T + 2 * min);
    assert.equal(b.conditions![0].lastTransitionTime, '2026-01-01T12:00:00Z');
    assert.equal(c.conditions![0].lastTransitionTime, '2026-01-01T12:02:00Z');
  });
  const skewCases: { name: string; samples: { t0: number; t1: number; date: number }[]; skewed: boolean | undefined }[] = [
    { name: 'in sync', samples: [{ t0: T + 100, t1: T + 110, date: T }], skewed: false },
    { name: 'local clock 5 s ahead', samples: [{ t0: T + 5000, t1: T + 5010, date: T }], skewed: true },
    { name: 'local clock 5 s behind', samples: [{ t0: T - 5000, t1: T - 4990, date: T }], skewed: true },
    { name: 'a slow answer is too uncertain', samples: [{ t0: T - 4000, t1: T + 4000, date: T }], skewed: undefined },
    { name: 'just inside the bound with 1 s resolution', samples: [{ t0: T + 900, t1: T + 950, date: T }], skewed: false },
    { name: 'samples intersect to a tighter bound', samples: [{ t0: T - 2500, t1: T - 2400, date: T }, { t0: T + 1000 - 2600, t1: T + 1000 - 2550, date: T + 1000 }], skewed: true },
  ];
  for (const c of skewCases) {
    it(`estimateSkew: ${c.name}`, () => assert.equal(estimateSkew(c.samples, 2).skewed, c.skewed));
  }
});

describe('node-daemon parsers', () => {
  it('parses /proc/<pid>/status', () => {
    assert.deepEqual(parseStatus(7, 'Name:\tsleep\nState:\tS (sleeping)\nUid:\t1001\t1002\t1001\t1001\n'), { pid: 7, ruid: 1001, euid: 1002, state: 'S' });
    assert.equal(parseStatus(7, 'Name: x\n'), undefined);
  });
  it('finds the cgroup2 mount in mountinfo (hybrid and pure v2)', () => {
    const hybrid = '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n';
    assert.equal(parseCgroup2Mount(hybrid), '/sys/fs/cgroup/unified');
    assert.equal(parseCgroup2Mount('30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n'), '/sys/fs/cgroup');
    assert.equal(parseCgroup2Mount('32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n'), undefined);
  });
  it('counts GPUs in nvidia-smi -L', () => {
    assert.equal(parseNvidiaSmiL('GPU 0: NVIDIA A100 (UUID: GPU-1)\nGPU 1: NVIDIA A100 (UUID: GPU-2)\n'), 2);
    assert.equal(parseNvidiaSmiL(''), 0);
  });
});

describe('node-daemon decide: done cleanups', () => {
  it('an entry cleaned up after is not tracked again while the calendar still lists it', () => {
    const e = entry('alice', 'a', T - min, T);
    const done = new Set([`a@${T}`]);
    assert.deepEqual(track([], [e], T + 1000, done), []);
    assert.deepEqual(dueCleanups(track([], [e], T + 1000, done), T + 1000), []);
  });
  it('a moved end is a new cleanup', () => {
    const done = new Set([`a@${T}`]);
    assert.deepEqual(track([], [entry('alice', 'a', T - min, T + min)], T, done).map((x) => x.uid), ['a']);
  });
});
