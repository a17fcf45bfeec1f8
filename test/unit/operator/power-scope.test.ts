// Scoped passes with power saving on: planning the closure of a change, plus the nodes whose
// own power times have come (NodeWakes, as the reconciler keeps them), decides exactly what a
// whole pass decides, over random histories with heartbeats coming and going.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_POWER } from '../../../crds/api/index.js';
import type { Action } from '../../../operator/src/plan/index.js';
import { NodeWakes, plan } from '../../../operator/src/plan/index.js';
import { Sim, powerOpsOn } from './sim.js';

describe('operator scope with power saving: a scoped pass decides what a whole pass decides (property)', () => {
  const NAMES = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'c1'];
  const settings = { ...DEFAULT_POWER, enabled: true, idleTime: 60, bootTime: 120, resumeTimeout: 300, action: 'commands' as const, commands: { powerOff: ['/bin/off'], powerOn: ['/bin/on'], timeout: 60 } };
  const norm = (actions: Action[]) => actions.map((a) => JSON.stringify(a)).sort();

  it('over random histories of bookings, node changes, heartbeats and time', () => {
    let scoped = 0;
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(powerOpsOn(NAMES, ['a', 'b']), { minLength: 1, maxLength: 40 }), (ops) => {
        const sim = new Sim(NAMES, (n) => ({ rack: n[0] }), settings);
        const wakes = new NodeWakes();
        // The reconciler's first pass is whole: every node Ready, its idle time recorded.
        const first = plan(sim.input());
        wakes.planned(sim.names, first.nodeWakes);
        sim.write(first.actions);
        let plannedUpTo = sim.now;
        for (const op of ops) {
          const changed = sim.apply(op);
          const full = plan(sim.input());
          const scope = sim.index.components(changed.bookings, [...changed.nodes, ...sim.index.due(plannedUpTo, sim.now), ...wakes.due(sim.now)]);
          plannedUpTo = sim.now;
          if (scope) {
            scoped++;
            const planned = scope.map((p) => plan(sim.slice(p)));
            assert.deepEqual(norm(planned.flatMap((r) => r.actions)), norm(full.actions), `after ${JSON.stringify(op)}`);
          }
          for (const a of full.actions) if (a.kind === 'node') seen.add(a.transition);
          wakes.planned(sim.names, full.nodeWakes);
          sim.write(full.actions);
        }
      }),
      { numRuns: Number(process.env.KIWI_PROPERTY_RUNS ?? 200), seed: Number(process.env.KIWI_PROPERTY_SEED ?? 21) },
    );
    // The power cycle was exercised, or the comparison proved little about it.
    assert.ok(scoped > 500, `scoped ${scoped}`);
    for (const t of ['PoweringOff', 'Off', 'Resuming', 'Ready']) assert.ok(seen.has(t), `no ${t} transition in ${[...seen].join(', ')}`);
  });
});
