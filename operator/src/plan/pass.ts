// The state of one planning pass, which every phase reads and adds to, and the few moves
// phases share (placing entries, keeping or expiring a booking). Pure: input.now is the only
// clock. A phase is a generator over this state; it yields where a caller may pause it.
import type { Booking, BookingStatus, CalendarEntry, EffectiveConfig, KiwiEvent } from '../../../crds/api/pure.js';
import { parseDuration, poolFor, rfc3339 } from '../../../crds/api/pure.js';
import type { Action, BookingView, NodeAction, NodeView, PlanInput } from './types.js';
import { insertEntry } from './calendar.js';
import { userOf } from './admission.js';
import type { PoolBook } from './pools.js';
import { newBudget, type Budget } from './budget.js';

export const SOURCE = 'kiwi-operator';

/** RFC 3339 with milliseconds: exactly the calendar's times. */
export const iso = (t: number) => new Date(t).toISOString();
/** A time in messages: RFC 3339 seconds. */
export const human = rfc3339;

export type Reason = NonNullable<BookingStatus['reason']>;

/** What the pass decided for one booking. */
export interface Desired {
  view: BookingView;
  status: BookingStatus;
  /** node -> this booking's entries there */
  entries: Map<string, CalendarEntry[]>;
  events: KiwiEvent[];
  transition: string;
}

export interface PassState {
  readonly input: PlanInput;
  readonly now: number;
  readonly config: EffectiveConfig;
  readonly source: string;
  /** Live bookings in arrival order (create revision). */
  readonly bookings: BookingView[];
  readonly byKey: Map<string, BookingView>;
  /** What each live booking holds now: key -> node -> entries (phase held). */
  readonly held: Map<string, Map<string, CalendarEntry[]>>;
  /** Entries of deleted (or re-created) bookings: key -> [{uid, nodes}] (phase held). */
  readonly orphans: Map<string, { uid: string; nodes: Set<string> }[]>;
  /** Live key -> nodes holding entries of an older uid of it (phase held). */
  readonly staleKeys: Map<string, Set<string>>;
  /** The nodes as this pass leaves them (readiness and drain requests applied). */
  readonly nodes: Map<string, NodeView>;
  /** Node status changes decided by this pass. */
  readonly nodeActions: Map<string, NodeAction>;
  /** Every live booking's decision, once a phase has made it. */
  readonly desired: Map<string, Desired>;
  /** The calendars being built: every kept or placed entry, per node, sorted by start. */
  readonly calendars: Map<string, CalendarEntry[]>;
  /** node -> how many times entries were placed on it (EarliestFree re-checks a node that grew). */
  readonly versions: Map<string, number>;
  /** Bookings left for placement (the queue), in arrival order. */
  readonly queue: BookingView[];
  /** Work to do once everything is placed (what a queued booking waits for). */
  readonly finalize: (() => void)[];
  actions: Action[];
  nextWake?: number;
  /** With Pool objects: what users and groups hold in each pool (phase pools). */
  pools?: PoolBook;
  /** node -> when it needs a pass of its own (power saving). */
  readonly nodeWakes: Map<string, number>;
  /** Steps taken, for pausing every STEP. */
  step: number;
  /** Accounting: the working ledgers (budget.ts). */
  readonly budget: Budget;
}

/** Steps (bookings, actions) between two pauses outside the queue. */
export const STEP = 500;

export function newPass(input: PlanInput): PassState {
  const bookings = [...input.bookings].sort(byArrival);
  return {
    input, now: input.now, config: input.config, source: input.source ?? SOURCE,
    bookings, byKey: new Map(bookings.map((b) => [b.key, b])),
    held: new Map(), orphans: new Map(), staleKeys: new Map(),
    nodes: new Map(input.nodes), nodeActions: new Map(),
    desired: new Map(), calendars: new Map(), versions: new Map(),
    queue: [], finalize: [], actions: [], step: 0, nodeWakes: new Map(),
    budget: newBudget(input),
  };
}

export const byArrival = (a: BookingView, b: BookingView) => a.createRevision - b.createRevision || (a.key < b.key ? -1 : 1);

/** True every STEP steps: the phase yields there. */
export const pauseDue = (s: PassState) => ++s.step % STEP === 0;

export const gen = (b: Booking) => b.metadata.generation ?? 1;

/** The working calendar of a node (created empty). */
export function calendarOf(s: PassState, n: string): CalendarEntry[] {
  let l = s.calendars.get(n);
  if (!l) s.calendars.set(n, (l = []));
  return l;
}

/** Adds entries to the working calendars (the caller has checked they are free). */
export function place(s: PassState, entries: Map<string, CalendarEntry[]>): void {
  for (const [n, es] of entries) {
    const cal = calendarOf(s, n);
    for (const e of es) insertEntry(cal, e);
    s.versions.set(n, (s.versions.get(n) ?? 0) + 1);
  }
}

export function bookingEvent(s: PassState, v: BookingView, type: KiwiEvent['type'], reason: string, message: string): KiwiEvent {
  return { time: iso(s.now), kind: 'Booking', namespace: v.booking.metadata.namespace, name: v.booking.metadata.name!, type, reason, message, source: s.source };
}

export function nodeEvent(s: PassState, name: string, type: KiwiEvent['type'], reason: string, message: string): KiwiEvent {
  return { time: iso(s.now), kind: 'Node', name, type, reason, message, source: s.source };
}

export function entryFor(s: PassState, v: BookingView, start: number, end: number): CalendarEntry {
  // The user is the namespace of the booking's key and the uid etcd's (the cache decoded both from the key).
  const e: CalendarEntry = { booking: v.key, uid: v.booking.metadata.uid ?? '', user: userOf(v.booking), start, end };
  const es = v.booking.spec.endSignal;
  if (es) e.endSignal = { signal: es.signal, before: safeSeconds(es.before, 300) };
  // Idle release (spec.idleRelease, else its pool's, else the cluster's default): the daemons measure the user's activity.
  const pool = s.input.pools?.length ? poolFor(s.input.pools, v.booking.spec.pool) : undefined;
  if (v.booking.spec.idleRelease ?? pool?.spec?.idleRelease ?? s.config.idleRelease.enabled) {
    const { after, warnBefore, cpuPercent } = s.config.idleRelease;
    e.idle = { after, warnBefore: Math.min(warnBefore, after), cpuPercent };
  }
  return e;
}

/**
 * The booking's entries on `nodes`, each from `start` to `end`, except on a node that took a
 * failed one's place (status.replacements): there it starts when the replacement was made.
 */
export const entriesOn = (s: PassState, v: BookingView, nodes: string[], start: number, end: number) =>
  new Map(nodes.map((n) => [n, [entryFor(s, v, Math.max(start, replacedAt(v, n) ?? start), end)]]));

/** When node `n` took a failed node's place in this booking (the last such replacement), if it did. */
export function replacedAt(v: BookingView, n: string): number | undefined {
  const r = v.booking.status?.replacements?.filter((x) => x.by === n).pop();
  const t = r ? Date.parse(r.time) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

/** Takes a booking's entries off the working calendars (of `nodes`, default all it was given). */
export function unplace(s: PassState, d: Desired, nodes: string[] = [...d.entries.keys()]): void {
  d.entries = new Map(d.entries); // it may be what the booking holds (phase held's map), which diff compares with
  for (const n of nodes) {
    const cal = s.calendars.get(n);
    if (cal) for (let i = cal.length - 1; i >= 0; i--) if (cal[i].booking === d.view.key) cal.splice(i, 1);
    d.entries.delete(n);
    s.versions.set(n, (s.versions.get(n) ?? 0) + 1);
  }
}

/**
 * Asks for a pass over `nodes` (and what shares them) at `t`, the earliest asked for winning
 * (PlanResult.nodeWakes): a time the calendars do not hold, that a pass scoped to what is due
 * would not see (a failed node's grace ends, idle release's warning and end).
 */
export function wakeNodes(s: PassState, nodes: Iterable<string>, t: number): void {
  if (t <= s.now) return;
  for (const n of nodes) s.nodeWakes.set(n, Math.min(t, s.nodeWakes.get(n) ?? Infinity));
}

/** Records a decision that keeps the booking's status (phases then change it). */
export function keep(s: PassState, v: BookingView, entries = new Map<string, CalendarEntry[]>()): Desired {
  const d: Desired = { view: v, status: v.booking.status ?? {}, entries, events: [], transition: '' };
  s.desired.set(v.key, d);
  return d;
}

export function activeStatus(v: BookingView, nodes: string[], start: number, end: number): BookingStatus {
  const st = v.booking.status ?? {};
  const out: BookingStatus = { phase: 'Active', reason: 'Started', message: `on ${nodes.join(', ')} until ${human(end)}`, nodes, startTime: iso(start), endTime: iso(end), observedGeneration: gen(v.booking) };
  if (st.conditions?.length) out.conditions = st.conditions;
  return out;
}

/** Marks a decision as the booking's start. */
export function started(s: PassState, d: Desired, nodes: string[], start: number, end: number): void {
  d.status = activeStatus(d.view, nodes, start, end);
  d.events.push(bookingEvent(s, d.view, 'Normal', 'Started', `started on ${nodes.join(', ')} until ${human(end)}`));
  d.transition = 'Started';
}

/** Places a booking's entries; when its slot has begun, it is Active from now on. */
export function placeAt(s: PassState, v: BookingView, chosen: string[], start: number, end: number): Desired {
  const entries = entriesOn(s, v, chosen, start, end);
  place(s, entries);
  const d = keep(s, v, entries);
  if (start <= s.now) started(s, d, chosen, start, end);
  return d;
}

/**
 * Ends a booking: it holds nothing from now on. Its record says when its user really held the
 * nodes: an Active booking that ends before its planned end ended now (whatever the reason), a
 * booking that never started keeps no times.
 */
export function expire(s: PassState, v: BookingView, reason: Reason, message: string, type: KiwiEvent['type'] = 'Normal'): Desired {
  const st = v.booking.status ?? {};
  const status: BookingStatus = { ...st, phase: 'Expired', reason, message, observedGeneration: gen(v.booking) };
  delete status.waitingFor;
  if (st.phase === 'Active') {
    if (st.endTime && Date.parse(st.endTime) > s.now) status.endTime = iso(s.now);
  } else {
    delete status.startTime;
    delete status.endTime;
    if (reason === 'Rejected' || reason === 'Busy') delete status.nodes;
  }
  const d: Desired = { view: v, status, entries: new Map(), events: [bookingEvent(s, v, type, reason, message)], transition: reason };
  s.desired.set(v.key, d);
  return d;
}

/** How many holders a message names before "and N more". */
const NAME_AT_MOST = 5;

export function clip(items: string[]): string {
  const uniq = [...new Set(items)];
  return uniq.length <= NAME_AT_MOST ? uniq.join('; ') : `${uniq.slice(0, NAME_AT_MOST).join('; ')} and ${uniq.length - NAME_AT_MOST} more`;
}

function safeSeconds(v: number | string | undefined, d: number): number {
  if (v === undefined) return d;
  try {
    return parseDuration(v);
  } catch {
    return d;
  }
}
