// Retention's decisions, pure: when an Expired booking and its record may go, which events are
// old, how far etcd may be compacted; and the ClusterConfig's retention.
import assert from 'node:assert/strict';
import { DEFAULT_RETENTION, effectiveRetention, usageKey, usageRecordOf, type ClusterConfig } from '../../../crds/api/index.js';
import { validateObject } from '../../../crds/api/validate.js';
import { compactionTarget, dueOf, eventTime, pruneSamples, usageCutoffKey } from '../../../operator/src/retention/index.js';
import { booking, expired, H, iso, T0 } from './fixtures.js';

const DAY = 24 * H;
describe('retention decisions (operator/src/retention/decide.ts)', () => {
  const retention = { ...DEFAULT_RETENTION, expiredBookings: 30 * 86400 };

  it('an Expired booking needs its record first; deletion waits for the record and for the retention', () => {
    const v = expired('alice/old', T0, T0 + H);
    const key = usageKey(usageRecordOf(v.booking, v.createRevision)!);
    const long = T0 + H + 31 * DAY;
    let d = dueOf([v], () => false, retention, long);
    assert.deepEqual([...d.records.keys()], [key]);
    assert.deepEqual(d.deletions, [], 'never deleted before its record is known');
    d = dueOf([v], (k) => k === key, retention, T0 + H + 29 * DAY);
    assert.deepEqual([d.records.size, d.deletions.length], [0, 0], 'record known, retention not over');
    d = dueOf([v], (k) => k === key, retention, long);
    assert.deepEqual(d.deletions.map((x) => [x.view.key, x.recordKey]), [['alice/old', key]]);
    assert.deepEqual([...d.seen], [key]);
  });

  it('leaves live bookings alone', () => {
    const p = booking('a/p', { nodes: ['n1'] }, { status: { phase: 'Pending', startTime: iso(T0), endTime: iso(T0 + H) } });
    const n = booking('a/new', { nodes: ['n1'] });
    const d = dueOf([p, n], () => true, retention, T0 + 400 * DAY);
    assert.deepEqual([d.records.size, d.deletions.length, d.seen.size], [0, 0, 0]);
  });

  it('dates events by their key, and leaves an undatable key alone', () => {
    assert.equal(eventTime('/kiwi/events/bookings/alice/bk1/2026-03-02T08:00:00Z-00000001abcdef'), Date.parse('2026-03-02T08:00:00Z'));
    assert.equal(eventTime('/kiwi/events/nodes/n1/2026-03-02T08:00:00.123Z-1a2b3c4d'), Date.parse('2026-03-02T08:00:00.123Z'));
    assert.equal(eventTime('/kiwi/events/nodes/n1/garbage'), undefined);
    assert.equal(eventTime('/kiwi/events/nodes/n1/notatime-123'), undefined);
    assert.equal(eventTime('/kiwi/spec/nodes/n1'), undefined);
  });

  it('the record cutoff key lies between records older and younger than their retention', () => {
    const cut = usageCutoffKey({ ...retention, usageRecords: 86400 }, T0);
    assert.ok('/kiwi/usage/2026-03-01T07:59:59.999Z/alice/x.1' < cut);
    assert.ok('/kiwi/usage/2026-03-01T08:00:00.001Z/alice/x.1' > cut);
  });

  it('compacts to the newest revision at least the history old, never backwards, none for a new leader', () => {
    const s = [{ at: T0, revision: 100 }, { at: T0 + 60_000, revision: 200 }, { at: T0 + 120_000, revision: 300 }];
    assert.equal(compactionTarget(s, T0 + 30_000, 60, 0), undefined, 'nothing is an hour old yet');
    assert.equal(compactionTarget(s, T0 + 60_000, 60, 0), 100);
    assert.equal(compactionTarget(s, T0 + 150_000, 60, 0), 200);
    assert.equal(compactionTarget(s, T0 + 150_000, 60, 200), undefined, 'already compacted there');
    assert.equal(compactionTarget([], T0, 60, 0), undefined);
    assert.deepEqual(pruneSamples(s, T0 + 150_000, 60), s.slice(1), 'keeps the newest old one and the younger');
  });
});

describe('ClusterConfig retention', () => {
  const cc = (retention: Record<string, unknown>) => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: { retention } });

  it('has defaults a lab can keep: 30 days of Expired bookings, 90 of events, 5 years of usage, 1 h of etcd history', () => {
    assert.deepEqual(effectiveRetention(undefined), { expiredBookings: 30 * 86400, events: 90 * 86400, usageRecords: 1826 * 86400, compactEtcd: true, etcdHistory: 3600 });
  });

  it('takes durations as text, longer than a booking may last', () => {
    const o = validateObject(cc({ expiredBookings: '7d', events: '2160h', usageRecords: '3650d', etcdHistory: '10m', compactEtcd: false }), 'doc') as ClusterConfig;
    assert.deepEqual(effectiveRetention(o), { expiredBookings: 7 * 86400, events: 90 * 86400, usageRecords: 3650 * 86400, compactEtcd: false, etcdHistory: 600 });
  });

  it('refuses what is not a duration, naming the field', () => {
    assert.throws(() => validateObject(cc({ events: 'soon' }), 'doc'), /spec\.retention\.events: "soon" is not a duration/);
    assert.throws(() => validateObject(cc({ usageRecords: '40000d' }), 'doc'), /spec\.retention\.usageRecords: .*longer than the longest Kiwi accepts here \(36525d\)/);
    assert.throws(() => validateObject(cc({ etcdHistory: 10 }), 'doc'), /spec\.retention\.etcdHistory: must be at least 60/);
    assert.throws(() => validateObject(cc({ forever: true }), 'doc'), /spec\.retention\.forever: unknown field/);
  });

  it('a value stored past validation falls back to its default', () => {
    assert.deepEqual(effectiveRetention(cc({ events: -1, compactEtcd: 'yes' }) as ClusterConfig), DEFAULT_RETENTION);
  });
});
