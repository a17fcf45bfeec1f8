// The usage record a finished booking leaves (crds/api/usage.ts), pure: what it says, its name
// and key, and that the same booking always gives the same record.
import assert from 'node:assert/strict';
import { keys, usageKey, usageRecordOf } from '../../../crds/api/index.js';
import { booking, expired, H, iso, T0 } from '../operator/fixtures.js';

describe('usage records (crds/api/usage.ts)', () => {
  it('say what the Expired status said: nodes, start, end, node-seconds, reason; keyed by end time', () => {
    const v = expired('alice/bk1', T0, T0 + 90_000);
    const r = usageRecordOf(v.booking, v.createRevision)!;
    assert.deepEqual(r.metadata, { name: 'bk1.41', namespace: 'alice' });
    assert.deepEqual(r.spec, {
      booking: { name: 'bk1', uid: 'uid-alice/bk1', createRevision: 41 },
      user: 'alice', nodes: ['n1', 'n2'], startTime: '2026-03-02T08:00:00Z', endTime: '2026-03-02T08:01:30Z',
      nodeSeconds: 180, reason: 'TimeLimit', filedAt: '2026-03-02T08:01:30.000Z',
    });
    assert.equal(usageKey(r), '/kiwi/usage/2026-03-02T08:01:30.000Z/alice/bk1.41');
  });

  it('are deterministic (the same booking gives the same key and spec, so create-if-absent writes once)', () => {
    const v = expired('alice/bk1', T0, T0 + 1000);
    assert.deepEqual(usageRecordOf(structuredClone(v.booking), 41), usageRecordOf(v.booking, 41));
  });

  it('of a booking that never started: no nodes, zero node-seconds, filed at its creation', () => {
    const v = booking('bob/never', { nodes: ['n1'] }, { createRevision: 7, status: { phase: 'Expired', reason: 'Cancelled', nodes: ['n1'], message: 'cancelled before it started' } });
    v.booking.metadata.creationTimestamp = '2026-03-01T10:00:00Z';
    const r = usageRecordOf(v.booking, 7)!;
    assert.deepEqual([r.spec.nodes, r.spec.nodeSeconds, r.spec.startTime, r.spec.reason, r.spec.filedAt], [[], 0, undefined, 'Cancelled', '2026-03-01T10:00:00.000Z']);
  });

  it('are not made for bookings that are not Expired, or that say neither when nor who', () => {
    const act = booking('a/x', { nodes: ['n1'] }, { status: { phase: 'Active', startTime: iso(T0), endTime: iso(T0 + H) } });
    assert.equal(usageRecordOf(act.booking, 5), undefined);
    const noTime = booking('a/y', { nodes: ['n1'] }, { status: { phase: 'Expired', reason: 'Rejected' } });
    assert.equal(usageRecordOf(noTime.booking, 5), undefined, 'no end and no creation time: nothing to file it under');
    assert.equal(usageRecordOf(expired('a/z', T0, T0 + 1).booking, 0), undefined, 'no create revision');
  });

  it('sort by time across users, so that a period is one range read', () => {
    const later = usageKey(usageRecordOf(expired('aaron/b', T0, T0 + 2 * H).booking, 9)!);
    const earlier = usageKey(usageRecordOf(expired('zoe/b', T0, T0 + H).booking, 8)!);
    assert.ok(earlier < later);
    assert.ok(earlier.startsWith(keys.usagePrefix()));
  });
});
