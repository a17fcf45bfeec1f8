// The planner driven through random histories (fast-check) against an in-memory store that
// applies its actions the way the shell does (groups, chunks): every calendar value written is
// valid, at most one booking holds a node at a time, Active entries never move, a second
// plan right after changes nothing, nothing is left unanswered.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BookingStatus, CalendarEntry } from '../../../crds/api/index.js';
import { plan } from '../../../operator/src/plan/index.js';
import { Sim, opArb } from './sim.js';

describe('operator plan: random histories (property)', () => {
  it('keeps the invariants', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const sim = new Sim();
        const activeStart = new Map<string, number>();
        for (const op of ops) {
          sim.apply(op);
          const r = plan(sim.input());
          sim.write(r.actions);
          // Idempotent: planning again at the same now changes nothing.
          const again = plan(sim.input());
          assert.deepEqual(again.actions.map((a) => (a.kind === 'booking' ? `${a.key}:${a.transition}` : a.name)), []);
          // Everything answered; Active ones hold their nodes now and never moved their start.
          const holding = new Map<string, string>();
          for (const v of sim.bookings.values()) {
            const st = v.booking.status as BookingStatus | undefined;
            assert.ok(st?.phase, `${v.key} unanswered`);
            if (st.phase === 'Pending' && st.startTime) assert.ok(Date.parse(st.startTime) > sim.now, `${v.key} Pending with a start that has come`);
            if (st.phase !== 'Active') continue;
            const s = Date.parse(st.startTime!);
            assert.ok(s <= sim.now && sim.now < Date.parse(st.endTime!), `${v.key} Active outside its time`);
            if (activeStart.has(v.key)) assert.equal(activeStart.get(v.key), s, `${v.key} Active entry moved`);
            activeStart.set(v.key, s);
            for (const n of st.nodes!) {
              assert.ok(!holding.has(n), `${n} held by ${holding.get(n)} and ${v.key}`);
              holding.set(n, v.key);
              const e = sim.calendars.get(n)!.entries.find((x: CalendarEntry) => x.booking === v.key);
              // A node that took a failed one's place holds it from the replacement on.
              const r = st.replacements?.filter((x) => x.by === n).pop();
              assert.ok(e && e.start === (r ? Date.parse(r.time) : s), `${v.key} entry on ${n}`);
            }
          }
          // No entry of a booking that is gone or expired.
          for (const [n, c] of sim.calendars) {
            for (const e of c.entries) {
              const v = sim.bookings.get(e.booking);
              assert.ok(v && v.booking.status?.phase !== 'Expired', `stale entry of ${e.booking} on ${n}`);
            }
          }
        }
      }),
      { numRuns: Number(process.env.KIWI_PROPERTY_RUNS ?? 300), seed: Number(process.env.KIWI_PROPERTY_SEED ?? 42) },
    );
  });
});
