// Idle release on one node (decide/idle.ts): samples folded into a track, then active, idle,
// warn or end against the entry's policy and a time; and the /proc stat parser it reads CPU with.
import assert from 'node:assert/strict';
import { idleState, idleWarning, observeActivity, reportAfterMs, type IdlePolicy, type IdleTrack } from '../../../node-daemon/src/decide/idle.js';
import { cpuMsOfStat } from '../../../node-daemon/src/enforce/activity.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const S = 1000;
const P: IdlePolicy = { after: 600, warnBefore: 120, cpuPercent: 5 };

/** A track from samples [seconds after T0, cpu ms, last input?]. */
function fold(samples: [number, number, number?][], p = P): IdleTrack {
  let t: IdleTrack | undefined;
  for (const [s, cpuMs, input] of samples) t = observeActivity(t, { at: T0 + s * S, cpuMs, ...(input !== undefined ? { lastInput: T0 + input * S } : {}) }, p);
  return t!;
}

describe('node-daemon idle: activity samples', () => {
  it('the first sample counts as activity: what came before it is not known', () => {
    const t = fold([[0, 999_999]]);
    assert.equal(t.lastActive, T0);
    assert.equal(t.why, 'first sample');
  });
  it('CPU above cpuPercent of one CPU between two samples is activity; at or below it is not', () => {
    assert.equal(fold([[0, 0], [10, 501]]).lastActive, T0 + 10 * S, '5.01% of 10 s');
    assert.equal(fold([[0, 0], [10, 500]]).lastActive, T0, 'exactly 5%: idle');
    assert.equal(fold([[0, 0], [10, 10_000]]).why, 'CPU 100.0% of one CPU');
  });
  it('CPU time that went down (processes exited) counts as none', () => {
    assert.equal(fold([[0, 50_000], [10, 100]]).lastActive, T0);
  });
  it('terminal input or a login after the last activity counts, at its own time (never later than the sample)', () => {
    const t = fold([[0, 0], [10, 0, 7]]);
    assert.deepEqual([t.lastActive, t.why], [T0 + 7 * S, 'terminal input or a login']);
    assert.equal(fold([[0, 0], [10, 0, 30]]).lastActive, T0 + 10 * S, 'a time after the sample (a clock step) is taken as the sample');
    assert.equal(fold([[20, 0], [30, 0, 5]]).lastActive, T0 + 20 * S, 'input before the last activity changes nothing');
  });
});

describe('node-daemon idle: the decision', () => {
  const t = fold([[0, 0], [10, 0]]); // active at T0, nothing since
  it('active, then idle once quiet for a quarter of after (at most a minute), then warn, then end', () => {
    assert.equal(reportAfterMs(P), 60 * S);
    assert.equal(reportAfterMs({ ...P, after: 8 }), 2 * S);
    assert.deepEqual(idleState(t, P, T0 + 59 * S), { state: 'active', warnAt: T0 + 480 * S, endAt: T0 + 600 * S });
    assert.deepEqual(idleState(t, P, T0 + 60 * S), { state: 'idle', idleSince: T0, warnAt: T0 + 480 * S, endAt: T0 + 600 * S });
    assert.equal(idleState(t, P, T0 + 480 * S).state, 'warn');
    assert.equal(idleState(t, P, T0 + 600 * S).state, 'end');
  });
  it('a warnBefore longer than after warns from the start of idleness', () => {
    assert.equal(idleState(t, { ...P, warnBefore: 9999 }, T0 + 60 * S).state, 'warn');
  });
  it('activity starts it all over', () => {
    const busy = observeActivity(t, { at: T0 + 500 * S, cpuMs: 50_000 }, P);
    assert.deepEqual(idleState(busy, P, T0 + 501 * S), { state: 'active', warnAt: T0 + 980 * S, endAt: T0 + 1100 * S });
  });
  it('the terminal warning names the booking, the idle time and the end; its key is per stretch of idleness', () => {
    const e = { booking: 'alice/a', uid: 'u1', user: 'alice', start: T0, end: T0 + 3600 * S, idle: P };
    const w = idleWarning(e, idleState(t, P, T0 + 480 * S));
    assert.equal(w.key, `u1:idle:${T0}`);
    assert.equal(w.message, 'Kiwi: booking alice/a of alice has seen no activity of yours on this node since 2026-03-02T08:00:00.000Z; it will be ended (reason Idle) at about 2026-03-02T08:10:00.000Z if you stay idle on all its nodes. Use any of them (run something, type in a session) to keep it.');
  });
});

describe('node-daemon idle: /proc/<pid>/stat', () => {
  it('adds utime, stime, cutime and cstime (ticks of 10 ms), after a command name with spaces and parentheses', () => {
    const stat = '4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 1 0 12345 1000 100 18446744073709551615';
    assert.equal(cpuMsOfStat(stat), (150 + 50 + 7 + 3) * 10);
    assert.equal(cpuMsOfStat('garbage'), undefined);
  });
});

import { mergeStatus } from '../../../node-daemon/src/decide/status.js';

describe('node-daemon idle: the report in the Node status', () => {
  it('is written as given, and removed when no entry opted in is active', () => {
    const activity = [{ booking: 'alice/a', entryUid: 'u1', idleSince: '2026-03-02T08:00:00.000Z' }];
    const s = mergeStatus({ phase: 'Ready' }, { daemonVersion: 'v', activity }, T0);
    assert.deepEqual(s.activity, activity);
    assert.equal(s.phase, 'Ready', 'the operator\'s phase is kept');
    assert.equal('activity' in mergeStatus(s, { daemonVersion: 'v', activity: [] }, T0), false);
  });
});
