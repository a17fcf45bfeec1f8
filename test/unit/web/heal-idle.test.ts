// The calendar page shows healing and idle release (pure layout): a healed booking's bar on the
// node that took the failed one's place starts at the replacement, the failed node keeps an
// ended bar up to then; the hover says degraded (what replaced what) and an idle warning.
import assert from 'node:assert/strict';
import type { Booking } from '../../../crds/api/types.js';
import { barsOf, describe as describeBooking, HOUR } from '../../../kiwi-web/page/layout.js';

const T = Date.parse('2026-12-01T12:00:00Z');
const iso = (t: number) => new Date(t).toISOString();
const fmt = (t: number) => iso(t).slice(11, 16);
const healed: Booking = {
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'h', namespace: 'alice' }, spec: { user: 'alice', count: 1 },
  status: {
    phase: 'Active', nodes: ['n3'], startTime: iso(T - HOUR), endTime: iso(T + HOUR), replacements: [{ node: 'n1', by: 'n3', time: iso(T - HOUR / 2), reason: 'HeartbeatLost' }],
    conditions: [{ type: 'Degraded', status: 'True', reason: 'Replaced', message: 'node n1 stopped heartbeating at 11:27: replaced by node n3' }],
  },
};

describe('web page: healing and idle release (pure)', () => {
  it('a healed booking: the new node from the replacement on, the failed one ended then', () => {
    const bars = barsOf(healed, T);
    assert.deepEqual(bars.map((b) => [b.node, b.kind, b.start, b.end]), [['n3', 'active', T - HOUR / 2, T + HOUR], ['n1', 'expired', T - HOUR, T - HOUR / 2]]);
  });
  it('the hover says degraded, what replaced what, and an idle warning', () => {
    const lines = describeBooking(healed, T, fmt);
    assert.ok(lines.includes('degraded: node n1 stopped heartbeating at 11:27: replaced by node n3'), lines.join('\n'));
    assert.ok(lines.includes('replaced: n1 by n3 at 11:30'), lines.join('\n'));
    const idle: Booking = { ...healed, status: { ...healed.status, replacements: undefined, conditions: [{ type: 'IdleWarning', status: 'True', reason: 'Idle', message: 'its user has been idle on all its nodes since 11:00; it ends at 12:05 (reason Idle) unless they use one of them' }] } };
    assert.ok(describeBooking(idle, T, fmt).includes('idle warning: its user has been idle on all its nodes since 11:00; it ends at 12:05 (reason Idle) unless they use one of them'));
    const back: Booking = { ...idle, status: { ...idle.status, conditions: [{ type: 'IdleWarning', status: 'False', reason: 'Active' }] } };
    assert.ok(!describeBooking(back, T, fmt).some((l) => l.startsWith('idle warning')));
  });
  it('the hover of an occurrence of a recurring booking names its schedule and how to see it', () => {
    const occ: Booking = { ...healed, metadata: { ...healed.metadata, name: 'lab-20261201', labels: { 'kiwi.dev/schedule': 'lab' } }, status: { phase: 'Pending', nodes: ['n1'], startTime: iso(T + HOUR), endTime: iso(T + 2 * HOUR) } };
    assert.ok(describeBooking(occ, T, fmt).includes('occurrence of the recurring booking alice/lab (kiwictl describe bs lab -n alice)'));
    assert.ok(!describeBooking(healed, T, fmt).some((l) => l.startsWith('occurrence')));
  });
});
