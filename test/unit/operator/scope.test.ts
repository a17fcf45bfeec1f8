// Scoped passes: the closure of a change (plan/scope.ts) and the promise that planning it alone
// decides exactly what a whole pass decides, checked over random histories.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Action, Scope } from '../../../operator/src/plan/index.js';
import { NodeWakes, plan, RefIndex } from '../../../operator/src/plan/index.js';
import { booking, entry, H, T0 } from './fixtures.js';
import { Sim, opsOn } from './sim.js';

const sorted = (s: Set<string> | undefined) => (s ? [...s].sort() : s);
/** The whole closure of a change: its parts together (undefined: everything). */
const closure = (ix: RefIndex, bookings: string[], nodes: string[]): Scope | undefined => {
  const parts = ix.components(bookings, nodes);
  return parts && { bookings: new Set(parts.flatMap((p) => [...p.bookings])), nodes: new Set(parts.flatMap((p) => [...p.nodes])) };
};

describe('operator scope: which part of the cluster a change can affect', () => {
  const index = () => {
    const ix = new RefIndex();
    for (const n of ['a1', 'a2', 'b1', 'b2']) ix.setNode(n, { rack: n[0] });
    return ix;
  };

  it('a booking pinned to a node brings that node and whatever else refers to it, and no more', () => {
    const ix = index();
    ix.setBooking('u/x', booking('u/x', { nodes: ['a1'] }).booking);
    ix.setBooking('u/y', booking('u/y', { nodes: ['a1', 'a2'] }).booking);
    ix.setBooking('u/z', booking('u/z', { nodes: ['b1'] }).booking);
    ix.setCalendar('a2', [entry('u/w', T0, T0 + H)]);
    const s = closure(ix, ['u/x'], []);
    assert.deepEqual(sorted(s?.bookings), ['u/w', 'u/x', 'u/y']);
    assert.deepEqual(sorted(s?.nodes), ['a1', 'a2']);
  });

  it('a node that changed brings the bookings that name it or hold it', () => {
    const ix = index();
    ix.setBooking('u/x', booking('u/x', { nodes: ['a1'] }).booking);
    ix.setCalendar('b1', [entry('u/gone', T0, T0 + H)]); // a deleted booking's entry: an orphan to remove
    assert.deepEqual(sorted(closure(ix, [], ['b1'])?.bookings), ['u/gone']);
    assert.deepEqual(sorted(closure(ix, [], ['a1'])?.bookings), ['u/x']);
  });

  it('an Expired booking names nothing; only its leftover entries keep it in', () => {
    const ix = index();
    ix.setBooking('u/x', booking('u/x', { nodes: ['a1'] }, { status: { phase: 'Expired', nodes: ['a1'] } }).booking);
    assert.deepEqual(sorted(closure(ix, [], ['a1'])?.bookings), []);
    ix.setCalendar('a1', [entry('u/x', T0, T0 + H)]);
    assert.deepEqual(sorted(closure(ix, [], ['a1'])?.bookings), ['u/x']);
    ix.setCalendar('a1', []);
    assert.deepEqual(sorted(closure(ix, [], ['a1'])?.bookings), []);
  });

  it('a booking free to go anywhere its selector matches brings all those nodes; with no selector, everything', () => {
    const ix = index();
    ix.setBooking('u/any-a', booking('u/any-a', { count: 1, nodeSelector: { rack: 'a' } }).booking);
    ix.setBooking('u/on-b2', booking('u/on-b2', { nodes: ['b2'] }).booking);
    const s = closure(ix, [], ['a2']);
    assert.deepEqual(sorted(s?.nodes), ['a1', 'a2']);
    assert.deepEqual(sorted(s?.bookings), ['u/any-a']);
    assert.deepEqual(sorted(closure(ix, [], ['b2'])?.bookings), ['u/on-b2']);
    ix.setBooking('u/any', booking('u/any', { count: 1 }).booking);
    assert.equal(closure(ix, [], ['b2']), undefined);
    // Once it started, it holds its nodes and floats no more.
    ix.setBooking('u/any', booking('u/any', { count: 1 }, { status: { phase: 'Active', nodes: ['a1'] } }).booking);
    assert.deepEqual(sorted(closure(ix, [], ['b2'])?.bookings), ['u/on-b2']);
    ix.setBooking('u/any-a', undefined);
    assert.deepEqual(sorted(closure(ix, [], ['a2'])?.bookings), []);
  });

  it('cuts a closure into the parts that share nothing', () => {
    const ix = index();
    ix.setBooking('u/x', booking('u/x', { nodes: ['a1', 'a2'] }).booking);
    ix.setBooking('u/y', booking('u/y', { nodes: ['a2'] }).booking);
    ix.setBooking('u/z', booking('u/z', { nodes: ['b1'] }).booking);
    ix.setBooking('u/lone', booking('u/lone', {}, { status: { phase: 'Expired' } }).booking);
    const parts = ix.components(['u/x', 'u/y', 'u/z', 'u/lone'], ['a1', 'a2', 'b1', 'b2']);
    assert.deepEqual(parts?.map((p) => [sorted(p.bookings), sorted(p.nodes)]), [
      [['u/x', 'u/y'], ['a1', 'a2']],
      [['u/z'], ['b1']],
      [['u/lone'], []],
      [[], ['b2']],
    ]);
    ix.setBooking('u/any', booking('u/any', { count: 2 }).booking);
    assert.equal(ix.components(['u/z'], []), undefined, 'a booking free to go on any node joins everything');
  });

  it('says which calendars reach a start or an end, and when the next one is', () => {
    const ix = index();
    ix.setCalendar('a1', [entry('u/x', T0, T0 + H), entry('u/y', T0 + H, T0 + 2 * H)]);
    ix.setCalendar('b1', [entry('u/z', T0 + 3 * H, T0 + 4 * H)]);
    assert.deepEqual(ix.due(T0 - 1, T0), ['a1']);
    assert.deepEqual(ix.due(T0, T0 + H - 1), []);
    assert.deepEqual(ix.due(T0, T0 + 3 * H).sort(), ['a1', 'b1']);
    assert.equal(ix.nextTime(T0), T0 + H);
    assert.equal(ix.nextTime(T0 + 2 * H), T0 + 3 * H);
    assert.equal(ix.nextTime(T0 + 4 * H), undefined);
    ix.setCalendar('a1', undefined);
    assert.equal(ix.nextTime(T0), T0 + 3 * H);
  });
});

describe('operator scope: a scoped pass decides what a whole pass decides (property)', () => {
  const NAMES = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'c1'];
  const rack = (n: string) => n[0];
  const norm = (actions: Action[]) =>
    actions.map((a) => JSON.stringify(a)).sort();

  it('over random histories of bookings, cancels, deletes, resizes, node changes and time', () => {
    let scoped = 0;
    let whole = 0;
    let split = 0;
    fc.assert(
      fc.property(fc.array(opsOn(NAMES, ['a', 'b']), { minLength: 1, maxLength: 40 }), (ops) => {
        const sim = new Sim(NAMES, (n) => ({ rack: rack(n) }));
        let plannedUpTo = sim.now;
        const wakes = new NodeWakes(); // nodes the planner asked to plan again at times of their own, as the reconciler keeps them
        for (const op of ops) {
          const changed = sim.apply(op);
          const full = plan(sim.input());
          // What the reconciler does: the closure of the change, cut into parts, each planned alone.
          const scope = sim.index.components(changed.bookings, [...changed.nodes, ...sim.index.due(plannedUpTo, sim.now), ...wakes.due(sim.now)]);
          plannedUpTo = sim.now;
          if (!scope) whole++;
          else {
            scoped++;
            const planned = scope.map((p) => plan(sim.slice(p)));
            assert.deepEqual(norm(planned.flatMap((r) => r.actions)), norm(full.actions), `after ${JSON.stringify(op)}`);
            // The pass wakes no later than a whole pass would.
            const wake = [...planned.map((r) => r.nextWake), sim.index.nextTime(sim.now), wakes.next()].filter((t): t is number => t !== undefined);
            if (full.nextWake !== undefined) assert.ok(wake.length && Math.min(...wake) <= full.nextWake, 'a scoped pass would wake too late');
          }
          // A whole pass cut into its parts: each planned alone, together they decide the same.
          const parts = sim.index.components([...sim.bookings.keys()], [...sim.names, ...sim.calendars.keys()]);
          if (parts) {
            split++;
            assert.deepEqual(norm(parts.flatMap((p) => plan(sim.slice(p)).actions)), norm(full.actions), `parts after ${JSON.stringify(op)}`);
          }
          wakes.planned(sim.names, full.nodeWakes);
          sim.write(full.actions);
        }
      }),
      { numRuns: Number(process.env.KIWI_PROPERTY_RUNS ?? 300), seed: Number(process.env.KIWI_PROPERTY_SEED ?? 42) },
    );
    // Both kinds of pass were exercised, or the comparison above proved little.
    assert.ok(scoped > 1000 && whole > 100 && split > 1000, `scoped ${scoped}, whole ${whole}, split ${split}`);
  });
});
