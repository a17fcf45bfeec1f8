// Healing (phases/heal.ts): a booking whose node stopped heartbeating beyond the grace period,
// or was drained, gets a free matching node in its place (count + nodeSelector), or waits or ends
// as it asked (pinned); reservations move off a NotReady node at once; a returning node gets
// nothing back. Pure planner, exact reasons.
import assert from 'node:assert/strict';
import type { BookingSpec, BookingStatus, NodeStatus, Pool } from '../../../crds/api/index.js';
import { plan, type BookingAction } from '../../../operator/src/plan/index.js';
import { T0, H, MIN, iso, booking, node, entry, run, input } from './fixtures.js';

const GRACE = { healing: { gracePeriod: 120 } };
/** A node whose heartbeat stopped at `since` (the readiness phase's Ready=False condition). */
const dead = (name: string, since: number, labels: Record<string, string> = { gpu: 'a100' }) =>
  node(name, { labels, status: { phase: 'NotReady', conditions: [{ type: 'Ready', status: 'False', reason: 'HeartbeatLost', lastTransitionTime: iso(since).replace('.000Z', 'Z') }] } });
const live = (name: string, labels: Record<string, string> = { gpu: 'a100' }, status: NodeStatus = { phase: 'Ready' }) => node(name, { labels, status, heartbeat: true });

/** An Active booking on `nodes` from start to end: count + nodeSelector unless pinned. */
function activeOn(key: string, nodes: string[], start: number, end: number, spec: Partial<BookingSpec> = {}, status: Partial<BookingStatus> = {}) {
  const view = booking(key, { ...(spec.nodes ? {} : { count: nodes.length, nodeSelector: { gpu: 'a100' } }), duration: (end - start) / 1000, ...spec }, {
    status: { phase: 'Active', reason: 'Started', nodes, startTime: iso(start), endTime: iso(end), observedGeneration: 1, message: `on ${nodes.join(', ')} until x`, ...status },
  });
  return { view, entries: nodes.map((n) => [n, entry(key, start, end)] as [string, ReturnType<typeof entry>]) };
}

describe('operator heal: a begun booking with count + nodeSelector', () => {
  it('gets a free matching node in the failed one\'s place, keeps its end, and says what replaced what', () => {
    const a = activeOn('alice/a', ['n1', 'n2'], T0 - H, T0 + H);
    const { b } = run({ now: T0, config: GRACE, bookings: [a.view], entries: a.entries, nodes: [dead('n1', T0 - 5 * MIN), live('n2'), live('n3'), live('n4', { gpu: 'none' })] });
    const x = b.get('alice/a')!;
    assert.equal(x.transition, 'Replaced');
    assert.deepEqual(x.status!.nodes, ['n2', 'n3']);
    assert.equal(x.status!.phase, 'Active');
    assert.equal(x.status!.endTime, iso(T0 + H), 'the end stays');
    assert.equal(x.status!.startTime, iso(T0 - H), 'the start stays');
    assert.deepEqual(x.status!.replacements, [{ node: 'n1', by: 'n3', time: iso(T0), reason: 'HeartbeatLost' }]);
    const c = x.status!.conditions!.find((k) => k.type === 'Degraded')!;
    assert.deepEqual([c.status, c.reason, c.message], ['True', 'Replaced', 'node n1 stopped heartbeating at 2026-03-02T07:55:00Z, more than healing.gracePeriod 120s ago: replaced by node n3 at 2026-03-02T08:00:00Z; the booking keeps its end 2026-03-02T09:00:00Z']);
    assert.equal(x.status!.message, 'on n2, n3 until 2026-03-02T09:00:00Z (n1 replaced by n3)');
    // The failed node's entry goes; the new one's runs from now to the end; n2's is untouched.
    assert.deepEqual(x.calendar.map((c) => [c.node, c.entries.map((e) => [e.start, e.end])]), [['n1', []], ['n3', [[T0, T0 + H]]]]);
    assert.deepEqual(x.events.map((e) => [e.type, e.reason]), [['Warning', 'Replaced']]);
  });

  it('with pools, only a node of the booking\'s pool takes the failed one\'s place', () => {
    const a = activeOn('alice/a', ['n1'], T0 - H, T0 + H, { pool: 'lab' });
    const lab: Pool = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'lab' }, spec: { nodeSelector: 'room=lab' } };
    const other: Pool = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'other' }, spec: { default: true, nodeSelector: 'room=b' } };
    const nodes = [dead('n1', T0 - 5 * MIN, { gpu: 'a100', room: 'lab' }), live('n2', { gpu: 'a100', room: 'b' }), live('n3', { gpu: 'a100', room: 'lab' })];
    const r = plan({ ...input({ now: T0, config: GRACE, bookings: [a.view], entries: a.entries, nodes }), pools: [lab, other] });
    const x = r.actions.find((y) => y.kind === 'booking' && y.key === 'alice/a') as BookingAction;
    assert.deepEqual(x.status!.replacements!.map((q) => q.by), ['n3'], 'n2 matches the selector but is in another pool');
  });

  it('within the grace period nothing moves, and the booking is planned again when it ends', () => {
    const a = activeOn('alice/a', ['n1'], T0 - H, T0 + H);
    const { b, result } = run({ now: T0, config: GRACE, bookings: [a.view], entries: a.entries, nodes: [dead('n1', T0 - MIN), live('n3')] });
    assert.equal(b.get('alice/a'), undefined);
    assert.deepEqual([...result.nodeWakes!], [['n1', T0 + MIN]], 'the failed node is planned again then');
  });

  it('a drained node is replaced at once, with reason Drained', () => {
    const a = activeOn('alice/a', ['n1'], T0 - H, T0 + H);
    const { b, n } = run({ now: T0, config: GRACE, bookings: [a.view], entries: a.entries, nodes: [node('n1', { labels: { gpu: 'a100' }, status: { phase: 'Ready' }, heartbeat: true, drain: 'disk swap' }), live('n3')] });
    const x = b.get('alice/a')!;
    assert.deepEqual(x.status!.replacements, [{ node: 'n1', by: 'n3', time: iso(T0), reason: 'Drained' }]);
    assert.match(x.status!.conditions![0].message!, /^node n1 is draining \(draining: disk swap\): replaced by node n3/);
    assert.equal(n.get('n1')!.transition, 'Drained', 'nothing holds it any more');
  });

  it('takes only a node free from now to its end: one booked later in that time is no replacement', () => {
    const a = activeOn('alice/a', ['n1'], T0 - H, T0 + H);
    const later = booking('bob/b', { nodes: ['n3'], start: iso(T0 + 30 * MIN), duration: 1800 }, { status: { phase: 'Pending', reason: 'Scheduled', nodes: ['n3'], startTime: iso(T0 + 30 * MIN), endTime: iso(T0 + H), observedGeneration: 1 } });
    const { b } = run({ now: T0, config: GRACE, bookings: [a.view, later], entries: [...a.entries, ['n3', entry('bob/b', T0 + 30 * MIN, T0 + H)]], nodes: [dead('n1', T0 - 5 * MIN), live('n3'), live('n4')] });
    assert.deepEqual(b.get('alice/a')!.status!.replacements!.map((r) => r.by), ['n4']);
  });

  it('with no node free it keeps the failed node and waits (Degraded, NodeFailed), then takes one that frees', () => {
    const a = activeOn('alice/a', ['n1'], T0 - H, T0 + H);
    const busy = activeOn('bob/b', ['n3'], T0 - H, T0 + 10 * MIN, { nodes: ['n3'] });
    let r = run({ now: T0, config: GRACE, bookings: [a.view, busy.view], entries: [...a.entries, ...busy.entries], nodes: [dead('n1', T0 - 5 * MIN), live('n3')] });
    const x = r.b.get('alice/a')!;
    assert.equal(x.transition, 'NodeFailed');
    assert.deepEqual(x.calendar, [], 'it keeps n1: the node may return');
    const c = x.status!.conditions!.find((k) => k.type === 'Degraded')!;
    assert.deepEqual([c.status, c.reason, c.message], ['True', 'NodeFailed', 'node n1 stopped heartbeating at 2026-03-02T07:55:00Z, more than healing.gracePeriod 120s ago; no other node matching nodeSelector gpu=a100 is free until 2026-03-02T09:00:00Z: the booking keeps it and takes the first that frees']);
    // Later bob's booking is over: n3 is free and takes n1's place.
    const waiting = { ...a.view, booking: { ...a.view.booking, status: x.status } };
    const bobDone = { ...busy.view, booking: { ...busy.view.booking, status: { ...busy.view.booking.status!, phase: 'Expired' as const, reason: 'TimeLimit' as const } } };
    r = run({ now: T0 + 11 * MIN, config: GRACE, bookings: [waiting, bobDone], entries: a.entries, nodes: [dead('n1', T0 - 5 * MIN), live('n3')] });
    assert.deepEqual(r.b.get('alice/a')!.status!.replacements, [{ node: 'n1', by: 'n3', time: iso(T0 + 11 * MIN), reason: 'HeartbeatLost' }]);
  });

  it('a node that comes back is not given back what it lost, and the new node keeps its later start', () => {
    const a = activeOn('alice/a', ['n3'], T0 - H, T0 + H, {}, { replacements: [{ node: 'n1', by: 'n3', time: iso(T0 - 10 * MIN), reason: 'HeartbeatLost' }] });
    const entries: [string, ReturnType<typeof entry>][] = [['n3', entry('alice/a', T0 - 10 * MIN, T0 + H)]];
    const { b } = run({ now: T0, config: GRACE, bookings: [a.view], entries, nodes: [live('n1'), live('n3')] });
    assert.equal(b.get('alice/a'), undefined, 'nothing to do: n1 is not taken back, n3\'s entry is not moved to the booking\'s start');
  });
});

describe('operator heal: a booking pinned to a node', () => {
  it('Wait (the default) keeps its slot and says so; NodeBack when the node returns', () => {
    const a = activeOn('alice/a', ['n1'], T0 - H, T0 + H, { nodes: ['n1'] });
    const r = run({ now: T0, config: GRACE, bookings: [a.view], entries: a.entries, nodes: [dead('n1', T0 - 5 * MIN), live('n3')] });
    const x = r.b.get('alice/a')!;
    assert.deepEqual(x.calendar, []);
    const c = x.status!.conditions!.find((k) => k.type === 'Degraded')!;
    assert.deepEqual([c.reason, c.message], ['NodeFailed', 'node n1 stopped heartbeating at 2026-03-02T07:55:00Z, more than healing.gracePeriod 120s ago; the booking keeps its slot and waits for it (spec.onNodeFailure: Wait)']);
    const back = { ...a.view, booking: { ...a.view.booking, status: x.status } };
    const r2 = run({ now: T0 + MIN, config: GRACE, bookings: [back], entries: a.entries, nodes: [live('n1'), live('n3')] });
    const y = r2.b.get('alice/a')!;
    const c2 = y.status!.conditions!.find((k) => k.type === 'Degraded')!;
    assert.deepEqual([c2.status, c2.reason, c2.message], ['False', 'NodeBack', 'its nodes are back (n1)']);
    assert.deepEqual(y.events.map((e) => e.reason), ['NodeBack']);
  });

  it('Wait on a draining node: the slot goes on as before, nothing degraded; End ends it', () => {
    const drainingNode = node('n1', { status: { phase: 'Ready' }, heartbeat: true, drain: 'disk swap' });
    const a = activeOn('alice/a', ['n1'], T0 - H, T0 + H, { nodes: ['n1'] });
    const r = run({ now: T0, config: GRACE, bookings: [a.view], entries: a.entries, nodes: [drainingNode] });
    assert.equal(r.b.get('alice/a'), undefined);
    assert.equal(r.n.get('n1')!.transition, 'Draining');
    const e = activeOn('alice/e', ['n1'], T0 - H, T0 + H, { nodes: ['n1'], onNodeFailure: 'End' });
    const x = run({ now: T0, config: GRACE, bookings: [e.view], entries: e.entries, nodes: [drainingNode] }).b.get('alice/e')!;
    assert.deepEqual([x.status!.phase, x.status!.reason, x.status!.message], ['Expired', 'NodeLost', 'node n1 is draining (draining: disk swap); the booking asked to end then (spec.onNodeFailure: End)']);
  });

  it('End ends it with reason NodeLost, and the node is free for the queue', () => {
    const a = activeOn('alice/a', ['n1', 'n2'], T0 - H, T0 + H, { nodes: ['n1', 'n2'], onNodeFailure: 'End' });
    const next = booking('bob/b', { nodes: ['n2'], duration: 600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n2'], startTime: iso(T0 + H), endTime: iso(T0 + H + 10 * MIN), observedGeneration: 1 } });
    const { b } = run({ now: T0, config: GRACE, bookings: [a.view, next], entries: [...a.entries, ['n2', entry('bob/b', T0 + H, T0 + H + 10 * MIN)]], nodes: [dead('n1', T0 - 5 * MIN), live('n2')] });
    const x = b.get('alice/a')!;
    assert.equal(x.status!.phase, 'Expired');
    assert.equal(x.status!.reason, 'NodeLost');
    assert.equal(x.status!.message, 'node n1 stopped heartbeating at 2026-03-02T07:55:00Z, more than healing.gracePeriod 120s ago; the booking asked to end then (spec.onNodeFailure: End)');
    assert.equal(x.status!.endTime, iso(T0));
    assert.equal(b.get('bob/b')!.status!.phase, 'Active', 'the queue moves up onto n2');
  });

  it('a queued booking pinned to a failed node that asked to End ends; one that waits says why it waits', () => {
    const q = (key: string, spec: Partial<BookingSpec>) => booking(key, { nodes: ['n1'], duration: 600, ...spec }, { status: { phase: 'Pending', reason: 'Queued', message: 'waits: x', observedGeneration: 1 } });
    const { b } = run({ now: T0, config: GRACE, bookings: [q('alice/end', { onNodeFailure: 'End' }), q('alice/wait', {})], nodes: [dead('n1', T0 - 5 * MIN)] });
    assert.deepEqual([b.get('alice/end')!.status!.phase, b.get('alice/end')!.status!.reason], ['Expired', 'NodeLost']);
    assert.equal(b.get('alice/wait')!.status!.message, 'waits: node n1 is NotReady (its daemon\'s heartbeat is gone)');
  });
});

describe('operator heal: pending bookings are re-planned off dead nodes at once', () => {
  it('a queued count booking planned on a node that went NotReady moves to a ready one (no grace)', () => {
    const v = booking('alice/q', { count: 1, nodeSelector: { gpu: 'a100' }, duration: 600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(T0 + H), endTime: iso(T0 + H + 10 * MIN), observedGeneration: 1 } });
    const { b } = run({ now: T0, config: GRACE, bookings: [v], entries: [['n1', entry('alice/q', T0 + H, T0 + H + 10 * MIN)]], nodes: [dead('n1', T0 - 10_000), live('n3')] });
    assert.deepEqual([b.get('alice/q')!.status!.phase, b.get('alice/q')!.status!.nodes], ['Active', ['n3']]);
  });

  it('a reservation (fixed start) with count + nodeSelector on a NotReady node moves at once, keeping its time', () => {
    const start = T0 + H;
    const v = booking('alice/r', { count: 1, nodeSelector: { gpu: 'a100' }, start: iso(start), duration: 600 }, { status: { phase: 'Pending', reason: 'Scheduled', nodes: ['n1'], startTime: iso(start), endTime: iso(start + 10 * MIN), observedGeneration: 1 } });
    const { b } = run({ now: T0, config: GRACE, bookings: [v], entries: [['n1', entry('alice/r', start, start + 10 * MIN)]], nodes: [dead('n1', T0 - 10_000), live('n3')] });
    const x = b.get('alice/r')!;
    assert.deepEqual([x.status!.phase, x.status!.nodes, x.status!.startTime], ['Pending', ['n3'], iso(start)]);
    assert.deepEqual(x.calendar.map((c) => [c.node, c.entries.length]), [['n1', 0], ['n3', 1]]);
  });
});

import { RefIndex } from '../../../operator/src/plan/index.js';

describe('operator heal: the pass scope', () => {
  it('an Active count booking on a node that may have failed comes with every node its selector matches, and they with it', () => {
    const ix = new RefIndex();
    for (const n of ['a1', 'a2', 'b1']) ix.setNode(n, { rack: n[0] });
    const a = activeOn('alice/a', ['a1'], T0 - H, T0 + H, { nodeSelector: { rack: 'a' } });
    ix.setBooking('alice/a', a.view.booking);
    ix.setCalendar('a1', [entry('alice/a', T0 - H, T0 + H)]);
    const nodesOf = (seedNodes: string[]) => [...(ix.components([], seedNodes) ?? []).flatMap((p) => [...p.nodes])].sort();
    assert.deepEqual(nodesOf(['a1']), ['a1'], 'healthy: its own node only');
    ix.setNode('a1', { rack: 'a' }, true, true);
    assert.deepEqual(nodesOf(['a1']), ['a1', 'a2'], 'a1 may have failed: a2 may take its place');
    assert.deepEqual(nodesOf(['a2']), ['a1', 'a2'], 'and a2 changing brings the booking');
    assert.deepEqual(nodesOf(['b1']), ['b1'], 'b1 does not match');
  });
});
