import { strict as assert } from 'node:assert';
import { pamDecision, adoptTarget, fmtTime, oneLine, type PamUser, type PamDecision } from '../../../node-daemon/src/decide/pam.js';
import type { LocalView } from '../../../node-daemon/src/view.js';
import { DEFAULT_CONFIG, type CalendarEntry } from '../../../crds/api/index.js';

const T = Date.parse('2026-11-22T22:00:00Z');
const min = 60_000;
const entry = (user: string, start: number, end: number, name = 'bk1'): CalendarEntry => ({ booking: `${user}/${name}`, uid: `u-${user}-${name}`, user, start, end });
const view = (entries: CalendarEntry[], cfg: Partial<LocalView['config']> = {}): LocalView => ({
  node: 'n1',
  entries,
  config: { ...DEFAULT_CONFIG, sshBypassUsers: ['ops'], admins: ['boss'], ...cfg },
  syncedAt: T - 1000,
});
const hint = 'book it with: kiwictl alloc -w n1';

describe('pamDecision', () => {
  const aliceNow = view([entry('alice', T - 10 * min, T + 50 * min)]);
  const cases: Array<{ name: string; user: PamUser; view: LocalView | undefined; now?: number; want: PamDecision }> = [
    { name: 'root by uid', user: { name: 'toor', uid: 0 }, view: aliceNow, want: { allow: true, outcome: 'root', reason: '' } },
    { name: 'root by name without passwd entry', user: { name: 'root' }, view: undefined, want: { allow: true, outcome: 'root', reason: '' } },
    { name: 'system user below minUid', user: { name: 'backup', uid: 34 }, view: aliceNow, want: { allow: true, outcome: 'systemUser', reason: '' } },
    { name: 'system user with no view yet (default minUid)', user: { name: 'backup', uid: 34 }, view: undefined, want: { allow: true, outcome: 'systemUser', reason: '' } },
    { name: 'uid exactly minUid is not a system user', user: { name: 'carol', uid: 1000 }, view: view([]), want: { allow: false, outcome: 'noBooking', reason: `kiwi: you have no booking on node n1 now; ${hint}` } },
    { name: 'configured minUid', user: { name: 'carol', uid: 1500 }, view: view([], { minUid: 2000 }), want: { allow: true, outcome: 'systemUser', reason: '' } },
    { name: 'bypass user while another holds the node', user: { name: 'ops', uid: 1200 }, view: aliceNow, want: { allow: true, outcome: 'bypass', reason: '' } },
    { name: 'admin while another holds the node', user: { name: 'boss', uid: 1300 }, view: aliceNow, want: { allow: true, outcome: 'admin', reason: '' } },
    { name: 'booked user during the entry', user: { name: 'alice', uid: 1001 }, view: aliceNow, want: { allow: true, outcome: 'booked', reason: '' } },
    { name: 'booked user at the exact start', user: { name: 'alice', uid: 1001 }, view: view([entry('alice', T, T + min)]), want: { allow: true, outcome: 'booked', reason: '' } },
    {
      name: 'booked user at the exact end is out',
      user: { name: 'alice', uid: 1001 },
      view: view([entry('alice', T - min, T)]),
      want: { allow: false, outcome: 'noBooking', reason: `kiwi: you have no booking on node n1 now; ${hint}` },
    },
    {
      name: 'another user while alice holds it',
      user: { name: 'bob', uid: 1002 },
      view: aliceNow,
      want: { allow: false, outcome: 'heldByOther', reason: `kiwi: node n1 is booked by alice until 2026-11-22 22:50 UTC; ${hint}` },
    },
    {
      name: 'back-to-back entries of the holder count as one hold',
      user: { name: 'bob', uid: 1002 },
      view: view([entry('alice', T - min, T + min), entry('alice', T + min, T + 2 * min + 5000, 'bk2')]),
      want: { allow: false, outcome: 'heldByOther', reason: `kiwi: node n1 is booked by alice until 2026-11-22 22:02:05 UTC; ${hint}` },
    },
    {
      name: 'own booking later',
      user: { name: 'bob', uid: 1002 },
      view: view([entry('alice', T - min, T), entry('bob', T + 30 * min, T + 90 * min, 'bk7')]),
      want: { allow: false, outcome: 'notYet', reason: 'kiwi: your booking bob/bk7 of node n1 starts at 2026-11-22 22:30 UTC; log in then.' },
    },
    {
      name: 'free node, somebody else next',
      user: { name: 'bob', uid: 1002 },
      view: view([entry('alice', T + 5 * min, T + 9 * min)]),
      want: { allow: false, outcome: 'noBooking', reason: `kiwi: you have no booking on node n1 now (the next booking, by alice, starts at 2026-11-22 22:05 UTC); ${hint}` },
    },
    {
      name: 'unknown to passwd, not booked',
      user: { name: 'ghost' },
      view: view([]),
      want: { allow: false, outcome: 'noBooking', reason: `kiwi: you have no booking on node n1 now; ${hint}` },
    },
    {
      name: 'no view yet: closed for ordinary users',
      user: { name: 'alice', uid: 1001 },
      view: undefined,
      want: { allow: false, outcome: 'noView', reason: 'kiwi: this node has not loaded its booking calendar yet; only administrators may log in now. Try again in a minute.' },
    },
    {
      name: 'control characters from the store never reach the terminal',
      user: { name: 'bob', uid: 1002 },
      view: view([entry('al\x1b[2Jice\n', T - min, T + min)]),
      want: { allow: false, outcome: 'heldByOther', reason: `kiwi: node n1 is booked by al?[2Jice? until 2026-11-22 22:01 UTC; ${hint}` },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(pamDecision(c.user, c.view, c.now ?? T), c.want));
  }

  it('a booking that just ended denies at the next check', () => {
    const v = view([entry('alice', T - min, T + 1000)]);
    assert.equal(pamDecision({ name: 'alice', uid: 1001 }, v, T + 999).allow, true);
    assert.equal(pamDecision({ name: 'alice', uid: 1001 }, v, T + 1000).allow, false);
  });
});

describe('pam reason helpers', () => {
  it('fmtTime shows seconds only when not zero', () => {
    assert.equal(fmtTime(T), '2026-11-22 22:00 UTC');
    assert.equal(fmtTime(T + 7000), '2026-11-22 22:00:07 UTC');
  });
  it('oneLine bounds the length', () => {
    assert.equal(oneLine('x'.repeat(500), 10), 'xxxxxxx...');
  });
});

describe('adoptTarget (the session hook)', () => {
  const v = view([entry('alice', T - min, T + min), entry('bob', T + min, T + 2 * min)], { sshBypassUsers: ['alice-ops'] });
  const cases: Array<[string, PamUser, LocalView | undefined, unknown]> = [
    ['the booked user goes into the active entry', { name: 'alice', uid: 1001 }, v, { entry: v.entries[0] }],
    ['another user is not adopted', { name: 'bob', uid: 1002 }, v, { skip: 'notBooked' }],
    ['root never', { name: 'root', uid: 0 }, v, { skip: 'root' }],
    ['system users never', { name: 'backup', uid: 34 }, v, { skip: 'systemUser' }],
    ['bypass users never (they are never killed)', { name: 'alice-ops', uid: 1500 }, v, { skip: 'bypass' }],
    ['no view, no adoption', { name: 'alice', uid: 1001 }, undefined, { skip: 'noView' }],
  ];
  for (const [name, user, vw, want] of cases) it(name, () => assert.deepEqual(adoptTarget(user, vw, T), want));
});
