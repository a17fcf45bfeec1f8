import assert from 'node:assert/strict';
import type { Booking, Node } from '../../../crds/api/types.js';
import { DEFAULT_CONFIG } from '../../../crds/api/config.js';
import { previewBooking, slotsByNode } from '../../../kiwi-web/src/preview.js';

const T = Date.parse('2026-12-01T12:00:00Z');
const M = 60_000;
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
const node = (name: string, spec: Node['spec'] = {}, annotations?: Record<string, string>): Node => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name, ...(annotations ? { annotations } : {}) }, spec, status: { phase: 'Ready' } });
const held = (ns: string, name: string, nodes: string[], start: number, end: number, phase: 'Active' | 'Pending' | 'Expired' = 'Active'): Booking => ({
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: ns }, spec: { user: ns, nodes }, status: { phase, nodes, startTime: iso(start), endTime: iso(end) },
});
const want = (spec: Partial<Booking['spec']>): Booking => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'new', namespace: 'alice' }, spec: { user: 'alice', ...spec } });
const NODES = [node('n1'), node('n2'), node('c1', { unschedulable: true }), node('d1', {}, { 'kiwi.dev/drain': 'disk swap' })];
const BOOKINGS = [held('bob', 'b1', ['n1'], T - 10 * M, T + 30 * M), held('carol', 'c1', ['n1'], T + 30 * M, T + 60 * M, 'Pending'), held('dave', 'old', ['n2'], T - 60 * M, T - 30 * M, 'Expired')];

describe('kiwi-web booking forecast (pure)', () => {
  it('starts now on a free node', () => {
    const p = previewBooking(want({ nodes: ['n2'], duration: 600 }), BOOKINGS, NODES, DEFAULT_CONFIG, T);
    assert.ok(p.ok);
    assert.equal(p.start, T);
    assert.equal(p.end, T + 10 * M);
    assert.match(p.message, /starts now/);
  });

  it('plans an as-soon-as-possible booking after every held and planned slot in its way, naming them', () => {
    const p = previewBooking(want({ nodes: ['n1', 'n2'], duration: 1200 }), BOOKINGS, NODES, DEFAULT_CONFIG, T);
    assert.ok(p.ok);
    assert.equal(p.start, T + 60 * M);
    assert.deepEqual(p.waitingFor.map((w) => w.booking).sort(), ['bob/b1', 'carol/c1']);
    assert.match(p.message, /after bob\/b1 \(bob\), carol\/c1 \(carol\)/);
  });

  it('fits a short booking into a gap before a planned slot', () => {
    const bs = [held('bob', 'b1', ['n1'], T - 10 * M, T + 10 * M), held('carol', 'c1', ['n1'], T + 40 * M, T + 60 * M, 'Pending')];
    const p = previewBooking(want({ nodes: ['n1'], duration: 1200 }), bs, NODES, DEFAULT_CONFIG, T);
    assert.ok(p.ok);
    assert.equal(p.start, T + 10 * M);
  });

  it('refuses a fixed slot that overlaps another, naming it; accepts one that does not', () => {
    const p = previewBooking(want({ nodes: ['n1'], start: iso(T + 20 * M), duration: 600 }), BOOKINGS, NODES, DEFAULT_CONFIG, T);
    assert.equal(p.ok, false);
    assert.match((p as { message: string }).message, /overlaps bob\/b1 \(bob\) on n1, which holds it from 2026-12-01 11:50 UTC to 2026-12-01 12:30 UTC/);
    const q = previewBooking(want({ nodes: ['n1'], start: iso(T + 60 * M), end: iso(T + 90 * M) }), BOOKINGS, NODES, DEFAULT_CONFIG, T);
    assert.ok(q.ok);
    assert.equal(q.end - q.start, 30 * M);
  });

  it('refuses Busy without the queue, cordoned, drained and unknown nodes, and over-long bookings', () => {
    const busy = previewBooking(want({ nodes: ['n1'], duration: 600, queue: false }), BOOKINGS, NODES, DEFAULT_CONFIG, T);
    assert.deepEqual([busy.ok, (busy as any).reason], [false, 'Busy']);
    assert.match((previewBooking(want({ nodes: ['c1'] }), [], NODES, DEFAULT_CONFIG, T) as any).message, /c1 is cordoned/);
    assert.match((previewBooking(want({ nodes: ['d1'] }), [], NODES, DEFAULT_CONFIG, T) as any).message, /d1 is being drained \(disk swap\)/);
    assert.match((previewBooking(want({ nodes: ['zz'] }), [], NODES, DEFAULT_CONFIG, T) as any).message, /zz does not exist/);
    assert.match((previewBooking(want({ nodes: ['n2'], duration: 8 * 86400 }), [], NODES, DEFAULT_CONFIG, T) as any).message, /longer than the cluster's maxDuration/);
  });

  it('ignores the booking itself and ended ones when collecting slots', () => {
    const s = slotsByNode([...BOOKINGS, held('alice', 'new', ['n2'], T, T + M)], 'alice/new');
    assert.deepEqual([...s.keys()], ['n1']);
  });
});
