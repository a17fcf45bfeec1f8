import { strict as assert } from 'node:assert';
import type { Booking, ClusterConfig, Subscription } from '../../../crds/api/index.js';
import { deriveEvents, route, thresholdsOf, unknownSinks, type Seen } from '../../../operator/src/notify/events.js';

const T = (s: string) => Date.parse(s);
const NOW = T('2026-12-01T12:00:00Z');

function bk(status?: Booking['status'], uid = '7-aaaa', labels?: Record<string, string>): Booking {
  return { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'bk1', namespace: 'alice', uid, creationTimestamp: '2026-12-01T11:59:00Z', ...(labels ? { labels } : {}) }, spec: { count: 1 }, ...(status ? { status } : {}) };
}
const pending = (start: string) => ({ phase: 'Pending' as const, reason: 'Queued' as const, startTime: start, endTime: '2026-12-01T20:00:00Z', nodes: ['n1'] });
const active = (end = '2026-12-01T14:00:00Z') => ({ phase: 'Active' as const, reason: 'Started' as const, startTime: '2026-12-01T12:00:00Z', endTime: end, nodes: ['n1'] });
const types = (r: { events: { type: string; id: string }[] }) => r.events.map((e) => `${e.type} ${e.id}`);

describe('notify: deriveEvents (seen status + status now + time -> events)', () => {
  it('a new Pending booking is Queued, with its planned start', () => {
    const r = deriveEvents(undefined, bk(pending('2026-12-01T15:00:00Z')), NOW, [3600]);
    assert.deepEqual(types(r), ['Queued 7-aaaa.Queued']);
    assert.equal(r.events[0].startTime, '2026-12-01T15:00:00Z');
    assert.deepEqual(r.seen, { uid: '7-aaaa', phase: 'Pending', start: '2026-12-01T15:00:00Z', end: '2026-12-01T20:00:00Z' });
  });
  it('the same status seen again says nothing (each event once)', () => {
    const b = bk(pending('2026-12-01T15:00:00Z'));
    const { seen } = deriveEvents(undefined, b, NOW, []);
    assert.deepEqual(deriveEvents(seen, b, NOW + 5000, []).events, []);
  });
  it('a planned start moving earlier is Moved up, later Moved down; the key names the new start', () => {
    const seen: Seen = { uid: '7-aaaa', phase: 'Pending', start: '2026-12-01T15:00:00Z' };
    const up = deriveEvents(seen, bk(pending('2026-12-01T13:00:00Z')), NOW, []);
    assert.deepEqual(types(up), ['Moved 7-aaaa.Moved.2026-12-01T13:00:00Z']);
    assert.equal(up.events[0].direction, 'up');
    assert.equal(up.events[0].previousStart, '2026-12-01T15:00:00Z');
    const down = deriveEvents(seen, bk(pending('2026-12-01T16:00:00Z')), NOW, []);
    assert.equal(down.events[0].direction, 'down');
  });
  it('moves under a minute are not told, and do not add up unnoticed (measured from what was told)', () => {
    const seen: Seen = { uid: '7-aaaa', phase: 'Pending', start: '2026-12-01T15:00:00Z' };
    const r1 = deriveEvents(seen, bk(pending('2026-12-01T15:00:40Z')), NOW, []);
    assert.deepEqual(r1.events, []);
    assert.equal(r1.seen.start, '2026-12-01T15:00:00Z');
    const r2 = deriveEvents(r1.seen, bk(pending('2026-12-01T15:01:20Z')), NOW, []);
    assert.deepEqual(types(r2), ['Moved 7-aaaa.Moved.2026-12-01T15:01:20Z']);
  });
  it('Pending -> Active is Started; Active -> Expired is Ended with the reason', () => {
    const s1 = deriveEvents({ uid: '7-aaaa', phase: 'Pending' }, bk(active()), NOW, []);
    assert.deepEqual(types(s1), ['Started 7-aaaa.Started']);
    const e = deriveEvents(s1.seen, bk({ ...active(), phase: 'Expired', reason: 'Cancelled' }), NOW, []);
    assert.deepEqual(types(e), ['Ended 7-aaaa.Ended']);
    assert.equal(e.events[0].reason, 'Cancelled');
  });
  it('a Degraded condition from healing and an IdleWarning are each told once, with what the condition says; a new one (another reason or time) again', () => {
    const degraded = { type: 'Degraded', status: 'True' as const, reason: 'Replaced', message: 'n1 replaced by n2 at 12:00', lastTransitionTime: '2026-12-01T12:00:00Z' };
    const s1 = deriveEvents({ uid: '7-aaaa', phase: 'Active' }, bk({ ...active(), conditions: [degraded] }), NOW, []);
    assert.deepEqual(types(s1), ['Degraded 7-aaaa.Degraded.Replaced.2026-12-01T12:00:00Z']);
    assert.equal(s1.events[0].message, 'n1 replaced by n2 at 12:00');
    assert.deepEqual(deriveEvents(s1.seen, bk({ ...active(), conditions: [degraded] }), NOW + 5000, []).events, [], 'the same condition again says nothing');
    const idle = { type: 'IdleWarning', status: 'True' as const, reason: 'Idle', message: 'idle for 25m on n2; ends at 12:35', lastTransitionTime: '2026-12-01T12:30:00Z' };
    const s2 = deriveEvents(s1.seen, bk({ ...active(), conditions: [degraded, idle] }), NOW, []);
    assert.deepEqual(types(s2), ['IdleWarning 7-aaaa.IdleWarning.Idle.2026-12-01T12:30:00Z']);
    const again = { ...degraded, lastTransitionTime: '2026-12-01T13:00:00Z', message: 'n2 replaced by n3 at 13:00' };
    assert.deepEqual(types(deriveEvents(s2.seen, bk({ ...active(), conditions: [again, idle] }), NOW, [])), ['Degraded 7-aaaa.Degraded.Replaced.2026-12-01T13:00:00Z']);
    assert.deepEqual(deriveEvents(s2.seen, bk({ ...active(), conditions: [{ ...idle, status: 'False' as const }, degraded] }), NOW, []).events, [], 'a withdrawn warning is not an event');
  });
  it('Rejected or Busy is Refused, with the message saying why', () => {
    const r = deriveEvents(undefined, bk({ phase: 'Expired', reason: 'Busy', message: 'node n1 is held by bob/bk-2 until 14:00' }), NOW, []);
    assert.deepEqual(types(r), ['Refused 7-aaaa.Refused']);
    assert.match(r.events[0].message!, /held by bob/);
  });
  it('a booking first seen long after it started or ended says nothing (a new subscriber is not told of last month)', () => {
    const old = { ...active('2026-11-01T14:00:00Z'), startTime: '2026-11-01T12:00:00Z', phase: 'Expired' as const, reason: 'TimeLimit' as const };
    assert.deepEqual(deriveEvents(undefined, { ...bk(old), metadata: { ...bk().metadata, creationTimestamp: '2026-11-01T11:00:00Z' } }, NOW, []).events, []);
    assert.deepEqual(deriveEvents(undefined, bk({ ...active(), startTime: '2026-12-01T10:00:00Z' }), NOW, []).events, []);
    assert.deepEqual(types(deriveEvents(undefined, bk({ ...active(), startTime: '2026-12-01T11:55:00Z' }), NOW, [])), ['Started 7-aaaa.Started']);
  });
  it('EndingSoon at each threshold crossed, once; the next threshold is the wake-up', () => {
    const th = [3600, 600];
    const b = bk(active('2026-12-01T14:00:00Z'));
    const r0 = deriveEvents({ uid: '7-aaaa', phase: 'Active', end: '2026-12-01T14:00:00Z' }, b, T('2026-12-01T12:30:00Z'), th);
    assert.deepEqual(r0.events, []);
    assert.equal(r0.wakeAt, T('2026-12-01T13:00:00Z'));
    const r1 = deriveEvents(r0.seen, b, T('2026-12-01T13:00:00Z'), th);
    assert.deepEqual(types(r1), ['EndingSoon 7-aaaa.EndingSoon.3600.2026-12-01T14:00:00Z']);
    assert.equal(r1.wakeAt, T('2026-12-01T13:50:00Z'));
    assert.deepEqual(deriveEvents(r1.seen, b, T('2026-12-01T13:10:00Z'), th).events, []);
    const r2 = deriveEvents(r1.seen, b, T('2026-12-01T13:51:00Z'), th);
    assert.deepEqual(types(r2), ['EndingSoon 7-aaaa.EndingSoon.600.2026-12-01T14:00:00Z']);
    assert.equal(r2.wakeAt, undefined);
  });
  it('thresholds crossed while nobody looked give one EndingSoon, the most imminent', () => {
    const r = deriveEvents({ uid: '7-aaaa', phase: 'Active', end: '2026-12-01T14:00:00Z' }, bk(active()), T('2026-12-01T13:55:00Z'), [3600, 600]);
    assert.deepEqual(types(r), ['EndingSoon 7-aaaa.EndingSoon.600.2026-12-01T14:00:00Z']);
    assert.deepEqual(r.seen.sent, [600, 3600]);
  });
  it('an extended end starts the thresholds again, under new keys', () => {
    const seen: Seen = { uid: '7-aaaa', phase: 'Active', end: '2026-12-01T14:00:00Z', sent: [3600] };
    const r = deriveEvents(seen, bk(active('2026-12-01T15:00:00Z')), T('2026-12-01T14:05:00Z'), [3600]);
    assert.deepEqual(types(r), ['EndingSoon 7-aaaa.EndingSoon.3600.2026-12-01T15:00:00Z']);
  });
  it('a booking deleted and made again under its name (a new uid) starts afresh', () => {
    const r = deriveEvents({ uid: '5-old', phase: 'Expired' }, bk(pending('2026-12-01T15:00:00Z'), '9-new'), NOW, []);
    assert.deepEqual(types(r), ['Queued 9-new.Queued']);
  });
  it('the same change derives the same ids: a restart re-deriving from the kept cursor sends nothing new, from none the same keys', () => {
    const b = bk(active());
    const a = deriveEvents({ uid: '7-aaaa', phase: 'Pending' }, b, NOW, []);
    const again = deriveEvents({ uid: '7-aaaa', phase: 'Pending' }, b, NOW + 30_000, []);
    assert.deepEqual(a.events.map((e) => e.id), again.events.map((e) => e.id));
  });
});

describe('notify: route (events -> sinks, by the user\'s subscriptions)', () => {
  const cfg: ClusterConfig = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: { notifications: { sinks: [{ name: 'hook', webhook: { url: 'http://127.0.0.1:1/', secretFile: '/x' } }, { name: 'mail', sendmail: { from: 'kiwi' } }] } } };
  const sub = (spec: Subscription['spec'], name = 's'): Subscription => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Subscription', metadata: { name, namespace: 'alice' }, spec });
  const ev = (b: Booking, th: number[] = []) => deriveEvents({ uid: '7-aaaa', phase: 'Pending' }, b, NOW, th).events;
  it('each event once per sink, only to sinks the ClusterConfig has', () => {
    const subs = [sub({ sinks: ['hook', 'nowhere'] }), sub({ sinks: ['hook', 'mail'], events: ['Started'] }, 't')];
    assert.deepEqual(route(ev(bk(active())), bk(), subs, cfg).map((d) => `${d.sink} ${d.event.type}`), ['hook Started', 'mail Started']);
    assert.deepEqual(unknownSinks(subs[0], cfg), ['nowhere']);
  });
  it('events a subscription does not list do not reach it', () => {
    assert.deepEqual(route(ev(bk(active())), bk(), [sub({ sinks: ['mail'], events: ['Ended', 'Refused'] })], cfg), []);
  });
  it('EndingSoon reaches only the subscriptions whose thresholds it is for', () => {
    const subs = [sub({ sinks: ['hook'], beforeEnd: [600] }), sub({ sinks: ['mail'] }, 't')];
    assert.deepEqual(thresholdsOf(subs), [3600, 600]);
    const b = bk(active());
    const es = deriveEvents({ uid: '7-aaaa', phase: 'Active', end: '2026-12-01T14:00:00Z' }, b, T('2026-12-01T13:00:00Z'), thresholdsOf(subs)).events;
    assert.deepEqual(route(es, b, subs, cfg).map((d) => `${d.sink} ${d.event.type} ${d.event.beforeEnd}`), ['mail EndingSoon 3600']);
  });
  it('a label selector picks which bookings a subscription is about', () => {
    const s = [sub({ sinks: ['hook'], bookings: { 'kiwi.dev/schedule': 'lab' } })];
    assert.equal(route(ev(bk(active())), bk(), s, cfg).length, 0);
    const b = bk(active(), '7-aaaa', { 'kiwi.dev/schedule': 'lab' });
    assert.equal(route(ev(b), b, s, cfg).length, 1);
  });
});
