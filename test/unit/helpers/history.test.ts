// The fault suite's checker (test/helpers/history.ts) on small made-up histories: each check
// finds what it is for, and passes what is allowed.
import assert from 'node:assert/strict';
import { checkHistory, missingWrites, overlappingRecords, RevisionClock, type Revision } from '../../helpers/history.js';
import type { Booking, BookingStatus } from '../../../crds/api/index.js';

const cal = (node: string, entries: { booking: string; start: number; end: number }[]) => ({
  type: 'put' as const, key: `/kiwi/calendars/nodes/${node}`,
  value: JSON.stringify({ node, entries: entries.map((e) => ({ ...e, uid: `uid-${e.booking}`, user: e.booking.split('/')[0] })) }),
});
const status = (b: string, st: BookingStatus) => ({ type: 'put' as const, key: `/kiwi/status/bookings/${b}`, value: JSON.stringify(st) });
const T = 1_000_000;
/** Revision r committed between T + 100*(r-1) and T + 100*r (a clock put at every revision, as from the suite's clock key). */
const clockOf = (n: number) => {
  const c = new RevisionClock();
  for (let r = 1; r <= n; r++) c.add(r * 10 + 5, T + 100 * r, T + 100 * r + 1);
  return c;
};

describe('test/helpers/history.ts: the fault suite\'s checks', () => {
  it('RevisionClock bounds a revision by the clock puts around it', () => {
    const c = clockOf(3);
    assert.equal(c.lower(20), T + 100); // after the put at 15
    assert.equal(c.upper(20), T + 201); // before the put at 25 was acknowledged
    assert.equal(c.lower(10), 0);
    assert.equal(c.upper(40), Infinity);
  });

  it('a begun entry moved later is found; one moved before it began is not', () => {
    const revs: Revision[] = [
      { revision: 10, changes: [cal('n1', [{ booking: 'a/x', start: T + 150, end: T + 5000 }, { booking: 'b/y', start: T + 900, end: T + 5000 }])] },
      // at 20 (committed after T+100): x (from T+150) has not begun; moving it is allowed
      { revision: 20, changes: [cal('n1', [{ booking: 'a/x', start: T + 250, end: T + 5000 }, { booking: 'b/y', start: T + 900, end: T + 6000 }])] },
      // at 40 (committed after T+300): x had begun at T+250; moving it to T+900 is not
      { revision: 40, changes: [cal('n1', [{ booking: 'a/x', start: T + 900, end: T + 5000 }])] },
    ];
    const h = checkHistory(revs, { clock: clockOf(5) });
    assert.equal(h.begunMoved.length, 1, h.begunMoved.join('\n'));
    assert.match(h.begunMoved[0], /n1@40: a\/x had begun/);
    assert.equal(h.begunSeen, 1);
  });

  it('a begun entry removed and placed again (here on another node) is found; removed for good is not', () => {
    const revs: Revision[] = [
      { revision: 10, changes: [cal('n1', [{ booking: 'a/x', start: T + 50, end: T + 5000 }, { booking: 'c/z', start: T + 60, end: T + 5000 }])] },
      { revision: 30, changes: [cal('n1', [])] },
      { revision: 40, changes: [cal('n2', [{ booking: 'a/x', start: T + 900, end: T + 5000 }])] },
    ];
    const h = checkHistory(revs, { clock: clockOf(5) });
    assert.equal(h.begunMoved.length, 1, h.begunMoved.join('\n'));
    assert.match(h.begunMoved[0], /a\/x's begun slot was removed at .*n1@30 and placed again/);
  });

  it('two Active bookings on one node at one revision are found, and a node turning NotReady is listed', () => {
    const revs: Revision[] = [
      { revision: 5, changes: [status('a/x', { phase: 'Active', nodes: ['n1'], startTime: 't1' })] },
      { revision: 6, changes: [status('b/y', { phase: 'Active', nodes: ['n1'], startTime: 't2' }), { type: 'put', key: '/kiwi/status/nodes/n1', value: '{"phase":"NotReady"}' }] },
      { revision: 7, changes: [status('a/x', { phase: 'Expired', nodes: ['n1'], startTime: 't1' })] },
    ];
    const h = checkHistory(revs);
    assert.deepEqual(h.twoActive, ['n1@6: a/x and b/y']);
    assert.deepEqual(h.notReady, [{ node: 'n1', revision: 6 }]);
  });

  it('an acknowledged write that the history lacks is missing', () => {
    const revs: Revision[] = [{ revision: 3, changes: [{ type: 'put', key: '/k/a', value: '1' }] }];
    assert.deepEqual(missingWrites(revs, [{ key: '/k/a', revision: 3 }, { key: '/k/b', revision: 3 }, { key: '/k/a', revision: 4 }]), ['/k/b@3', '/k/a@4']);
  });

  it('records of one node that overlap are found, also past a shorter one between; back to back is fine', () => {
    const b = (name: string, phase: 'Active' | 'Expired', start: string, end: string, nodes = ['n1']): Booking => ({
      apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: 'u' }, spec: { user: 'u' },
      status: { phase, startTime: start, endTime: end, nodes },
    });
    const ok = [b('a', 'Expired', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00Z'), b('b', 'Active', '2026-01-01T11:00:00Z', '2026-01-01T12:00:00Z'), b('c', 'Expired', '2026-01-01T10:30:00Z', '2026-01-01T11:30:00Z', ['n2'])];
    assert.deepEqual(overlappingRecords(ok), []);
    const bad = [b('long', 'Expired', '2026-01-01T10:00:00Z', '2026-01-01T13:00:00Z'), b('short', 'Expired', '2026-01-01T10:00:00Z', '2026-01-01T10:10:00Z'), b('late', 'Active', '2026-01-01T12:00:00Z', '2026-01-01T14:00:00Z')];
    assert.equal(overlappingRecords(bad).length, 2, overlappingRecords(bad).join('\n'));
    assert.ok(overlappingRecords(bad).some((l) => l.includes('u/long') && l.includes('u/late')));
  });
});
