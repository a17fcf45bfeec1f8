// The heap of earliest starts against the scan it replaces (earliestCountSlot with count 1):
// the same node and start after every booking placed, over random calendars, windows and
// preferences.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CalendarEntry } from '../../../crds/api/index.js';
import { EarliestFree, earliestCountSlot, earliestOnNode, insertEntry, type SlotNode } from '../../../operator/src/plan/index.js';
import { T0, MIN, entry } from './fixtures.js';

describe('operator plan: the node free earliest (heap)', () => {
  it('answers what a scan of every node answers, as bookings are placed one after another', () => {
    const calendar = fc.array(fc.record({ at: fc.integer({ min: -60, max: 600 }), len: fc.integer({ min: 1, max: 120 }) }), { maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(calendar, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 90 }),
        fc.array(fc.record({ prefer: fc.nat(), windows: fc.boolean() }), { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        (cals, durMin, bookings, windows) => {
          const nodes: SlotNode[] = cals.map((c, i) => {
            const entries: CalendarEntry[] = [];
            for (const { at, len } of c) {
              const e = entry(`x/${i}-${at}`, T0 + at * MIN, T0 + (at + len) * MIN);
              if (!entries.some((o) => o.start < e.end && e.start < o.end)) insertEntry(entries, e);
            }
            return { name: `n${i}`, entries, windows: windows && i % 2 ? [{ start: '08:30', end: '12:00' }] : undefined };
          });
          const dur = durMin * MIN;
          const version = new Map<string, number>();
          const heap = new EarliestFree(nodes, T0, dur, (n) => version.get(n) ?? 0);
          for (const [k, b] of bookings.entries()) {
            const prefer = b.prefer % 3 === 0 ? [nodes[b.prefer % nodes.length].name] : [];
            // the scan, in the planner's order: preferred nodes first, then by name
            const order = [...nodes.filter((n) => prefer.includes(n.name)), ...nodes.filter((n) => !prefer.includes(n.name))];
            const want = earliestCountSlot(order, 1, T0, dur);
            const got = heap.best(prefer);
            assert.deepEqual(got && { start: got.start, nodes: [got.node] }, want);
            if (!got) return;
            const n = nodes.find((x) => x.name === got.node)!;
            insertEntry(n.entries, entry(`b/${k}`, got.start, got.start + dur));
            version.set(n.name, (version.get(n.name) ?? 0) + 1);
            assert.notEqual(earliestOnNode(n, T0, dur), got.start, 'the placed booking took that slot');
          }
        },
      ),
      { numRuns: Number(process.env.KIWI_PROPERTY_RUNS ?? 300), seed: Number(process.env.KIWI_PROPERTY_SEED ?? 42) },
    );
  });
});
