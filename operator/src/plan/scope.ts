// Which part of the cluster a change can affect, so that a pass plans that part alone.
//
// The planner is level-triggered over whatever state it is given. Two bookings interact only
// through nodes: the calendars they share and the nodes either may be placed on. So a change
// can alter decisions only inside its closure under "booking refers to node": the changed
// bookings and nodes, every node those bookings refer to, every booking referring to those
// nodes, and so on. Planning that closure alone decides exactly what a whole pass decides for
// it, and a whole pass would change nothing outside it (test/unit/operator/scope.test.ts checks
// this against whole passes over random histories).
//
// A booking refers to the nodes it names (spec.nodes, status.nodes) and to the nodes whose
// calendars hold its entries. A booking that may still go anywhere (count and nodeSelector,
// not started) also refers to every node its selector matches; with no selector that is every
// node, and the pass is whole (undefined). An Active one with count + nodeSelector on a node that
// may have failed (healing may move it there, phases/heal.ts) refers to every node its selector
// matches, and each of those to it. Expired bookings name nothing: they only keep what
// they hold until it is removed.
//
// Time is a change too: an entry's start or end coming makes its node part of the next pass
// (due()), and nextTime() says when that is.
import type { Booking, CalendarEntry, Node } from '../../../crds/api/pure.js';
import { DRAIN_ANNOTATION, fromMap, matches, type Requirement } from '../../../crds/api/pure.js';
import { partitionPoint } from './calendar.js';

export interface Scope {
  bookings: Set<string>;
  nodes: Set<string>;
}

interface FloatingGroup {
  selector: Requirement[];
  keys: Set<string>;
}

export class RefIndex {
  /** booking -> nodes its spec or status names */
  private readonly names = new Map<string, Set<string>>();
  /** node -> bookings naming it */
  private readonly namedOn = new Map<string, Set<string>>();
  /** booking -> nodes whose calendars hold its entries */
  private readonly holds = new Map<string, Set<string>>();
  /** node -> bookings with entries in its calendar */
  private readonly heldOn = new Map<string, Set<string>>();
  /** Bookings free to go on any node their selector matches, grouped by selector. */
  private readonly floating = new Map<string, FloatingGroup>();
  private readonly floatingOf = new Map<string, string>();
  /** Every node that exists, with its labels. */
  private readonly labels = new Map<string, Record<string, string> | undefined>();
  /** Nodes that may have failed (nodeMayHaveFailed): an Active selector booking on one may move to any match. */
  private readonly failing = new Set<string>();
  /** Active bookings with count + nodeSelector: key -> selector (healing may move them, phases/heal.ts). */
  private readonly activeSel = new Map<string, Requirement[]>();
  /** node -> the starts and ends in its calendar, sorted, without repeats */
  private readonly times = new Map<string, number[]>();

  /** A booking was written (or deleted: undefined). `key` is namespace/name. */
  setBooking(key: string, b: Booking | undefined): void {
    const phase = b?.status?.phase;
    const named = new Set<string>();
    if (b && phase !== 'Expired') {
      for (const n of b.spec?.nodes ?? []) named.add(n);
      for (const n of b.status?.nodes ?? []) named.add(n);
    }
    relink(this.names, this.namedOn, key, named);
    if (b && phase === 'Active' && typeof b.spec === 'object' && b.spec !== null && !b.spec.nodes) this.activeSel.set(key, fromMap(b.spec.nodeSelector));
    else this.activeSel.delete(key);

    const oldGroup = this.floatingOf.get(key);
    const free = b !== undefined && phase !== 'Expired' && phase !== 'Active' && typeof b.spec === 'object' && b.spec !== null && !b.spec.nodes;
    const group = free ? JSON.stringify(b!.spec.nodeSelector ?? {}) : undefined;
    if (oldGroup === group) return;
    if (oldGroup !== undefined) {
      const g = this.floating.get(oldGroup)!;
      g.keys.delete(key);
      if (g.keys.size === 0) this.floating.delete(oldGroup);
      this.floatingOf.delete(key);
    }
    if (group !== undefined) {
      let g = this.floating.get(group);
      if (!g) this.floating.set(group, (g = { selector: fromMap(b!.spec.nodeSelector), keys: new Set() }));
      g.keys.add(key);
      this.floatingOf.set(key, group);
    }
  }

  /** A node's calendar was written (or deleted: undefined). */
  setCalendar(node: string, entries: CalendarEntry[] | undefined): void {
    const now = new Set((entries ?? []).map((e) => e.booking));
    const before = this.heldOn.get(node) ?? new Set<string>();
    for (const k of before) if (!now.has(k)) unlink(this.holds, k, node);
    for (const k of now) if (!before.has(k)) link(this.holds, k, node);
    if (now.size) this.heldOn.set(node, now);
    else this.heldOn.delete(node);
    const ts = [...new Set((entries ?? []).flatMap((e) => [e.start, e.end]))].sort((a, b) => a - b);
    if (ts.length) this.times.set(node, ts);
    else this.times.delete(node);
  }

  /** A node was written (or deleted: undefined). */
  setNode(name: string, labels: Record<string, string> | undefined, exists = true, failing = false): void {
    if (exists) this.labels.set(name, labels);
    else this.labels.delete(name);
    if (exists && failing) this.failing.add(name);
    else this.failing.delete(name);
  }

  /**
   * The closure of what changed, cut into the parts that share nothing, so that each can be
   * planned on its own (a pass plans them one after another and lets other work run in
   * between). Undefined when one part is everything (a booking free to go on any node is in it).
   */
  components(changedBookings: Iterable<string>, changedNodes: Iterable<string>): Scope[] | undefined {
    const seen: Scope = { bookings: new Set(), nodes: new Set() };
    const expanded = new Set<string>();
    const parts: Scope[] = [];
    // Active selector bookings on nodes that may have failed (few): they and every node their selector matches go together.
    const healing = new Map<string, Requirement[]>();
    for (const n of this.failing) {
      for (const k of [...(this.namedOn.get(n) ?? []), ...(this.heldOn.get(n) ?? [])]) {
        const sel = this.activeSel.get(k);
        if (sel) healing.set(k, sel);
      }
    }
    const seed = (qb: string[], qn: string[]): boolean => {
      const part: Scope = { bookings: new Set(), nodes: new Set() };
      if (!this.grow(qb, qn, part, seen, expanded, healing)) return false;
      if (part.bookings.size || part.nodes.size) parts.push(part);
      return true;
    };
    for (const k of changedBookings) if (!seen.bookings.has(k) && !seed([k], [])) return undefined;
    for (const n of changedNodes) if (!seen.nodes.has(n) && !seed([], [n])) return undefined;
    return parts;
  }

  /** Adds to `part` what the queues reach and `seen` has not had yet; false when that is everything. */
  private grow(qb: string[], qn: string[], part: Scope, seen: Scope, expanded: Set<string>, healing: Map<string, Requirement[]>): boolean {
    /** A floating group is in: all its bookings and every node its selector matches. */
    const expand = (sel: string): boolean => {
      if (expanded.has(sel)) return true;
      expanded.add(sel);
      const g = this.floating.get(sel)!;
      if (g.selector.length === 0) return false;
      for (const k of g.keys) qb.push(k);
      for (const [n, l] of this.labels) if (matches(g.selector, l)) qn.push(n);
      return true;
    };
    while (qb.length || qn.length) {
      while (qb.length) {
        const k = qb.pop()!;
        if (seen.bookings.has(k)) continue;
        seen.bookings.add(k);
        part.bookings.add(k);
        for (const n of this.names.get(k) ?? []) qn.push(n);
        for (const n of this.holds.get(k) ?? []) qn.push(n);
        const sel = this.floatingOf.get(k);
        if (sel !== undefined && !expand(sel)) return false;
        // On a node that may have failed: every node its selector matches may take that one's place.
        const as = healing.get(k);
        if (as) for (const [n, l] of this.labels) if (matches(as, l)) qn.push(n);
      }
      while (qn.length) {
        const n = qn.pop()!;
        if (seen.nodes.has(n)) continue;
        seen.nodes.add(n);
        part.nodes.add(n);
        for (const k of this.namedOn.get(n) ?? []) qb.push(k);
        for (const k of this.heldOn.get(n) ?? []) qb.push(k);
        if (!this.labels.has(n)) continue; // a node that does not exist is no candidate
        for (const [k, sel] of healing) if (!seen.bookings.has(k) && matches(sel, this.labels.get(n))) qb.push(k);
        for (const [sel, g] of this.floating) {
          if (!expanded.has(sel) && matches(g.selector, this.labels.get(n)) && !expand(sel)) return false;
        }
      }
    }
    return true;
  }

  /** Nodes whose calendars have a start or an end in (since, now]. */
  due(since: number, now: number): string[] {
    const out: string[] = [];
    for (const [n, ts] of this.times) {
      const t = ts[firstAfter(ts, since)];
      if (t !== undefined && t <= now) out.push(n);
    }
    return out;
  }

  /** The earliest start or end after `now` in any calendar. */
  nextTime(now: number): number | undefined {
    let next: number | undefined;
    for (const ts of this.times.values()) {
      const t = ts[firstAfter(ts, now)];
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }
}

/**
 * Might healing move bookings off this node (phases/heal.ts decides, with the grace period)?
 * NotReady, draining or drained, or asked to drain: the index widens such bookings' scope.
 */
export function nodeMayHaveFailed(n: Node): boolean {
  const p = n.status?.phase;
  return p === 'NotReady' || p === 'Draining' || p === 'Drained' || n.metadata.annotations?.[DRAIN_ANNOTATION] !== undefined;
}

/**
 * Nodes that need a pass at times of their own, not calendar times (power saving: a wake
 * bootTime before a start, the end of an idle time, a resume timeout), as the planner returned
 * them (PlanResult.nodeWakes). A pass that plans a node replaces what was known of it.
 */
export class NodeWakes {
  private readonly at = new Map<string, number>();

  /** A pass planned these nodes and returned these wakes. */
  planned(nodes: Iterable<string>, wakes: Map<string, number> | undefined): void {
    for (const n of nodes) this.at.delete(n);
    for (const [n, t] of wakes ?? []) this.at.set(n, t);
  }

  clear(): void {
    this.at.clear();
  }

  /** Nodes whose time has come. */
  due(now: number): string[] {
    return [...this.at].filter(([, t]) => t <= now).map(([n]) => n);
  }

  /** The earliest time known. */
  next(): number | undefined {
    let m: number | undefined;
    for (const t of this.at.values()) if (m === undefined || t < m) m = t;
    return m;
  }
}

/** Index of the first element > x in a sorted array (its length when none). */
const firstAfter = (ts: number[], x: number) => partitionPoint(ts.length, (i) => ts[i] > x);

function link(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function unlink(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/** Sets `forward[key]` to `to` and keeps `reverse` (value -> keys) in step. */
function relink(forward: Map<string, Set<string>>, reverse: Map<string, Set<string>>, key: string, to: Set<string>): void {
  const before = forward.get(key) ?? new Set<string>();
  for (const v of before) if (!to.has(v)) unlink(reverse, v, key);
  for (const v of to) if (!before.has(v)) link(reverse, v, key);
  if (to.size) forward.set(key, to);
  else forward.delete(key);
}
