// Pools over random histories (fast-check), through the in-memory store the other property
// tests use: an open default pool of every node without limits plans exactly what no pool
// plans (the old behaviour, at every step); and with a per-user limit of one node, under
// either fair order, no user ever holds two nodes at one moment and every invariant of the
// plain planner still holds (idempotent, no overlap).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Pool } from '../../../crds/api/index.js';
import { plan } from '../../../operator/src/plan/index.js';
import { Sim, opArb } from './sim.js';

const open: Pool = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'all' }, spec: { default: true } };
const runs = { numRuns: Number(process.env.KIWI_PROPERTY_RUNS ?? 150), seed: Number(process.env.KIWI_PROPERTY_SEED ?? 17) };

describe('operator plan: pools over random histories (property)', () => {
  it('an open default pool without limits plans exactly as no pool, at every step', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
        const sim = new Sim();
        for (const op of ops) {
          sim.apply(op);
          const without = plan(sim.input());
          assert.deepEqual(plan({ ...sim.input(), pools: [open] }), without);
          sim.write(without.actions);
        }
      }),
      runs,
    );
  });

  for (const order of ['FIFO', 'RoundRobin', 'FairShare'] as const) {
    it(`${order} with one node per user: no user holds two nodes at once; planning again changes nothing`, () => {
      const pool: Pool = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'p' }, spec: { default: true, order, limits: { perUser: { nodes: 1 } } } };
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.array(fc.constantFrom('alice', 'bob', 'carol'), { minLength: 30, maxLength: 30 }), (ops, who) => {
          const sim = new Sim();
          let i = 0;
          for (const op of ops) {
            sim.apply(op);
            // The sim books as one user; spread its bookings over three.
            for (const v of [...sim.bookings.values()]) if (v.key.startsWith('u/') && !v.booking.status) {
              const u = who[i++ % who.length];
              const key = `${u}/${v.booking.metadata.name}`;
              sim.setBooking(v.key, undefined);
              sim.setBooking(key, { ...v, key, booking: { ...v.booking, metadata: { ...v.booking.metadata, namespace: u }, spec: { ...v.booking.spec, user: u } } });
            }
            const inp = () => ({ ...sim.input(), pools: [pool] });
            sim.write(plan(inp()).actions);
            assert.deepEqual(plan(inp()).actions.map((a) => (a.kind === 'booking' ? `${a.key}:${a.transition}` : a.name)), []);
            // Per user, the entries of all their bookings never overlap in time (each booking holds one node at most here).
            const byUser = new Map<string, [number, number, number][]>();
            for (const c of sim.calendars.values()) for (const e of c.entries) {
              const l = byUser.get(e.user) ?? [];
              l.push([e.start, e.end, 1]);
              byUser.set(e.user, l);
            }
            for (const [u, l] of byUser) {
              for (const [s] of l) {
                const held = l.filter(([a, b]) => a <= s && s < b).length;
                assert.ok(held <= 1, `${u} holds ${held} nodes at ${new Date(s).toISOString()}`);
              }
            }
          }
        }),
        { ...runs, numRuns: Math.ceil(runs.numRuns / 3) },
      );
    });
  }
});
