import { strict as assert } from 'node:assert';
import type { Booking, BookingSchedule } from '../../../crds/api/index.js';
import { begun, occurrences, planSchedule, wallClock } from '../../../operator/src/recurring/occurrences.js';
import { SCHEDULE_LABEL } from '../../../crds/api/types.js';

const T = (s: string) => Date.parse(s);
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

function rule(spec: Partial<BookingSchedule['spec']>, name = 'lab'): BookingSchedule {
  return {
    apiVersion: 'kiwi.dev/v1alpha1',
    kind: 'BookingSchedule',
    metadata: { name, namespace: 'alice', generation: 1 },
    spec: { days: ['Mon', 'Wed'], at: '14:00', duration: 7200, timeZone: 'Europe/Berlin', template: { count: 2, nodeSelector: { gpu: 'a100' } }, ...spec },
  };
}
const starts = (s: BookingSchedule, now: number) => occurrences(s, now).map((o) => `${o.name} ${iso(o.start)} ${iso(o.end)}`);

describe('recurring: occurrences (rule + now -> the occurrences within the horizon)', () => {
  it('weekly on chosen days at a local time, for a duration, a horizon ahead', () => {
    // Monday 2026-12-07, 10:00 UTC (11:00 in Berlin, CET = UTC+1)
    assert.deepEqual(starts(rule({}), T('2026-12-07T10:00:00Z')), [
      'lab-20261207 2026-12-07T13:00:00Z 2026-12-07T15:00:00Z',
      'lab-20261209 2026-12-09T13:00:00Z 2026-12-09T15:00:00Z',
    ]);
  });
  it('an occurrence already begun is not wanted any more; one a second ahead is', () => {
    assert.deepEqual(starts(rule({ days: ['Mon'] }), T('2026-12-07T13:00:01Z')), ['lab-20261214 2026-12-14T13:00:00Z 2026-12-14T15:00:00Z']);
    assert.deepEqual(starts(rule({ days: ['Mon'] }), T('2026-12-07T12:59:59Z')), ['lab-20261207 2026-12-07T13:00:00Z 2026-12-07T15:00:00Z']);
    assert.deepEqual(starts(rule({ days: ['Mon'], horizon: 86400 }), T('2026-12-07T13:00:01Z')), [], 'today\'s has begun, next week\'s is past a 1-day horizon');
  });
  it('from, until and exceptions are local dates', () => {
    const now = T('2026-12-01T00:00:00Z');
    const r = rule({ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], horizon: 14 * 86400, from: '2026-12-02', until: '2026-12-10', exceptions: ['2026-12-08'] });
    assert.deepEqual(occurrences(r, now).map((o) => o.date), ['2026-12-02', '2026-12-03', '2026-12-04', '2026-12-07', '2026-12-09', '2026-12-10']);
  });
  it('keeps the local time across the spring DST change (Europe/Berlin, 2026-03-29)', () => {
    const r = rule({ days: ['Sun'], at: '09:00', horizon: 14 * 86400 });
    assert.deepEqual(starts(r, T('2026-03-20T00:00:00Z')), [
      'lab-20260322 2026-03-22T08:00:00Z 2026-03-22T10:00:00Z', // CET, UTC+1
      'lab-20260329 2026-03-29T07:00:00Z 2026-03-29T09:00:00Z', // CEST, UTC+2
    ]);
  });
  it('a time the clock skips starts when the clock resumes: 02:30 on the spring-forward night is 03:30', () => {
    assert.equal(iso(wallClock(2026, 3, 29, 2, 30, 'Europe/Berlin')), '2026-03-29T01:30:00Z');
    assert.equal(iso(wallClock(2026, 3, 8, 2, 30, 'America/New_York')), '2026-03-08T07:30:00Z');
    const r = rule({ days: ['Sun'], at: '02:30', duration: 3600 });
    assert.deepEqual(starts(r, T('2026-03-27T00:00:00Z')), ['lab-20260329 2026-03-29T01:30:00Z 2026-03-29T02:30:00Z']);
  });
  it('a time the clock shows twice (fall back) is the first of the two; the duration is real time', () => {
    assert.equal(iso(wallClock(2026, 10, 25, 2, 30, 'Europe/Berlin')), '2026-10-25T00:30:00Z'); // 02:30 CEST, not 02:30 CET
    assert.equal(iso(wallClock(2026, 11, 1, 1, 30, 'America/New_York')), '2026-11-01T05:30:00Z'); // 01:30 EDT
    // an 8 h night window across the change lasts 8 h, ending at 08:00 local winter time (one hour "earlier" on the wall)
    const r = rule({ days: ['Sat'], at: '23:00', duration: 8 * 3600 });
    assert.deepEqual(starts(r, T('2026-10-23T00:00:00Z')), ['lab-20261024 2026-10-24T21:00:00Z 2026-10-25T05:00:00Z']);
  });
  it('a zone behind UTC: the local evening occurrence falls on the next UTC day', () => {
    const r = rule({ days: ['Mon'], at: '23:00', timeZone: 'America/Los_Angeles', duration: 3600 });
    // Tuesday 06:00 UTC is Monday 22:00 in Los Angeles
    assert.deepEqual(starts(r, T('2026-12-08T06:00:00Z')), ['lab-20261207 2026-12-08T07:00:00Z 2026-12-08T08:00:00Z']);
  });
  it('UTC is the default zone, and a long horizon stays within it', () => {
    const r = rule({ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], timeZone: undefined, at: '00:00', horizon: 62 * 86400, duration: 60 });
    const o = occurrences(r, T('2026-01-01T00:00:00Z'));
    assert.equal(o.length, 63);
    assert.equal(iso(o[0].start), '2026-01-01T00:00:00Z');
    assert.equal(iso(o[62].start), '2026-03-04T00:00:00Z');
  });
});

/** A Booking as the store would show it, with a status. */
function made(b: Booking, status?: Booking['status']): Booking {
  return { ...structuredClone(b), ...(status ? { status } : {}) };
}

describe('recurring: planSchedule (rule + owned bookings + now -> create, update, delete, status)', () => {
  const now = T('2026-12-07T10:00:00Z');
  it('creates each occurrence as a fixed-start Booking in the rule\'s namespace, labelled with the rule', () => {
    const a = planSchedule(rule({}), [], now);
    assert.deepEqual(a.delete, []);
    assert.deepEqual(a.update, []);
    assert.deepEqual(a.create.map((b) => [b.metadata.namespace, b.metadata.name, b.metadata.labels?.[SCHEDULE_LABEL], b.spec.start, b.spec.end, b.spec.count, b.spec.nodeSelector]), [
      ['alice', 'lab-20261207', 'lab', '2026-12-07T13:00:00Z', '2026-12-07T15:00:00Z', 2, { gpu: 'a100' }],
      ['alice', 'lab-20261209', 'lab', '2026-12-09T13:00:00Z', '2026-12-09T15:00:00Z', 2, { gpu: 'a100' }],
    ]);
    assert.equal(a.status?.nextStart, '2026-12-07T13:00:00Z');
  });
  it('is idempotent: what exists already is neither made again nor changed (a restart duplicates nothing)', () => {
    const owned = planSchedule(rule({}), [], now).create.map((b) => made(b, { phase: 'Pending', reason: 'Scheduled' }));
    const a = planSchedule(rule({}), owned, now);
    assert.deepEqual([a.create, a.update, a.delete], [[], [], []]);
  });
  it('editing the rule changes the occurrences not yet begun, never one begun', () => {
    const first = planSchedule(rule({}), [], T('2026-12-07T12:00:00Z')).create;
    const later = T('2026-12-07T13:30:00Z'); // the Monday one has begun
    const owned = [made(first[0], { phase: 'Active', reason: 'Started' }), made(first[1], { phase: 'Pending', reason: 'Scheduled' })];
    const a = planSchedule(rule({ at: '15:00' }), owned, later);
    assert.deepEqual(a.delete, []);
    assert.deepEqual(a.update.map((b) => [b.metadata.name, b.spec.start, b.spec.end]), [['lab-20261209', '2026-12-09T14:00:00Z', '2026-12-09T16:00:00Z']]);
    assert.deepEqual(a.create.map((b) => b.metadata.name), []); // next Monday's is past the 7-day horizon
    assert.ok(begun(owned[0], later));
  });
  it('a day taken off the rule deletes its occurrence if not begun', () => {
    const owned = planSchedule(rule({}), [], now).create.map((b) => made(b));
    const a = planSchedule(rule({ days: ['Mon'] }), owned, now);
    assert.deepEqual(a.delete, ['lab-20261209']);
    assert.deepEqual(a.create, []);
  });
  it('deleting the rule deletes the occurrences not begun and keeps the begun ones for the record', () => {
    const first = planSchedule(rule({}), [], T('2026-12-07T12:00:00Z')).create;
    const owned = [made(first[0], { phase: 'Active' }), made(first[1], { phase: 'Pending' })];
    const a = planSchedule(undefined, owned, T('2026-12-07T13:30:00Z'));
    assert.deepEqual(a, { create: [], update: [], delete: ['lab-20261209'] });
  });
  it('a refused occurrence is reported in the status, not made again while the rule is unchanged', () => {
    const [mon, wed] = planSchedule(rule({}), [], now).create;
    const owned = [made(mon, { phase: 'Expired', reason: 'Busy', message: 'node1 is reserved by bob/bk-1 from 12:00' }), made(wed, { phase: 'Pending', reason: 'Scheduled' })];
    const a = planSchedule(rule({}), owned, now);
    assert.deepEqual([a.create, a.update, a.delete], [[], [], []]);
    assert.equal(a.status?.refused, 1);
    assert.equal(a.status?.nextStart, '2026-12-09T13:00:00Z');
    assert.match(a.status!.message!, /^1 occurrence refused: lab-20261207 \(Busy: node1 is reserved by bob\/bk-1 from 12:00\)$/);
    const c = a.status?.conditions?.find((x) => x.type === 'OccurrencesRefused');
    assert.equal(c?.status, 'True');
    assert.deepEqual(a.status?.occurrences?.map((o) => [o.booking, o.phase, o.reason]), [['lab-20261207', 'Expired', 'Busy'], ['lab-20261209', 'Pending', 'Scheduled']]);
  });
  it('a refused occurrence the edited rule books differently is made anew (an Expired booking never revives)', () => {
    const [mon] = planSchedule(rule({ days: ['Mon'] }), [], now).create;
    const a = planSchedule(rule({ days: ['Mon'], template: { nodes: ['node2'] } }), [made(mon, { phase: 'Expired', reason: 'Rejected' })], now);
    assert.deepEqual(a.delete, ['lab-20261207']);
    assert.deepEqual(a.create.map((b) => [b.metadata.name, b.spec.nodes]), [['lab-20261207', ['node2']]]);
  });
  it('a user\'s own cancel of a future occurrence stands: it is not made again', () => {
    const [mon] = planSchedule(rule({ days: ['Mon'] }), [], now).create;
    const a = planSchedule(rule({ days: ['Mon'] }), [made(mon, { phase: 'Expired', reason: 'Cancelled' })], now);
    assert.deepEqual([a.create, a.update, a.delete], [[], [], []]);
  });
  it('suspended: nothing new is made and what was made stays', () => {
    const owned = planSchedule(rule({ days: ['Mon'] }), [], now).create.map((b) => made(b));
    const a = planSchedule(rule({ suspend: true }), owned, now);
    assert.deepEqual([a.create, a.update, a.delete], [[], [], []]);
    assert.equal(a.status?.message, 'suspended: no new occurrences are made');
  });
  it('makes no more occurrences than the user may still hold, and says so', () => {
    const a = planSchedule(rule({}), [], now, 1);
    assert.deepEqual(a.create.map((b) => b.metadata.name), ['lab-20261207']);
    assert.match(a.status!.message!, /^1 occurrence within the horizon not made: the user holds as many keys \(bookings, schedules, dry runs\) as the ClusterConfig's spec\.userLimits\.bookings allows/);
    assert.deepEqual(planSchedule(rule({}), [], now, 0).create, []);
  });
});
