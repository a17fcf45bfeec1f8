// The planner driven through random histories (fast-check) against an in-memory store that
// applies its actions the way the shell does (groups, chunks): every calendar value written is
// valid, at most one booking holds a node at a time, Active entries never move, a second
// plan right after changes nothing, nothing is left unanswered.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Booking, BookingStatus, CalendarEntry } from '../../../crds/api/index.js';
import { DEFAULT_CONFIG, DRAIN_ANNOTATION } from '../../../crds/api/index.js';
import { plan, groupActions, chunkGroup, packChunks, isValidCalendar, type BookingView, type CalendarView, type NodeView, type PlanInput, type Action } from '../../../operator/src/plan/index.js';
import { T0 } from './fixtures.js';

const NODES = ['n1', 'n2', 'n3'];

type Op =
  | { t: 'add'; nodes: string[]; count?: number; dur: number; queue: boolean; startIn?: number }
  | { t: 'cancel'; i: number }
  | { t: 'delete'; i: number }
  | { t: 'resize'; i: number; dur: number }
  | { t: 'tick'; s: number }
  | { t: 'node'; n: number; what: 'cordon' | 'uncordon' | 'NotReady' | 'Ready' | 'Draining' | 'window' | 'always' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('add' as const), nodes: fc.subarray(NODES, { minLength: 1 }), count: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), dur: fc.integer({ min: 1, max: 20 }).map((m) => m * 60), queue: fc.boolean(), startIn: fc.option(fc.integer({ min: 0, max: 60 }).map((m) => m * 60), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('resize' as const), i: fc.nat(), dur: fc.integer({ min: 1, max: 40 }).map((m) => m * 60) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('tick' as const), s: fc.integer({ min: 1, max: 900 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('node' as const), n: fc.nat(), what: fc.constantFrom('cordon' as const, 'uncordon' as const, 'NotReady' as const, 'Ready' as const, 'Draining' as const, 'window' as const, 'always' as const) }) },
);

class Sim {
  now = T0;
  rev = 1;
  bookings = new Map<string, BookingView>();
  calendars = new Map<string, CalendarView>();
  nodes = new Map<string, NodeView>(NODES.map((n) => [n, { node: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: n } }, statusRevision: 0, heartbeat: false }]));
  seq = 0;

  input(): PlanInput {
    return { now: this.now, config: DEFAULT_CONFIG, bookings: [...this.bookings.values()], nodes: this.nodes, calendars: this.calendars };
  }

  apply(op: Op): void {
    const keys = [...this.bookings.keys()];
    const pick = (i: number) => (keys.length ? this.bookings.get(keys[i % keys.length]) : undefined);
    switch (op.t) {
      case 'add': {
        const name = `b${++this.seq}`;
        const spec: Booking['spec'] = { user: 'u', queue: op.queue, duration: op.dur };
        if (op.count !== undefined) spec.count = op.count, spec.nodeSelector = {};
        else spec.nodes = op.nodes;
        if (op.startIn !== undefined) spec.start = new Date(this.now + op.startIn * 1000).toISOString();
        const r = ++this.rev;
        this.bookings.set(`u/${name}`, { key: `u/${name}`, booking: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: 'u', uid: `uid-${name}`, generation: 1 }, spec }, specRevision: r, statusRevision: 0, createRevision: r });
        break;
      }
      case 'cancel':
      case 'resize': {
        const v = pick(op.i);
        if (!v) return;
        const b = structuredClone(v.booking);
        if (op.t === 'cancel') b.spec.cancelled = true;
        else {
          b.spec.duration = op.dur;
          delete b.spec.start;
        }
        b.metadata.generation = (b.metadata.generation ?? 1) + 1;
        this.bookings.set(v.key, { ...v, booking: b, specRevision: ++this.rev });
        break;
      }
      case 'delete': {
        const v = pick(op.i);
        if (v) this.bookings.delete(v.key);
        break;
      }
      case 'tick':
        this.now += op.s * 1000;
        break;
      case 'node': {
        const name = NODES[op.n % NODES.length];
        const v = structuredClone(this.nodes.get(name)!);
        v.node.spec ??= {};
        if (op.what === 'cordon' || op.what === 'uncordon') {
          v.node.spec.unschedulable = op.what === 'cordon';
          if (op.what === 'uncordon') delete v.node.metadata.annotations; // takes a drain request back, as kiwictl does
        } else if (op.what === 'Draining') v.node.metadata.annotations = { [DRAIN_ANNOTATION]: 'simulated' }; // as kiwictl drain asks
        else if (op.what === 'window') v.node.spec.reservableWindows = [{ start: '08:00', end: '09:30' }, { start: '10:00', end: '12:00' }];
        else if (op.what === 'always') delete v.node.spec.reservableWindows;
        else v.node.status = { phase: op.what };
        this.nodes.set(name, v);
      }
    }
  }

  /** Writes actions as the reconciler does; checks every calendar value written. */
  write(actions: Action[]): void {
    const groups = groupActions(actions).map((g) => chunkGroup(g, this.calendars));
    const work = [...packChunks(groups.filter((g) => g.length === 1).map((g) => g[0])).map((c) => [c]), ...groups.filter((g) => g.length > 1)];
    for (const chunks of work) {
      for (const c of chunks) {
        assert.ok(c.valid, 'a chunk that would leave a calendar overlapping');
        const rev = ++this.rev;
        for (const [n, es] of c.calendars) {
          assert.ok(isValidCalendar(es), `calendar ${n} written overlapping: ${JSON.stringify(es)}`);
          this.calendars.set(n, { entries: es, modRevision: rev });
        }
        for (const a of c.actions) {
          if (a.kind === 'node') {
            const nv = this.nodes.get(a.name)!;
            this.nodes.set(a.name, { ...nv, node: { ...nv.node, status: a.status }, statusRevision: rev });
            continue;
          }
          if (!a.status) continue;
          const v = this.bookings.get(a.key);
          if (!v) continue;
          this.bookings.set(a.key, { ...v, booking: { ...v.booking, status: a.status }, statusRevision: rev });
        }
      }
    }
  }
}

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
              assert.ok(e && e.start === s, `${v.key} entry on ${n}`);
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
