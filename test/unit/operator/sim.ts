// An in-memory store for driving the planner through random histories: it applies the
// actions the way the reconciler does (groups, chunks) and keeps a RefIndex in step with every
// write, as the operator's cache does.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Booking, EffectiveConfig, Ledger, PowerSettings, UsageRecord } from '../../../crds/api/index.js';
import { allocationMilli, DEFAULT_CONFIG, DRAIN_ANNOTATION, encodeLedger, usageRecordOf } from '../../../crds/api/index.js';
import { groupActions, chunkGroup, packChunks, isValidCalendar, RefIndex, nodeMayHaveFailed, type AccountView, type BookingView, type CalendarView, type NodeView, type PlanInput, type Action, type Scope } from '../../../operator/src/plan/index.js';
import { T0 } from './fixtures.js';

export const NODES = ['n1', 'n2', 'n3'];

export type Op =
  | { t: 'add'; nodes: string[]; count?: number; rack?: string; dur: number; queue: boolean; startIn?: number }
  | { t: 'cancel'; i: number }
  | { t: 'delete'; i: number }
  | { t: 'resize'; i: number; dur: number }
  | { t: 'tick'; s: number }
  | { t: 'node'; n: number; what: 'cordon' | 'uncordon' | 'NotReady' | 'Ready' | 'Draining' | 'window' | 'always' }
  /** A machine's daemon heartbeats or stops (power saving: it went down, or booted). */
  | { t: 'beat'; n: number; on: boolean };

/** Random changes to a cluster of these nodes; a count booking asks for a rack when racks are given. */
export const opsOn = (nodes: string[], racks: string[] = []): fc.Arbitrary<Op> => fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('add' as const), nodes: fc.subarray(nodes, { minLength: 1, maxLength: 3 }), count: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), rack: racks.length ? fc.option(fc.constantFrom(...racks), { nil: undefined, freq: 8 }) : fc.constant(undefined), dur: fc.integer({ min: 1, max: 20 }).map((m) => m * 60), queue: fc.boolean(), startIn: fc.option(fc.integer({ min: 0, max: 60 }).map((m) => m * 60), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('resize' as const), i: fc.nat(), dur: fc.integer({ min: 1, max: 40 }).map((m) => m * 60) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('tick' as const), s: fc.integer({ min: 1, max: 900 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('node' as const), n: fc.nat(), what: fc.constantFrom('cordon' as const, 'uncordon' as const, 'NotReady' as const, 'Ready' as const, 'Draining' as const, 'window' as const, 'always' as const) }) },
);
export const opArb = opsOn(NODES);

/** The same with heartbeats coming and going, for power saving. */
export const powerOpsOn = (nodes: string[], racks: string[] = []): fc.Arbitrary<Op> => fc.oneof(
  { weight: 6, arbitrary: opsOn(nodes, racks) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('beat' as const), n: fc.nat(), on: fc.boolean() }) },
);

/** What a change touched, as the cache's watch would report it. */
export interface Changed {
  bookings: string[];
  nodes: string[];
}

export class Sim {
  now = T0;
  rev = 1;
  bookings = new Map<string, BookingView>();
  calendars = new Map<string, CalendarView>();
  nodes: Map<string, NodeView>;
  /** Kept in step with every write, as the operator's cache keeps it. */
  index = new RefIndex();
  seq = 0;
  /** Accounting: accounts with their ledgers as written, and the usage record of every booking that became Expired. */
  accounts = new Map<string, AccountView>();
  records = new Map<string, UsageRecord>();
  config: EffectiveConfig = DEFAULT_CONFIG;

  /** `labels` gives a node its labels (none by default). */
  /** `power`: plan with power saving on, the nodes' daemons heartbeating from the start. */
  constructor(readonly names: string[] = NODES, labels: (n: string) => Record<string, string> | undefined = () => undefined, readonly power?: PowerSettings) {
    this.nodes = new Map(names.map((n) => [n, { node: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: n, labels: labels(n) } }, statusRevision: 0, heartbeat: power !== undefined }]));
    for (const [n, v] of this.nodes) this.index.setNode(n, v.node.metadata.labels, true, nodeMayHaveFailed(v.node));
  }

  /** Only the part of the state a scope covers, as the reconciler gives it to the planner. */
  slice(scope: Scope): PlanInput {
    const nodes = new Map([...scope.nodes].filter((n) => this.nodes.has(n)).map((n) => [n, this.nodes.get(n)!]));
    const calendars = new Map([...scope.nodes].filter((n) => this.calendars.has(n)).map((n) => [n, this.calendars.get(n)!]));
    const bookings = [...scope.bookings].filter((k) => this.bookings.has(k)).map((k) => this.bookings.get(k)!);
    return { ...this.input(), bookings, nodes, calendars };
  }

  setBooking(key: string, v: BookingView | undefined): void {
    if (v) this.bookings.set(key, v);
    else this.bookings.delete(key);
    this.index.setBooking(key, v?.booking);
  }

  input(): PlanInput {
    const input: PlanInput = { now: this.now, config: this.config, bookings: [...this.bookings.values()], nodes: this.nodes, calendars: this.calendars, ...(this.accounts.size ? { accounts: new Map(this.accounts) } : {}) };
    if (!this.power) return input;
    // The rates' sliding minute over the whole cluster, as the reconciler counts it.
    const recent = (f: 'lastOffTime' | 'lastOnTime') => [...this.nodes.values()].map((v) => Date.parse(v.node.status?.power?.[f] ?? '')).filter((t) => t > this.now - 60_000);
    return { ...input, power: { settings: this.power, recentOff: recent('lastOffTime'), recentOn: recent('lastOnTime') } };
  }

  apply(op: Op): Changed {
    const changed: Changed = { bookings: [], nodes: [] };
    const keys = [...this.bookings.keys()];
    const pick = (i: number) => (keys.length ? this.bookings.get(keys[i % keys.length]) : undefined);
    switch (op.t) {
      case 'add': {
        const name = `b${++this.seq}`;
        const spec: Booking['spec'] = { user: 'u', queue: op.queue, duration: op.dur };
        if (op.count !== undefined) spec.count = op.count, spec.nodeSelector = op.rack ? { rack: op.rack } : {};
        else spec.nodes = op.nodes;
        if (op.startIn !== undefined) spec.start = new Date(this.now + op.startIn * 1000).toISOString();
        const r = ++this.rev;
        changed.bookings.push(`u/${name}`);
        this.setBooking(`u/${name}`, { key: `u/${name}`, booking: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: 'u', uid: `uid-${name}`, generation: 1 }, spec }, specRevision: r, statusRevision: 0, createRevision: r });
        break;
      }
      case 'cancel':
      case 'resize': {
        const v = pick(op.i);
        if (!v) return changed;
        const b = structuredClone(v.booking);
        if (op.t === 'cancel') b.spec.cancelled = true;
        else {
          b.spec.duration = op.dur;
          delete b.spec.start;
        }
        b.metadata.generation = (b.metadata.generation ?? 1) + 1;
        this.setBooking(v.key, { ...v, booking: b, specRevision: ++this.rev });
        changed.bookings.push(v.key);
        break;
      }
      case 'delete': {
        const v = pick(op.i);
        if (v) this.setBooking(v.key, undefined), changed.bookings.push(v.key);
        break;
      }
      case 'tick':
        this.now += op.s * 1000;
        break;
      case 'beat': {
        const name = this.names[op.n % this.names.length];
        const v = this.nodes.get(name)!;
        if (v.heartbeat === op.on) break;
        this.nodes.set(name, { ...v, heartbeat: op.on });
        changed.nodes.push(name);
        break;
      }
      case 'node': {
        const name = this.names[op.n % this.names.length];
        const v = structuredClone(this.nodes.get(name)!);
        v.node.spec ??= {};
        if (op.what === 'cordon' || op.what === 'uncordon') {
          v.node.spec.unschedulable = op.what === 'cordon';
          if (op.what === 'uncordon') delete v.node.metadata.annotations; // takes a drain request back, as kiwictl does
        } else if (op.what === 'Draining') v.node.metadata.annotations = { [DRAIN_ANNOTATION]: 'simulated' }; // as kiwictl drain asks
        else if (op.what === 'window') v.node.spec.reservableWindows = [{ start: '08:00', end: '09:30' }, { start: '10:00', end: '12:00' }];
        else if (op.what === 'always') delete v.node.spec.reservableWindows;
        // NotReady as the readiness phase leaves it (Ready=False since now): past the grace its bookings are healed.
        else if (op.what === 'NotReady') v.node.status = { phase: 'NotReady', conditions: [{ type: 'Ready', status: 'False', reason: 'HeartbeatLost', lastTransitionTime: new Date(this.now).toISOString().replace('.000Z', 'Z') }] };
        else v.node.status = { phase: op.what };
        this.nodes.set(name, v);
        this.index.setNode(name, v.node.metadata.labels, true, nodeMayHaveFailed(v.node));
        changed.nodes.push(name);
      }
    }
    return changed;
  }

  /** Writes actions as the reconciler does; checks every calendar value written. */
  write(actions: Action[]): void {
    const ledgers = new Map<string, Ledger>();
    for (const [n, av] of this.accounts) if (av.ledger) ledgers.set(n, av.ledger);
    const groups = groupActions(actions).map((g) => chunkGroup(g, this.calendars, undefined, ledgers));
    const work = [...packChunks(groups.filter((g) => g.length === 1).map((g) => g[0])).map((c) => [c]), ...groups.filter((g) => g.length > 1)];
    for (const chunks of work) {
      for (const c of chunks) {
        assert.ok(c.valid, 'a chunk that would leave a calendar overlapping');
        const rev = ++this.rev;
        for (const [n, es] of c.calendars) {
          assert.ok(isValidCalendar(es), `calendar ${n} written overlapping: ${JSON.stringify(es)}`);
          this.calendars.set(n, { entries: es, modRevision: rev });
          this.index.setCalendar(n, es);
        }
        for (const [n, l] of c.ledgers) {
          const av = this.accounts.get(n)!;
          this.accounts.set(n, { account: { ...av.account, status: encodeLedger(l, allocationMilli(av.account)) }, statusRevision: rev, ledger: l });
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
          this.setBooking(a.key, { ...v, booking: { ...v.booking, status: a.status }, statusRevision: rev });
          const r = usageRecordOf({ ...v.booking, status: a.status }, v.createRevision);
          if (r && !this.records.has(`${a.key}.${v.createRevision}`)) this.records.set(`${a.key}.${v.createRevision}`, r);
        }
      }
    }
  }
}

