// The planner: plan(state, now) -> actions. Pure and deterministic: no I/O, no clock but
// input.now. It decides every booking's desired status and calendar entries from the whole
// state (level-triggered), and returns only what differs from what is stored.
//
// Order of decisions, which is what makes FIFO with backfill hold:
//   1. Expired bookings hold nothing; orphans (entries of deleted bookings) are removed.
//   2. Cancelled, timed out and node-lost bookings expire.
//   3. Active bookings keep their entries, never moved; a changed end (extend or shrink)
//      is applied when the calendar allows, else refused naming the conflict.
//   4. Admitted reservations (fixed start) keep theirs.
//   5. Everything else, in arrival order (create revision): new bookings are admitted,
//      then each is placed at the earliest slot where all its nodes are free. A later
//      booking can only take a gap an earlier one could not use: backfill that delays no one.
import type { Booking, BookingStatus, CalendarEntry, KiwiEvent, NodeStatus, Condition } from '../../../crds/api/index.js';
import { parseDuration, DRAIN_ANNOTATION, rfc3339, setCondition } from '../../../crds/api/index.js';
import { validateObject } from '../../../crds/api/validate.js';
import type { Action, BookingAction, BookingView, CalendarChange, NodeAction, PlanInput, PlanResult } from './types.js';
import { admit, timingOf, userOf } from './admission.js';
import { conflicts, earliestCommonSlot, earliestCountSlot, firstConflict, insertEntry, predecessor, type SlotNode } from './calendar.js';
import { filterNode, NodeSelectorMatch, rankNodes, type FilterRequest } from './filters.js';
import { EarliestFree } from './earliest.js';
import { describeWindows, fitsWindow } from './windows.js';

export const SOURCE = 'kiwi-operator';

/** The daemon drained the node because a cleanup failed: only fixing that brings it back. */
const cleanupFailed = (st: NodeStatus) => st.conditions?.some((c) => c.type === 'Cleaned' && c.status === 'False') ?? false;
/** How many holders a message names before "and N more". */
const NAME_AT_MOST = 5;

/** RFC 3339 with milliseconds: exactly the calendar's times. */
export const iso = (t: number) => new Date(t).toISOString();
/** For people: to the second. */
/** A time in messages: RFC 3339 seconds. */
export const human = rfc3339;

type Reason = NonNullable<BookingStatus['reason']>;

interface Desired {
  view: BookingView;
  status: BookingStatus;
  /** node -> this booking's entries there */
  entries: Map<string, CalendarEntry[]>;
  events: KiwiEvent[];
  transition: string;
  /** Force an action even if nothing differs (stale entries of an older uid to remove). */
  force?: boolean;
}

/** Steps (bookings, actions) between two pauses of planSteps outside the queue. */
const STEP = 500;

export function plan(input: PlanInput): PlanResult {
  const steps = planSteps(input);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The same plan, in steps: it pauses (yields) before each queued booking and every STEP other
 * steps, so that a caller with other work to do meanwhile (the operator keeping its election
 * lease alive) can do it in between.
 * Still pure: the input must not change while it is paused.
 */
export function* planSteps(input: PlanInput): Generator<void, PlanResult, void> {
  let step = 0;
  const { now, config } = input;
  const source = input.source ?? SOURCE;
  const bookings = [...input.bookings].sort((a, b) => a.createRevision - b.createRevision || (a.key < b.key ? -1 : 1));
  const byKey = new Map(bookings.map((b) => [b.key, b]));

  // What each live booking holds now, and the orphans (entries whose booking is gone or re-created).
  const held = new Map<string, Map<string, CalendarEntry[]>>();
  const orphans = new Map<string, { uid: string; nodes: Set<string> }[]>();
  const staleKeys = new Map<string, Set<string>>(); // live key -> nodes with entries of an older uid
  for (const [node, cal] of input.calendars) {
    for (const e of cal.entries) {
      const b = byKey.get(e.booking);
      if (!b) {
        const list = orphans.get(e.booking) ?? [];
        let o = list.find((x) => x.uid === e.uid);
        if (!o) list.push((o = { uid: e.uid, nodes: new Set() }));
        o.nodes.add(node);
        orphans.set(e.booking, list);
        continue;
      }
      if (b.booking.metadata.uid !== e.uid) {
        const s = staleKeys.get(b.key) ?? new Set<string>();
        s.add(node);
        staleKeys.set(b.key, s);
        continue;
      }
      const m = held.get(b.key) ?? new Map<string, CalendarEntry[]>();
      m.set(node, [...(m.get(node) ?? []), e]);
      held.set(b.key, m);
    }
  }

  // Node readiness from the heartbeat first: what is planned in this pass sees it.
  const nodeEvent = (name: string, type: KiwiEvent['type'], reason: string, message: string): KiwiEvent => ({ time: iso(now), kind: 'Node', name, type, reason, message, source });
  const readiness = new Map<string, NodeAction>();
  const nodeViews = new Map(input.nodes);
  for (const [name, nv] of input.nodes) {
    const st = nv.node.status ?? {};
    let next: NodeStatus | undefined;
    let ev: KiwiEvent | undefined;
    if (nv.heartbeat && (st.phase === undefined || st.phase === 'NotReady')) {
      next = { ...st, phase: 'Ready', conditions: setCondition(st.conditions, { type: 'Ready', status: 'True', reason: 'Heartbeat', message: 'the node daemon heartbeats' }, now) };
      delete next.message;
      ev = nodeEvent(name, 'Normal', 'NodeReady', `node ${name} is Ready: its daemon's heartbeat is back`);
    } else if (!nv.heartbeat && st.phase === 'Ready') {
      const why = "the node daemon's heartbeat stopped (its key is gone, or its value unchanged for longer than its TTL)";
      next = { ...st, phase: 'NotReady', message: why, conditions: setCondition(st.conditions, { type: 'Ready', status: 'False', reason: 'HeartbeatLost', message: why }, now) };
      ev = nodeEvent(name, 'Warning', 'NodeNotReady', `node ${name} is NotReady: ${why}`);
    }
    const events = ev ? [ev] : [];
    // An admin's drain request (kiwictl drain sets the annotation, uncordon removes it).
    const drain = nv.node.metadata.annotations?.[DRAIN_ANNOTATION];
    const cur = next ?? st;
    const draining = cur.phase === 'Draining' || cur.phase === 'Drained';
    if (drain !== undefined && !draining) {
      next = { ...cur, phase: 'Draining', message: `draining: ${drain || 'asked by an admin'}` };
      events.push(nodeEvent(name, 'Normal', 'Draining', `node ${name} is draining (${drain || 'asked by an admin'}): nothing new is planned on it`));
    } else if (drain === undefined && draining && !cleanupFailed(cur)) {
      // The drain was taken back; a drain the daemon set after a failed cleanup stays until it is fixed.
      // Back to what the heartbeat says; a node that never had a daemon goes back to no phase.
      const hadDaemon = cur.conditions?.some((c) => c.type === 'Ready') ?? false;
      next = { ...cur, phase: nv.heartbeat ? 'Ready' : hadDaemon ? 'NotReady' : undefined };
      if (next.phase === undefined) delete next.phase;
      delete next.message;
      events.push(nodeEvent(name, 'Normal', 'Undrained', `node ${name} is back in service${next.phase ? ` (${next.phase})` : ''}`));
    }
    if (!next) continue;
    readiness.set(name, { kind: 'node', name, statusRevision: nv.statusRevision, status: next, events, transition: next.phase ?? 'Undrained' });
    nodeViews.set(name, { ...nv, node: { ...nv.node, status: next } });
  }

  const desired = new Map<string, Desired>();
  const wc = new Map<string, CalendarEntry[]>(); // the working calendars being built
  const wcOf = (n: string) => {
    let l = wc.get(n);
    if (!l) wc.set(n, (l = []));
    return l;
  };
  const versions = new Map<string, number>(); // node -> entries placed on it in this pass
  const place = (entries: Map<string, CalendarEntry[]>) => {
    for (const [n, es] of entries) {
      for (const e of es) insertEntry(wcOf(n), e);
      versions.set(n, (versions.get(n) ?? 0) + 1);
    }
  };
  const event = (v: BookingView, type: KiwiEvent['type'], reason: string, message: string): KiwiEvent => ({
    time: iso(now), kind: 'Booking', namespace: v.booking.metadata.namespace, name: v.booking.metadata.name!, type, reason, message, source,
  });
  const gen = (b: Booking) => b.metadata.generation ?? 1;
  const entryFor = (v: BookingView, start: number, end: number): CalendarEntry => {
    // The user is the namespace of the booking's key and the uid etcd's (the cache decoded both from the key).
    const e: CalendarEntry = { booking: v.key, uid: v.booking.metadata.uid ?? '', user: userOf(v.booking), start, end };
    const es = v.booking.spec.endSignal;
    if (es) e.endSignal = { signal: es.signal, before: safeSeconds(es.before, 300) };
    return e;
  };
  const entriesOn = (v: BookingView, nodes: string[], start: number, end: number) =>
    new Map(nodes.map((n) => [n, [entryFor(v, start, end)]]));
  const keep = (v: BookingView, entries = new Map<string, CalendarEntry[]>()): Desired => {
    const d: Desired = { view: v, status: v.booking.status ?? {}, entries, events: [], transition: '' };
    desired.set(v.key, d);
    return d;
  };
  /** Places a booking's entries; when its slot has begun, it is Active from now on. */
  const placeAt = (v: BookingView, chosen: string[], start: number, end: number): Desired => {
    const entries = entriesOn(v, chosen, start, end);
    place(entries);
    const d = keep(v, entries);
    if (start <= now) {
      d.status = activeStatus(v, chosen, start, end);
      d.events.push(event(v, 'Normal', 'Started', `started on ${chosen.join(', ')} until ${human(end)}`));
      d.transition = 'Started';
    }
    return d;
  };

  const expire = (v: BookingView, reason: Reason, message: string, type: KiwiEvent['type'] = 'Normal') => {
    const st = v.booking.status ?? {};
    const status: BookingStatus = { ...st, phase: 'Expired', reason, message, observedGeneration: gen(v.booking) };
    delete status.waitingFor;
    if (st.phase === 'Active') {
      if (reason !== 'TimeLimit' && st.endTime && Date.parse(st.endTime) > now) status.endTime = iso(now);
    } else {
      delete status.startTime;
      delete status.endTime;
      if (reason === 'Rejected' || reason === 'Busy') delete status.nodes;
    }
    desired.set(v.key, { view: v, status, entries: new Map(), events: [event(v, type, reason, message)], transition: reason });
  };

  // 1-3: expired, ending and active bookings.
  const resizes: BookingView[] = [];
  const rest: BookingView[] = [];
  const reservations: BookingView[] = [];
  for (const v of bookings) {
    if (++step % STEP === 0) yield;
    const b = v.booking;
    const st = b.status ?? {};
    if (st.phase === 'Expired') {
      keep(v);
      continue;
    }
    if (v.invalid || !b.spec || typeof b.spec !== 'object') {
      // Written past kiwictl's validation: refuse rather than guess (and never throw); one that ran ends.
      const why = v.invalid ?? 'spec is missing';
      if (st.phase === 'Active') expire(v, 'Cancelled', `ended: the stored booking is not valid any more: ${why}`, 'Warning');
      else expire(v, 'Rejected', why, 'Warning');
      continue;
    }
    if (b.spec.cancelled) {
      expire(v, 'Cancelled', st.phase === 'Active' ? `cancelled at ${human(now)}; the nodes are freed` : 'cancelled before it started');
      continue;
    }
    const lost = (st.phase === 'Active' ? st.nodes ?? [] : st.phase === 'Pending' ? b.spec.nodes ?? [] : []).filter((n) => !nodeViews.has(n));
    if (lost.length) {
      expire(v, 'NodeLost', `node ${lost.join(', ')} was deleted`, 'Warning');
      continue;
    }
    if (st.phase === 'Active') {
      const end = Date.parse(st.endTime!);
      if (gen(b) !== st.observedGeneration) {
        resizes.push(v);
        continue;
      }
      if (end <= now) {
        expire(v, 'TimeLimit', `ended at ${human(end)}`);
        continue;
      }
      const d = keep(v, entriesOn(v, st.nodes ?? [], Date.parse(st.startTime!), end));
      place(d.entries);
      continue;
    }
    if (st.phase === 'Pending' && gen(b) === st.observedGeneration && b.spec.start !== undefined && held.has(v.key)) {
      reservations.push(v);
      continue;
    }
    rest.push(v);
  }

  // What other live bookings hold now, for checking a resize: everything not expiring.
  const liveHeld = (node: string, except: string): CalendarEntry[] => {
    const out: CalendarEntry[] = [];
    for (const [key, m] of held) {
      if (key === except) continue;
      const d = desired.get(key);
      if (d && d.status.phase === 'Expired') continue;
      for (const e of m.get(node) ?? []) out.push(e);
    }
    return out.sort((a, b) => a.start - b.start);
  };

  for (const v of resizes) {
    if (++step % STEP === 0) yield;
    const b = v.booking;
    const st = b.status!;
    const nodes = st.nodes ?? [];
    const start = Date.parse(st.startTime!);
    const end = Date.parse(st.endTime!);
    const t = timingOf(b, config, now);
    const refuse = (why: string, condReason: string) => {
      const status: BookingStatus = {
        ...st,
        message: `extend refused: ${why}; the booking still ends at ${human(end)}`,
        observedGeneration: gen(b),
        conditions: setCondition(st.conditions, { type: 'ExtendRefused', status: 'True', reason: condReason, message: why }, now),
      };
      const d: Desired = { view: v, status, entries: entriesOn(v, nodes, start, end), events: [event(v, 'Warning', 'ExtendRefused', why)], transition: 'ExtendRefused' };
      desired.set(v.key, d);
      place(d.entries);
    };
    if (typeof t === 'string') {
      if (end <= now) expire(v, 'TimeLimit', `ended at ${human(end)}`);
      else refuse(t, 'Invalid');
      continue;
    }
    const newEnd = t.end ?? (t.start ?? start) + t.durationMs;
    if (newEnd === end) {
      if (end <= now) {
        expire(v, 'TimeLimit', `ended at ${human(end)}`);
        continue;
      }
      const d = keep(v, entriesOn(v, nodes, start, end));
      d.status = { ...st, observedGeneration: gen(b) };
      place(d.entries);
      continue;
    }
    if (newEnd <= now || newEnd <= start) {
      expire(v, 'TimeLimit', `shortened to end at ${human(Math.max(newEnd, start))}`);
      continue;
    }
    if (newEnd > end) {
      if (newEnd - start > config.maxDuration * 1000) {
        refuse(`a booking from ${human(start)} to ${human(newEnd)} is longer than the cluster's maxDuration ${config.maxDuration}s`, 'MaxDuration');
        continue;
      }
      const outside = nodes.find((n) => !fitsWindow(nodeViews.get(n)?.node.spec?.reservableWindows, start, newEnd));
      if (outside) {
        refuse(`node ${outside} is bookable only within ${describeWindows(nodeViews.get(outside)!.node.spec!.reservableWindows!)}; ${human(start)} to ${human(newEnd)} does not fit one window`, 'Window');
        continue;
      }
      let clash: { node: string; e: CalendarEntry } | undefined;
      for (const n of nodes) {
        const c = firstConflict(liveHeld(n, v.key), end, newEnd) ?? firstConflict(wc.get(n) ?? [], end, newEnd, v.key);
        if (c) {
          clash = { node: n, e: c };
          break;
        }
      }
      if (clash) {
        refuse(`node ${clash.node} is booked by ${clash.e.booking} (user ${clash.e.user}) from ${human(clash.e.start)} to ${human(clash.e.end)}, before the asked end ${human(newEnd)}`, 'Conflict');
        continue;
      }
    }
    const status: BookingStatus = {
      ...st,
      endTime: iso(newEnd),
      message: `on ${nodes.join(', ')} until ${human(newEnd)}`,
      observedGeneration: gen(b),
      conditions: dropCondition(st.conditions, 'ExtendRefused'),
    };
    if (!status.conditions) delete status.conditions;
    const word = newEnd > end ? 'Extended' : 'Shortened';
    const d: Desired = { view: v, status, entries: entriesOn(v, nodes, start, newEnd), events: [event(v, 'Normal', word, `${word.toLowerCase()} from ${human(end)} to ${human(newEnd)}`)], transition: word };
    desired.set(v.key, d);
    place(d.entries);
  }

  // 4: admitted reservations keep their slot; they start when it comes.
  for (const v of reservations) {
    const m = held.get(v.key)!;
    const first = [...m.values()][0][0];
    const clash = [...m].some(([n, es]) => es.some((e) => firstConflict(wc.get(n) ?? [], e.start, e.end, v.key)));
    if (clash) {
      rest.push(v); // cannot happen while the calendar is valid; re-place it like a new one
      continue;
    }
    if (first.end <= now) {
      expire(v, 'TimeLimit', `its reserved slot ${human(first.start)} to ${human(first.end)} passed`);
      continue;
    }
    const d = keep(v, m);
    if (first.start <= now) {
      const nodes = [...m.keys()].sort();
      d.status = activeStatus(v, nodes, first.start, first.end);
      d.events.push(event(v, 'Normal', 'Started', `started on ${nodes.join(', ')} until ${human(first.end)}`));
      d.transition = 'Started';
    }
    place(m);
  }
  rest.sort((a, b) => a.createRevision - b.createRevision || (a.key < b.key ? -1 : 1));

  function activeStatus(v: BookingView, nodes: string[], start: number, end: number): BookingStatus {
    const st = v.booking.status ?? {};
    const s: BookingStatus = { phase: 'Active', reason: 'Started', message: `on ${nodes.join(', ')} until ${human(end)}`, nodes, startTime: iso(start), endTime: iso(end), observedGeneration: gen(v.booking) };
    if (st.conditions?.length) s.conditions = st.conditions;
    return s;
  }

  // 5: the queue, in arrival order.
  const finalize: (() => void)[] = [];
  const candidates = new Map<string, { cands: string[]; set: Set<string>; matching: number; why: string[]; free?: EarliestFree }>();
  const sortedNodes = [...nodeViews.keys()].sort();
  const slotCache = new Map<string, SlotNode>();
  for (const v of rest) {
    yield; // a booking free to go on any node can cost a scan of every node: pause before each
    const b = v.booking;
    const st = b.status ?? {};
    const isNew = !st.phase || gen(b) !== st.observedGeneration;
    const reject = (why: string) => expire(v, 'Rejected', why, 'Warning');
    const t = timingOf(b, config, now);
    if (typeof t === 'string') {
      if (isNew) reject(t);
      else keep(v);
      continue;
    }
    if (isNew) {
      const invalid = schemaProblem(b);
      if (invalid) {
        reject(invalid);
        continue;
      }
      const why = admit(b, t, { now, config, users: input.users });
      if (why) {
        reject(why);
        continue;
      }
    }
    const req: FilterRequest = { booking: b, durationMs: t.durationMs, now };
    const wait = (why: string) => {
      const status: BookingStatus = { phase: 'Pending', reason: 'Queued', message: `waits: ${why}`, observedGeneration: gen(b) };
      if (b.spec.nodes) status.nodes = b.spec.nodes;
      if (st.conditions?.length) status.conditions = st.conditions;
      const d = keep(v);
      d.status = status;
      if (st.phase !== 'Pending' || st.message !== status.message) {
        d.events.push(event(v, 'Normal', 'Queued', status.message!));
        d.transition = 'Waiting';
      }
    };

    // Candidate nodes.
    let cands: string[];
    // The candidates in preference order (StayPut): sorting them all is a cost per booking, so
    // only when the order matters; `inCands` without a scan.
    let ranked = () => cands;
    let inCands = (n: string) => cands.includes(n);
    let free: (() => EarliestFree) | undefined;
    const current = new Set(held.get(v.key)?.keys() ?? []);
    if (b.spec.nodes) {
      const bad = b.spec.nodes.map((n) => filterNode(req, n, nodeViews.get(n))).filter(Boolean);
      if (bad.length) {
        if (isNew) reject(bad.join('; '));
        else wait(bad.join('; '));
        continue;
      }
      cands = b.spec.nodes;
    } else {
      const count = b.spec.count ?? 1;
      // The filters depend only on the selector and the duration: once per pass for each pair.
      const memoKey = `${JSON.stringify(b.spec.nodeSelector ?? {})}|${t.durationMs}`;
      let m = candidates.get(memoKey);
      if (!m) {
        const found = { cands: [] as string[], set: new Set<string>(), matching: 0, why: [] as string[] };
        for (const n of sortedNodes) {
          // Nodes the selector leaves out are not counted or named, whatever else is wrong with them.
          if (NodeSelectorMatch.check(req, n, nodeViews.get(n))) continue;
          found.matching++;
          const w = filterNode(req, n, nodeViews.get(n));
          if (!w) found.cands.push(n), found.set.add(n);
          else found.why.push(w);
        }
        candidates.set(memoKey, (m = found));
      }
      cands = m.cands;
      const why = m.why;
      const matching = { length: m.matching };
      if (cands.length < count) {
        const sel = Object.entries(b.spec.nodeSelector ?? {}).map(([k, x]) => `${k}=${x}`).join(',') || '(any)';
        const msg = `${count} node(s) matching nodeSelector ${sel} asked, ${matching.length} match and ${cands.length} can be booked${why.length ? ` (${clip(why)})` : ''}`;
        if (isNew) reject(msg);
        else wait(msg);
        continue;
      }
      const memo = m;
      ranked = () => rankNodes(req, memo.cands, current);
      inCands = (n) => memo.set.has(n);
      // Nodes that gain entries get a new version, so the heap re-checks them (see earliest.ts).
      free = () => (memo.free ??= new EarliestFree(slotNodes(memo.cands), now, t.durationMs, (n) => versions.get(n) ?? 0));
    }
    const slotNodes = (names: string[]): SlotNode[] =>
      names.map((n) => {
        // One per node per pass: its entries are the working calendar itself, which grows in place.
        let sn = slotCache.get(n);
        if (!sn) slotCache.set(n, (sn = { name: n, entries: wcOf(n), windows: nodeViews.get(n)?.node.spec?.reservableWindows }));
        return sn;
      });

    // A fixed slot: a reservation (start), or "until end" starting now.
    if (t.start !== undefined || t.end !== undefined) {
      const admitted = !isNew && st.startTime !== undefined;
      const s = t.start ?? (admitted ? Date.parse(st.startTime!) : now);
      const e = t.end ?? s + t.durationMs;
      let chosen: string[] | undefined;
      let why = '';
      const check = (n: string) => {
        const ws = nodeViews.get(n)?.node.spec?.reservableWindows;
        if (!fitsWindow(ws, s, e)) return `node ${n} is bookable only within ${describeWindows(ws!)}; ${human(s)} to ${human(e)} does not fit one window`;
        const c = firstConflict(wc.get(n) ?? [], s, e);
        return c ? `node ${n} is booked by ${c.booking} (user ${c.user}) from ${human(c.start)} to ${human(c.end)}` : '';
      };
      if (b.spec.nodes) {
        for (const n of cands) if (!why) why = check(n);
        if (!why) chosen = cands;
      } else {
        const ok: string[] = [];
        for (const n of ranked()) {
          const w = check(n);
          if (!w) ok.push(n);
          else if (!why) why = w;
          if (ok.length === (b.spec.count ?? 1)) break;
        }
        if (ok.length === (b.spec.count ?? 1)) chosen = ok.sort();
      }
      if (!chosen) {
        reject(`the slot ${human(s)} to ${human(e)} is not free: ${why}`);
        continue;
      }
      const d = placeAt(v, chosen, s, e);
      if (s > now) {
        d.status = { phase: 'Pending', reason: 'Scheduled', message: `reserved ${chosen.join(', ')} from ${human(s)} to ${human(e)}`, nodes: chosen, startTime: iso(s), endTime: iso(e), observedGeneration: gen(b) };
        if (st.phase !== 'Pending' || st.startTime !== iso(s)) {
          d.events.push(event(v, 'Normal', 'Scheduled', d.status.message!));
          d.transition = 'Scheduled';
        }
      }
      continue;
    }

    // Queued: the earliest slot.
    // A planned start that has come keeps its time when its nodes are still free from then: the
    // daemons go by the calendar, so that is when the user got in (a pass runs late, or the
    // operator was away). No drift down the queue, no second slot for what already ran.
    const planned = !isNew && st.phase === 'Pending' && st.startTime && st.nodes?.length ? Date.parse(st.startTime) : undefined;
    let start: number | undefined;
    let chosen: string[] = [];
    if (planned !== undefined && planned <= now && st.nodes!.every(inCands) && (b.spec.nodes || st.nodes!.length === (b.spec.count ?? 1))) {
      if (earliestCommonSlot(slotNodes(st.nodes!), planned, t.durationMs) === planned) [start, chosen] = [planned, [...st.nodes!]];
    }
    if (start === undefined && b.spec.nodes) {
      start = earliestCommonSlot(slotNodes(cands), now, t.durationMs);
      chosen = cands;
    } else if (start === undefined && (b.spec.count ?? 1) === 1 && free) {
      const r = free().best([...current].filter(inCands).sort());
      if (r) [start, chosen] = [r.start, [r.node]];
    } else if (start === undefined) {
      const r = earliestCountSlot(slotNodes(ranked()), b.spec.count ?? 1, now, t.durationMs);
      if (r) ({ start, nodes: chosen } = { start: r.start, nodes: [...r.nodes].sort() });
    }
    if (start === undefined) {
      const msg = `no slot of ${t.durationMs / 1000}s fits the reservable windows of the nodes within the next 400 days`;
      if (isNew) reject(msg);
      else wait(msg);
      continue;
    }
    const end = start + t.durationMs;
    if (start > now && b.spec.queue === false && isNew) {
      const holders: string[] = [];
      for (const n of chosen) for (const c of conflicts(wc.get(n) ?? [], now, start)) holders.push(`node ${n} is held by ${c.booking} (user ${c.user}) until ${human(c.end)}`);
      const msg = holders.length ? `cannot start now and queue is false: ${clip(holders)}` : `cannot start now and queue is false: the nodes' reservable windows open at ${human(start)}`;
      expire(v, 'Busy', msg, 'Warning');
      continue;
    }
    if (end <= now) {
      // Its whole planned slot passed while no operator ran; the daemons gave it that slot.
      expire(v, 'TimeLimit', `its planned slot ${human(start)} to ${human(end)} passed while no operator was running; the nodes' daemons held it for that time`);
      Object.assign(desired.get(v.key)!.status, { nodes: chosen, startTime: iso(start), endTime: iso(end) });
      continue;
    }
    const d = placeAt(v, chosen, start, end);
    if (start <= now) continue;
    // What it waits for is known once everything is placed (a later reservation may come before it).
    const slot = { start, end, chosen };
    finalize.push(() => {
      const preds = slot.chosen.flatMap((n) => {
        const p = predecessor(wc.get(n) ?? [], slot.start, now);
        return p ? [{ node: n, booking: p.booking, user: p.user, until: iso(p.end) }] : [];
      });
      const who = preds.map((p) => `${p.booking} (user ${p.user}) on ${p.node} until ${human(Date.parse(p.until))}`);
      const status: BookingStatus = {
        phase: 'Pending',
        reason: preds.length ? 'Queued' : 'Scheduled',
        message: preds.length ? `starts ${human(slot.start)}, after ${clip(who)}` : `starts ${human(slot.start)}, when the nodes' reservable windows open`,
        nodes: slot.chosen,
        startTime: iso(slot.start),
        endTime: iso(slot.end),
        observedGeneration: gen(b),
      };
      if (preds.length) status.waitingFor = preds;
      if (st.conditions?.length) status.conditions = st.conditions;
      d.status = status;
      if (st.phase !== 'Pending' || !st.startTime) {
        d.events.push(event(v, 'Normal', 'Queued', status.message!));
        d.transition = 'Queued';
      } else if (st.startTime !== status.startTime) {
        d.events.push(event(v, 'Normal', 'Rescheduled', `planned start moved from ${human(Date.parse(st.startTime))} to ${human(slot.start)}`));
        d.transition = 'Rescheduled';
      }
    });
  }
  for (const f of finalize) {
    if (++step % STEP === 0) yield;
    f();
  }

  // The actions: what differs from what is stored.
  const actions: Action[] = [];
  for (const [key, d] of desired) {
    if (++step % STEP === 0) yield;
    const v = d.view;
    const cur = held.get(key) ?? new Map<string, CalendarEntry[]>();
    const nodes = new Set([...cur.keys(), ...d.entries.keys(), ...(staleKeys.get(key) ?? [])]);
    const calendar: CalendarChange[] = [];
    for (const n of [...nodes].sort()) { // by name: the same actions whatever order the calendars came in
      const want = d.entries.get(n) ?? [];
      if (!sameEntries(cur.get(n) ?? [], want) || staleKeys.get(key)?.has(n)) calendar.push({ node: n, entries: want });
    }
    // Most bookings keep the very status object they have: no need to compare it.
    const statusChanged = d.status !== v.booking.status && !sameStored(d.status, v.booking.status ?? {});
    if (!statusChanged && calendar.length === 0 && d.events.length === 0) continue;
    const a: BookingAction = {
      kind: 'booking', key, namespace: v.booking.metadata.namespace!, name: v.booking.metadata.name!,
      specRevision: v.specRevision, statusRevision: v.statusRevision,
      status: statusChanged ? d.status : undefined, calendar, events: d.events, transition: d.transition || (calendar.length ? 'Calendar' : 'Status'),
    };
    actions.push(a);
  }
  for (const [key, list] of orphans) {
    const [namespace, name] = key.split('/');
    for (const o of list) {
      actions.push({
        kind: 'booking', key, namespace, name, specRevision: 0, statusRevision: 0,
        calendar: [...o.nodes].sort().map((n) => ({ node: n, entries: [], onlyUid: o.uid })),
        events: [{ time: iso(now), kind: 'Booking', namespace, name, type: 'Normal', reason: 'Cancelled', message: `deleted; its entries on ${[...o.nodes].sort().join(', ')} were removed`, source }],
        transition: 'Cancelled',
      });
    }
  }

  // Drains that are done (no entry covers now).
  for (const [name, nv] of nodeViews) {
    const st = nv.node.status ?? {}; // as this pass leaves it (readiness and drain requests applied)
    const ready = readiness.get(name);
    if (st.phase !== 'Draining' || (wc.get(name) ?? []).some((e) => e.start <= now && now < e.end)) {
      if (ready) actions.push(ready);
      continue;
    }
    const status: NodeStatus = { ...st, phase: 'Drained', message: 'drained: no booking holds it' };
    const events = [...(ready?.events ?? []), nodeEvent(name, 'Normal', 'Drained', `node ${name} is drained: no booking holds it`)];
    actions.push({ kind: 'node', name, statusRevision: nv.statusRevision, status, events, transition: 'Drained' });
  }

  // When next to look again: a planned start or an end.
  let nextWake: number | undefined;
  for (const es of wc.values()) {
    for (const e of es) {
      for (const t of [e.start, e.end]) if (t > now && (nextWake === undefined || t < nextWake)) nextWake = t;
    }
  }
  return { actions, nextWake };
}

/** The booking against its CRD schema (kiwictl checks this too; a spec written around it is refused here). */
function schemaProblem(b: Booking): string {
  try {
    validateObject({ apiVersion: b.apiVersion, kind: b.kind, metadata: b.metadata, spec: b.spec }, 'spec');
    return '';
  } catch (e) {
    return (e as Error).message.replace(/^spec: /, 'invalid: ');
  }
}

function sameEntries(a: CalendarEntry[], b: CalendarEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.start !== y.start || x.end !== y.end || x.uid !== y.uid || x.booking !== y.booking || x.user !== y.user) return false;
    if (x.endSignal?.signal !== y.endSignal?.signal || x.endSignal?.before !== y.endSignal?.before) return false;
  }
  return true;
}

function clip(items: string[]): string {
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


export function dropCondition(conds: Condition[] | undefined, type: string): Condition[] | undefined {
  const l = (conds ?? []).filter((c) => c.type !== type);
  return l.length ? l : undefined;
}

/** Deep equality of two values as they would be stored (JSON): a key whose value is undefined is no key. */
export function sameStored(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameStored(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const kx = Object.keys(x).filter((k) => x[k] !== undefined);
  const ky = Object.keys(y).filter((k) => y[k] !== undefined);
  return kx.length === ky.length && kx.every((k) => Object.prototype.hasOwnProperty.call(y, k) && sameStored(x[k], y[k]));
}


/** Plans a tiny state once, so that the schema validator is compiled before the first real pass. */
export function warmUp(): void {
  const now = Date.now();
  const booking: BookingView = {
    key: 'warm/up', specRevision: 1, statusRevision: 0, createRevision: 1,
    booking: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'up', namespace: 'warm', uid: 'u', generation: 1 }, spec: { user: 'warm', nodes: ['n'], duration: 60 } },
  };
  plan({
    now, config: { admins: [], sshBypassUsers: [], minUid: 1000, defaultDuration: 3600, maxDuration: 86400, killWaitSeconds: 10, pamFailMode: 'closed', warnBefore: [], clockSkewSeconds: 2, userLimits: { bookings: 1000, bytes: 1 << 20 } },
    bookings: [booking], nodes: new Map([['n', { node: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n' } }, statusRevision: 0, heartbeat: false }]]), calendars: new Map(),
  });
}
