// Idle release in the planner (phases/idle.ts): an Active booking that opted in ends with reason
// Idle only when every one of its nodes reports its user idle for idleRelease.after, and only
// after the warning (condition IdleWarning) has stood for warnBefore; never while any node says
// active, reports nothing for this entry, or has lost its heartbeat.
import assert from 'node:assert/strict';
import type { BookingStatus, CalendarEntry, Condition, Pool } from '../../../crds/api/index.js';
import { plan, type BookingAction } from '../../../operator/src/plan/index.js';
import { DEFAULT_CONFIG } from '../../../crds/api/index.js';
import { T0, MIN, H, iso, booking, node, entry, run, input } from './fixtures.js';

const IDLE = { after: 600, warnBefore: 120, cpuPercent: 5 };
const CONFIG = { idleRelease: { ...IDLE, enabled: false } };
const rfc = (t: number) => iso(t).replace('.000Z', 'Z');

/** An Active booking on n1, n2 that opted in (spec.idleRelease), its entries carrying the policy. */
function idleBooking(conds?: Condition[], spec: object = { idleRelease: true }) {
  const status: BookingStatus = { phase: 'Active', reason: 'Started', nodes: ['n1', 'n2'], startTime: iso(T0 - H), endTime: iso(T0 + H), observedGeneration: 1, message: 'on n1, n2 until x' };
  if (conds) status.conditions = conds;
  const view = booking('alice/a', { nodes: ['n1', 'n2'], duration: 7200, ...spec }, { status });
  const e = (): CalendarEntry => ({ ...entry('alice/a', T0 - H, T0 + H), idle: IDLE });
  return { view, entries: [['n1', e()], ['n2', e()]] as [string, CalendarEntry][] };
}
/** A node whose daemon reports the entry idle since `since` (undefined: active). */
const reporting = (name: string, since: number | undefined, o: { heartbeat?: boolean; uid?: string } = {}) =>
  node(name, { heartbeat: o.heartbeat ?? true, status: { phase: 'Ready', activity: [{ booking: 'alice/a', entryUid: o.uid ?? 'uid-alice/a', ...(since !== undefined ? { idleSince: rfc(since) } : {}) }] } });

describe('operator idle release', () => {
  it('opted in, the entries carry the policy; not opted in, they carry none', () => {
    const v = booking('alice/a', { nodes: ['n1'], duration: 60, idleRelease: true });
    assert.deepEqual(run({ config: CONFIG, bookings: [v] }).b.get('alice/a')!.calendar[0].entries[0].idle, IDLE);
    const w = booking('alice/b', { nodes: ['n1'], duration: 60 });
    assert.equal(run({ config: CONFIG, bookings: [w] }).b.get('alice/b')!.calendar[0].entries[0].idle, undefined);
    assert.deepEqual(run({ config: { idleRelease: { ...IDLE, enabled: true } }, bookings: [w] }).b.get('alice/b')!.calendar[0].entries[0].idle, IDLE, 'the cluster default');
    const x = booking('alice/c', { nodes: ['n1'], duration: 60, idleRelease: false });
    assert.equal(run({ config: { idleRelease: { ...IDLE, enabled: true } }, bookings: [x] }).b.get('alice/c')!.calendar[0].entries[0].idle, undefined, 'opted out');
    assert.equal(DEFAULT_CONFIG.idleRelease.enabled, false, 'off unless asked');
  });

  it('a pool opts its bookings in (or out); the booking\'s own spec.idleRelease comes first', () => {
    const pool = (idleRelease: boolean): Pool => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'lab' }, spec: { default: true, idleRelease } });
    const idleOf = (spec: object, p: Pool, enabled = false) =>
      (plan({ ...input({ config: { idleRelease: { ...IDLE, enabled } }, bookings: [booking('alice/p', { nodes: ['n1'], duration: 60, ...spec })] }), pools: [p] }).actions[0] as BookingAction).calendar[0].entries[0].idle;
    assert.deepEqual(idleOf({}, pool(true)), IDLE, 'the pool opts in');
    assert.equal(idleOf({}, pool(false), true), undefined, 'the pool opts out of the cluster default');
    assert.equal(idleOf({ idleRelease: false }, pool(true)), undefined, 'the booking opts out');
  });

  it('idle on all its nodes for after - warnBefore: warned (IdleWarning), not ended', () => {
    const a = idleBooking();
    const { b, result } = run({ now: T0, config: CONFIG, bookings: [a.view], entries: a.entries, nodes: [reporting('n1', T0 - 9 * MIN), reporting('n2', T0 - 8 * MIN)] });
    const x = b.get('alice/a')!;
    assert.equal(x.status!.phase, 'Active');
    const c = x.status!.conditions!.find((k) => k.type === 'IdleWarning')!;
    assert.deepEqual([c.status, c.reason, c.message], ['True', 'Idle', 'its user has been idle on all its nodes since 2026-03-02T07:52:00Z; it ends at 2026-03-02T08:02:00Z (reason Idle) unless they use one of them']);
    assert.deepEqual(x.events.map((e) => [e.type, e.reason]), [['Warning', 'IdleWarning']]);
    assert.deepEqual([...result.nodeWakes!], [['n1', T0 + 2 * MIN], ['n2', T0 + 2 * MIN]], 'its nodes are planned again for the end');
  });

  it('after the warning stood for warnBefore and idle for after: Expired, reason Idle, the nodes go to the queue', () => {
    const a = idleBooking([{ type: 'IdleWarning', status: 'True', reason: 'Idle', message: 'm', lastTransitionTime: rfc(T0 - 2 * MIN) }]);
    const next = booking('bob/b', { nodes: ['n1'], duration: 600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(T0 + H), endTime: iso(T0 + H + 10 * MIN), observedGeneration: 1 } });
    const { b } = run({ now: T0, config: CONFIG, bookings: [a.view, next], entries: [...a.entries, ['n1', entry('bob/b', T0 + H, T0 + H + 10 * MIN)]], nodes: [reporting('n1', T0 - 11 * MIN), reporting('n2', T0 - 10 * MIN)] });
    const x = b.get('alice/a')!;
    assert.deepEqual([x.status!.phase, x.status!.reason, x.status!.endTime], ['Expired', 'Idle', iso(T0)]);
    assert.equal(x.status!.message, 'ended at 2026-03-02T08:00:00Z: its user was idle on all its nodes (n1, n2) since 2026-03-02T07:50:00Z, for idleRelease.after 600s; warned at 2026-03-02T07:58:00Z');
    assert.deepEqual(x.calendar.map((c) => [c.node, c.entries.length]), [['n1', 0], ['n2', 0]]);
    assert.equal(b.get('bob/b')!.status!.phase, 'Active');
  });

  it('never ended without a warning first: one not yet warned is warned, and ends warnBefore later', () => {
    const a = idleBooking();
    const { b } = run({ now: T0, config: CONFIG, bookings: [a.view], entries: a.entries, nodes: [reporting('n1', T0 - H), reporting('n2', T0 - H)] });
    const x = b.get('alice/a')!;
    assert.equal(x.status!.phase, 'Active');
    assert.match(x.status!.conditions![0].message!, /it ends at 2026-03-02T08:02:00Z/);
  });

  it('never for a booking whose user is active on any of its nodes, or a node that does not report or is gone', () => {
    const a = idleBooking();
    const cases: [string, ReturnType<typeof reporting>][] = [
      ['active on n2', reporting('n2', undefined)],
      ['n2 reports another entry', reporting('n2', T0 - H, { uid: 'old-uid' })],
      ['n2 heartbeat lost', reporting('n2', T0 - H, { heartbeat: false })],
      ['n2 says nothing', node('n2', { heartbeat: true, status: { phase: 'Ready' } })],
    ];
    for (const [what, n2] of cases) {
      const { b } = run({ now: T0, config: CONFIG, bookings: [a.view], entries: a.entries, nodes: [reporting('n1', T0 - H), n2] });
      assert.equal(b.get('alice/a')?.status?.phase ?? 'Active', 'Active', what);
      assert.equal(b.get('alice/a')?.status?.conditions, undefined, `${what}: no warning`);
    }
  });

  it('a warning is taken back when the user is active again', () => {
    const a = idleBooking([{ type: 'IdleWarning', status: 'True', reason: 'Idle', message: 'm', lastTransitionTime: rfc(T0 - MIN) }]);
    const { b } = run({ now: T0, config: CONFIG, bookings: [a.view], entries: a.entries, nodes: [reporting('n1', T0 - H), reporting('n2', undefined)] });
    const x = b.get('alice/a')!;
    const c = x.status!.conditions!.find((k) => k.type === 'IdleWarning')!;
    assert.deepEqual([c.status, c.reason, c.message], ['False', 'Active', 'its user is active on one of its nodes (or a node does not report)']);
    assert.equal(x.status!.phase, 'Active');
  });

  it('a booking that did not opt in is never ended, whatever the nodes report', () => {
    const a = idleBooking(undefined, {});
    const entries = a.entries.map(([n, e]) => [n, { ...e, idle: undefined }] as [string, CalendarEntry]);
    const { b } = run({ now: T0, config: CONFIG, bookings: [a.view], entries, nodes: [reporting('n1', T0 - H), reporting('n2', T0 - H)] });
    assert.equal(b.get('alice/a'), undefined);
  });
});
