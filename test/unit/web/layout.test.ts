import assert from 'node:assert/strict';
import type { Booking, Node, Pool } from '../../../crds/api/types.js';
import { barsOf, describe as describeBooking, nodeState, selectionToSpec, snap, ticks, viewStart, visibleNodes, poolChoices, HOUR, DAY } from '../../../kiwi-web/page/layout.js';
import { openIntervals } from '../../../crds/api/windows.js';

const T = Date.parse('2026-12-01T12:00:00Z'); // a Tuesday
const iso = (t: number) => new Date(t).toISOString();
const bk = (name: string, status: Booking['status'], spec: Partial<Booking['spec']> = {}): Booking => ({
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: 'alice' }, spec: { user: 'alice', nodes: ['n1'], ...spec }, status,
});
const node = (name: string, extra: Partial<Node> = {}): Node => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name }, spec: {}, status: { phase: 'Ready' }, ...extra });

describe('web page layout (pure)', () => {
  it('draws Active as active, Pending with a slot as planned, and marks fixed reservations', () => {
    const a = barsOf(bk('a', { phase: 'Active', nodes: ['n1', 'n2'], startTime: iso(T), endTime: iso(T + HOUR) }), T);
    assert.deepEqual(a.map((b) => [b.node, b.kind, b.fixed]), [['n1', 'active', false], ['n2', 'active', false]]);
    const p = barsOf(bk('p', { phase: 'Pending', nodes: ['n1'], startTime: iso(T + HOUR), endTime: iso(T + 2 * HOUR) }, { start: iso(T + HOUR) }), T);
    assert.deepEqual(p.map((b) => [b.kind, b.fixed]), [['planned', true]]);
  });

  it('draws nothing for a booking without a slot or one that was refused', () => {
    assert.deepEqual(barsOf(bk('q', { phase: 'Pending', reason: 'Queued', nodes: ['n1'] }), T), []);
    assert.deepEqual(barsOf(bk('r', { phase: 'Expired', reason: 'Rejected', nodes: ['n1'], startTime: iso(T), endTime: iso(T + HOUR) }), T), []);
    assert.deepEqual(barsOf(bk('n', undefined), T), []);
  });

  it('stops an ended booking\'s bar at its end or now, whichever is first', () => {
    const [e] = barsOf(bk('e', { phase: 'Expired', reason: 'Cancelled', nodes: ['n1'], startTime: iso(T - HOUR), endTime: iso(T + HOUR) }), T);
    assert.equal(e.kind, 'expired');
    assert.equal(e.end, T);
  });

  it('tells cordoned, draining, drained and not-ready nodes apart', () => {
    assert.equal(nodeState(node('a')), 'ready');
    assert.equal(nodeState(node('a', { spec: { unschedulable: true } })), 'cordoned');
    assert.equal(nodeState(node('a', { metadata: { name: 'a', annotations: { 'kiwi.dev/drain': 'disk' } } })), 'draining');
    assert.equal(nodeState(node('a', { status: { phase: 'Drained' } })), 'drained');
    assert.equal(nodeState(node('a', { status: { phase: 'Off' } })), 'off'); // power saving: no alarm
    assert.equal(nodeState(node('a', { status: { phase: 'Resuming' } })), 'waking');
    assert.equal(nodeState(node('a', { status: { phase: 'NotReady' } })), 'notready');
  });

  const pool = (name: string, spec: Pool['spec']): Pool => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name }, spec });

  it('filters nodes by label, bare label key and user, in natural name order', () => {
    const ns = [node('n10', { metadata: { name: 'n10', labels: { gpu: 'a100' } } }), node('n2', { metadata: { name: 'n2', labels: { gpu: 'v100' } } }), node('n1')];
    const none = () => new Set<string>();
    assert.deepEqual(visibleNodes(ns, { label: '', pool: '', user: '' }, none, []).map((n) => n.metadata.name), ['n1', 'n2', 'n10']);
    assert.deepEqual(visibleNodes(ns, { label: 'gpu=a100', pool: '', user: '' }, none, []).map((n) => n.metadata.name), ['n10']);
    assert.deepEqual(visibleNodes(ns, { label: 'gpu', pool: '', user: '' }, none, []).map((n) => n.metadata.name), ['n2', 'n10']);
    assert.deepEqual(visibleNodes(ns, { label: '', pool: '', user: 'bob' }, (n) => new Set(n === 'n2' ? ['bob'] : []), []).map((n) => n.metadata.name), ['n2']);
  });

  it('filters nodes by Pool membership, the planner\'s rule (crds/api/pool.ts): selectors, overlapping pools, and a pool that is gone', () => {
    const lab = (name: string, labels: Record<string, string>) => node(name, { metadata: { name, labels } });
    const ns = [lab('a1', { gpu: 'a100', rack: 'r1' }), lab('a2', { gpu: 'a100', rack: 'r2' }), lab('v1', { gpu: 'v100', rack: 'r1' }), node('plain'), lab('res', { gpu: 'a100', reserved: '' })];
    const pools = [
      pool('a100', { nodeSelector: 'gpu=a100,!reserved' }),
      pool('rack1', { nodeSelector: 'rack in (r1)' }), // overlaps a100 on a1
      pool('all', { nodeSelector: '' }), // empty selector: every node
      pool('broken', { nodeSelector: 'gpu in (a100' }), // past validation but unparsable: no node
      pool('hostile', { nodeSelector: 7 as unknown as string }), // raw-written, not a string: no node
    ];
    const none = () => new Set<string>();
    const shown = (p: string, f: Partial<{ label: string; user: string }> = {}) => visibleNodes(ns, { label: '', user: '', ...f, pool: p }, none, pools).map((n) => n.metadata.name);
    assert.deepEqual(shown('a100'), ['a1', 'a2']);
    assert.deepEqual(shown('rack1'), ['a1', 'v1']);
    assert.deepEqual(shown('all'), ['a1', 'a2', 'plain', 'res', 'v1']);
    assert.deepEqual(shown('broken'), []);
    assert.deepEqual(shown('hostile'), []);
    assert.deepEqual(shown('gone'), [], 'a pool that is not there has no nodes');
    assert.deepEqual(shown('a100', { label: 'rack=r2' }), ['a2'], 'with the label filter, both hold');
    // a node label alone (the old kiwi.dev/pool stand-in) makes no pool membership
    assert.deepEqual(visibleNodes([lab('x', { 'kiwi.dev/pool': 'a100' })], { label: '', user: '', pool: 'a100' }, none, pools), []);
    // a changed selector changes the rows, with nothing else changed
    assert.deepEqual(visibleNodes(ns, { label: '', user: '', pool: 'a100' }, none, [pool('a100', { nodeSelector: 'rack=r1' })]).map((n) => n.metadata.name), ['a1', 'v1']);
  });

  it('offers every Pool by name, marking the default (first default by name) and closed ones', () => {
    const cs = poolChoices([pool('zeta', { default: true }), pool('lab10', { nodeSelector: 'gpu=a100', state: 'Closed' }), pool('alpha', { default: true }), pool('lab2', {})]);
    assert.deepEqual(cs.map((c) => [c.value, c.text]), [['alpha', 'alpha (default)'], ['lab2', 'lab2'], ['lab10', 'lab10 (closed)'], ['zeta', 'zeta']]);
    assert.equal(cs[2].title, 'nodes: gpu=a100');
    assert.equal(cs[1].title, 'nodes: (every node)');
    assert.deepEqual(poolChoices([]), []);
  });

  it('starts a day at midnight and a week on Monday, in the viewer\'s zone', () => {
    assert.equal(iso(viewStart(T, 'day', 'UTC')), '2026-12-01T00:00:00.000Z');
    assert.equal(iso(viewStart(T, 'week', 'UTC')), '2026-11-30T00:00:00.000Z');
    assert.equal(iso(viewStart(T, 'day', 'Europe/Paris')), '2026-11-30T23:00:00.000Z');
    const t = ticks(viewStart(T, 'week', 'UTC'), viewStart(T, 'week', 'UTC') + 7 * DAY, 'week', 'UTC', 20 / HOUR);
    assert.equal(t.filter((x) => x.major).length, 7);
    assert.equal(t[0].label, 'Mon 30 Nov');
  });

  it('draws daily reservable windows as the planner reads them (crds/api/windows.ts): across midnight, on given days, 24:00 on a DST day', () => {
    const from = Date.parse('2026-12-01T00:00:00Z');
    assert.deepEqual(openIntervals([{ start: '08:00', end: '18:00' }], from, from + DAY).map(([a, b]) => [iso(a), iso(b)]), [['2026-12-01T08:00:00.000Z', '2026-12-01T18:00:00.000Z']]);
    assert.deepEqual(openIntervals([{ start: '22:00', end: '02:00' }], from, from + DAY).map(([a, b]) => [iso(a), iso(b)]), [['2026-12-01T00:00:00.000Z', '2026-12-01T02:00:00.000Z'], ['2026-12-01T22:00:00.000Z', '2026-12-02T00:00:00.000Z']]);
    assert.deepEqual(openIntervals([{ start: '08:00', end: '24:00', days: ['Wed'] }], from, from + DAY), []);
    assert.deepEqual(openIntervals(undefined, from, from + DAY), []);
    // two windows that overlap are one stretch; a 23-hour day (Paris, spring) ends at its own midnight
    assert.deepEqual(openIntervals([{ start: '08:00', end: '12:00' }, { start: '11:00', end: '14:00' }], from, from + DAY).map(([a, b]) => [iso(a), iso(b)]), [['2026-12-01T08:00:00.000Z', '2026-12-01T14:00:00.000Z']]);
    const dst = Date.parse('2026-03-28T23:00:00Z'); // Sunday 29 March 00:00 in Paris
    assert.deepEqual(openIntervals([{ start: '01:30', end: '24:00', timeZone: 'Europe/Paris', days: ['Sun'] }], dst, dst + DAY).map(([a, b]) => [iso(a), iso(b)]), [['2026-03-29T00:30:00.000Z', '2026-03-29T22:00:00.000Z']]);
  });

  it('makes a selection near now "as soon as possible" and a later one a fixed reservation', () => {
    assert.deepEqual(selectionToSpec(['n1'], T - 10 * 60_000, T + HOUR, T), { nodes: ['n1'], duration: 3600 });
    assert.deepEqual(selectionToSpec(['n1', 'n2'], T + 2 * HOUR, T + HOUR, T), { nodes: ['n1', 'n2'], duration: 3600, start: '2026-12-01T13:00:00Z' });
    assert.equal(snap(T + 7 * 60_000, 'day'), T + 5 * 60_000);
    assert.equal(snap(T + 8 * 60_000, 'week'), T + 15 * 60_000);
  });

  it('says in the tooltip who, until when, why it waits and after whom', () => {
    const b = bk('w', { phase: 'Pending', reason: 'Queued', message: 'waits: n1 is held by bob/b1', nodes: ['n1'], startTime: iso(T + HOUR), endTime: iso(T + 2 * HOUR), waitingFor: [{ node: 'n1', booking: 'bob/b1', user: 'bob', until: iso(T + HOUR) }] });
    const lines = describeBooking(b, T, (t) => iso(t).slice(11, 16));
    assert.deepEqual(lines, ['alice/w (alice)', 'planned: 13:00 to 14:00 on n1', 'why it waits: n1 is held by bob/b1', 'after: bob/b1 (bob) until 13:00']);
  });
});
