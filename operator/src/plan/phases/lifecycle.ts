// Phase "lifecycle": every booking that already holds a slot, before the queue. Expired
// bookings hold nothing; cancelled, node-lost and timed-out bookings expire; Active bookings
// keep their entries, never moved, and a changed end (extend or shrink) is applied when the
// calendar allows, else refused naming the conflict; admitted reservations keep their slot.
//
// A begun slot (a Pending booking whose entry's start has passed by the clock the daemons
// follow: they let its user in) is an Active booking here, whatever edits came meanwhile: it is
// never moved to a later start or another node, only ended. What is left goes to the queue.
import type { BookingStatus, CalendarEntry } from '../../../../crds/api/pure.js';
import { setCondition } from '../../../../crds/api/pure.js';
import type { BookingView } from '../types.js';
import { timingOf } from '../admission.js';
import { firstConflict } from '../calendar.js';
import { describeWindows, fitsWindow } from '../../../../crds/api/windows.js';
import { activeStatus, bookingEvent, entriesOn, expire, gen, human, iso, keep, pauseDue, place, started, type Desired, type PassState } from '../pass.js';
import { immutableProblems } from '../immutable.js';
import { PoolBook } from '../pools.js';
import { extendReserve } from '../budget.js';

export function* lifecycle(s: PassState): Generator<void, void, void> {
  const { now } = s;
  const resizes: BookingView[] = [];
  const reservations: BookingView[] = [];
  for (const v0 of s.bookings) {
    if (pauseDue(s)) yield;
    const st0 = v0.booking.status ?? {};
    if (st0.phase === 'Expired') {
      keep(s, v0);
      continue;
    }
    const b = v0.booking;
    if (v0.invalid || !b.spec || typeof b.spec !== 'object') {
      // Written past kiwictl's validation: refuse rather than guess (and never throw); one that ran ends.
      const why = v0.invalid ?? 'spec is missing';
      if (st0.phase === 'Active') expire(s, v0, 'Cancelled', `ended: the stored booking is not valid any more: ${why}`, 'Warning');
      else expire(s, v0, 'Rejected', why, 'Warning');
      continue;
    }
    const begun = begunSlot(s, v0);
    const v = begun ?? v0; // a begun slot is planned as the Active booking it is
    const st = v.booking.status ?? {};
    if (b.spec.cancelled) {
      expire(s, v, 'Cancelled', st.phase === 'Active' ? `cancelled at ${human(now)}; the nodes are freed` : 'cancelled before it started');
      continue;
    }
    const lost = (st.phase === 'Active' ? st.nodes ?? [] : st.phase === 'Pending' ? b.spec.nodes ?? [] : []).filter((n) => !s.nodes.has(n));
    if (lost.length) {
      expire(s, v, 'NodeLost', `node ${lost.join(', ')} was deleted`, 'Warning');
      continue;
    }
    if (st.phase === 'Active') {
      const end = Date.parse(st.endTime!);
      if (gen(b) !== st.observedGeneration) {
        resizes.push(v);
        continue;
      }
      if (end <= now) {
        expire(s, v, 'TimeLimit', begun ? `its planned slot ${human(Date.parse(st.startTime!))} to ${human(end)} passed while no operator was running; the nodes' daemons held it for that time` : `ended at ${human(end)}`);
        continue;
      }
      const d = keep(s, v, entriesOn(s, v, st.nodes ?? [], Date.parse(st.startTime!), end));
      if (begun) started(s, d, st.nodes ?? [], Date.parse(st.startTime!), end);
      place(s, d.entries);
      continue;
    }
    if (st.phase === 'Pending' && gen(b) === st.observedGeneration && b.spec.start !== undefined && s.held.has(v.key)) {
      reservations.push(v);
      continue;
    }
    s.queue.push(v);
  }
  for (const v of resizes) {
    if (pauseDue(s)) yield;
    resize(s, v);
  }
  for (const v of reservations) reservation(s, v);
  s.queue.sort((a, b) => a.createRevision - b.createRevision || (a.key < b.key ? -1 : 1));
}

/**
 * A Pending booking whose held slot has begun, as the Active booking the daemons already made
 * it (status from the entries: the nodes, start and end the users were let in for); undefined
 * when it has not begun.
 */
export function begunSlot(s: PassState, v: BookingView): BookingView | undefined {
  const st = v.booking.status;
  if (st?.phase !== 'Pending') return undefined;
  const m = s.held.get(v.key);
  if (!m?.size) return undefined;
  const first = [...m.values()].flat().reduce((a, e) => (e.start < a.start ? e : a));
  if (first.start > s.now) return undefined;
  const nodes = [...m.keys()].sort();
  const status: BookingStatus = { ...activeStatus(v, nodes, first.start, first.end), observedGeneration: st.observedGeneration };
  return { ...v, booking: { ...v.booking, status } };
}

/** An Active booking whose spec changed: apply the new end if the calendar allows. */
function resize(s: PassState, v: BookingView): void {
  const { now, config } = s;
  const b = v.booking;
  const st = b.status!;
  const nodes = st.nodes ?? [];
  const start = Date.parse(st.startTime!);
  const end = Date.parse(st.endTime!);
  const begun = v.booking !== s.byKey.get(v.key)?.booking;
  const kept = (status: BookingStatus, events: Desired['events'], transition: string): void => {
    const d: Desired = { view: v, status, entries: entriesOn(s, v, nodes, start, end), events, transition };
    if (begun) d.events.unshift(bookingEvent(s, v, 'Normal', 'Started', `started on ${nodes.join(', ')} until ${human(end)}`));
    s.desired.set(v.key, d);
    place(s, d.entries);
  };
  const refuse = (why: string, condReason: string, type = 'ExtendRefused', what = 'extend refused') => {
    // Refused after its end passed (the change came while no operator led): it ended then, and
    // its successor may start; keeping it Active would show two Active bookings on a node.
    if (end <= now) {
      expire(s, v, 'TimeLimit', `ended at ${human(end)} (${what}: ${why})`);
      return;
    }
    const status: BookingStatus = {
      ...st,
      message: `${what}: ${why}; the booking still ends at ${human(end)}`,
      observedGeneration: gen(b),
      conditions: setCondition(st.conditions, { type, status: 'True', reason: condReason, message: why }, now),
    };
    kept(status, [bookingEvent(s, v, 'Warning', type, why)], type);
  };
  // Fields fixed when the booking was admitted: a change is refused, the booking goes on as it was.
  const fixed = immutableProblems(b, st, s.held.get(v.key));
  if (fixed.length) {
    refuse(fixed.join('; '), 'FieldImmutable', 'SpecRefused', 'change refused');
    return;
  }
  const t = timingOf(b, config, now);
  if (typeof t === 'string') {
    refuse(t, 'Invalid');
    return;
  }
  const newEnd = t.end ?? (t.start ?? start) + t.durationMs;
  if (newEnd === end) {
    if (end <= now) {
      expire(s, v, 'TimeLimit', `ended at ${human(end)}`);
      return;
    }
    kept({ ...st, observedGeneration: gen(b) }, [], begun ? 'Started' : '');
    return;
  }
  if (newEnd <= now || newEnd <= start) {
    expire(s, v, 'TimeLimit', `shortened to end at ${human(Math.max(newEnd, start))}`);
    return;
  }
  if (newEnd > end) {
    if (newEnd - start > config.maxDuration * 1000) {
      refuse(`a booking from ${human(start)} to ${human(newEnd)} is longer than the cluster's maxDuration ${config.maxDuration}s`, 'MaxDuration');
      return;
    }
    const byPool = s.input.pools?.length ? extendRule(s, v, start, end, newEnd) : undefined;
    if (byPool) {
      refuse(byPool.reason, byPool.plugin);
      return;
    }
    const outside = nodes.find((n) => !fitsWindow(s.nodes.get(n)?.node.spec?.reservableWindows, start, newEnd));
    if (outside) {
      refuse(`node ${outside} is bookable only within ${describeWindows(s.nodes.get(outside)!.node.spec!.reservableWindows!)}; ${human(start)} to ${human(newEnd)} does not fit one window`, 'Window');
      return;
    }
    for (const n of nodes) {
      const c = firstConflict(liveHeld(s, n, v.key), end, newEnd) ?? firstConflict(s.calendars.get(n) ?? [], end, newEnd, v.key);
      if (c) {
        refuse(`node ${n} is booked by ${c.booking} (user ${c.user}) from ${human(c.start)} to ${human(c.end)}, before the asked end ${human(newEnd)}`, 'Conflict');
        return;
      }
    }
    const unpaid = extendReserve(s, v, nodes, start, newEnd);
    if (unpaid) {
      refuse(unpaid, 'Budget');
      return;
    }
  }
  const status: BookingStatus = {
    ...st,
    endTime: iso(newEnd),
    message: `on ${nodes.join(', ')} until ${human(newEnd)}`,
    observedGeneration: gen(b),
    conditions: dropConditions(st.conditions, ['ExtendRefused', 'SpecRefused']),
  };
  if (!status.conditions) delete status.conditions;
  const word = newEnd > end ? 'Extended' : 'Shortened';
  const d: Desired = { view: v, status, entries: entriesOn(s, v, nodes, start, newEnd), events: [bookingEvent(s, v, 'Normal', word, `${word.toLowerCase()} from ${human(end)} to ${human(newEnd)}`)], transition: word };
  if (begun) d.events.unshift(bookingEvent(s, v, 'Normal', 'Started', `started on ${nodes.join(', ')} until ${human(newEnd)}`));
  s.desired.set(v.key, d);
  place(s, d.entries);
}

/** An admitted reservation keeps its slot (one that has begun was planned as Active). */
function reservation(s: PassState, v: BookingView): void {
  const m = s.held.get(v.key)!;
  const clash = [...m].some(([n, es]) => es.some((e) => firstConflict(s.calendars.get(n) ?? [], e.start, e.end, v.key)));
  if (clash) {
    s.queue.push(v); // cannot happen while the calendar is valid; re-place it like a new one
    return;
  }
  keep(s, v, m);
  place(s, m);
}

/** What other live bookings hold now on a node, for checking a resize: everything not expiring. */
function liveHeld(s: PassState, node: string, except: string): CalendarEntry[] {
  const out: CalendarEntry[] = [];
  for (const [key, m] of s.held) {
    if (key === except) continue;
    const d = s.desired.get(key);
    if (d && d.status.phase === 'Expired') continue;
    for (const e of m.get(node) ?? []) out.push(e);
  }
  return out.sort((a, b) => a.start - b.start);
}

function dropConditions(conds: BookingStatus['conditions'], types: string[]): BookingStatus['conditions'] {
  const l = (conds ?? []).filter((c) => !types.includes(c.type));
  return l.length ? l : undefined;
}

/** A pool's extend rules (extendWithin, maxExtend, maxDuration); lifecycle runs before phase pools, so its own book. */
function extendRule(s: PassState, v: BookingView, start: number, end: number, newEnd: number) {
  return new PoolBook(s.input.pools!, s.input, s.now).extendProblem(v, start, end, newEnd);
}
