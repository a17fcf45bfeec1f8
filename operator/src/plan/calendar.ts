// Calendar operations: pure. A calendar's entries are sorted by start and never overlap;
// every function here keeps it so or says why not.
import type { CalendarEntry } from '../../../crds/api/pure.js';
import { nextWindowFit, type Window } from '../../../crds/api/windows.js';

/** Two half-open ranges [a, b) and [c, d) overlap. */
export const overlaps = (a: number, b: number, c: number, d: number) => a < d && c < b;

/** The first pair of overlapping entries, or undefined when the calendar is valid. */
export function findOverlap(entries: CalendarEntry[]): [CalendarEntry, CalendarEntry] | undefined {
  const sorted = [...entries].sort((x, y) => x.start - y.start || x.end - y.end);
  for (let i = 1; i < sorted.length; i++) if (sorted[i].start < sorted[i - 1].end) return [sorted[i - 1], sorted[i]];
  for (const e of sorted) if (!(e.end > e.start)) return [e, e];
  return undefined;
}

export function isValidCalendar(entries: CalendarEntry[]): boolean {
  if (findOverlap(entries)) return false;
  for (let i = 1; i < entries.length; i++) if (entries[i].start < entries[i - 1].start) return false;
  return true;
}

/** Index of the first entry whose end is after t (entries sorted and disjoint, so ends are sorted). */
function firstEndingAfter(entries: CalendarEntry[], t: number): number {
  return partitionPoint(entries.length, (i) => entries[i].end > t);
}

/** The first index in [0, length) where `holds` is true, for a predicate false then true along it (length when none). */
export function partitionPoint(length: number, holds: (i: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (holds(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The first entry overlapping [start, end), ignoring those of booking `except`. */
export function firstConflict(entries: CalendarEntry[], start: number, end: number, except?: string): CalendarEntry | undefined {
  for (let i = firstEndingAfter(entries, start); i < entries.length && entries[i].start < end; i++) {
    if (entries[i].booking !== except) return entries[i];
  }
  return undefined;
}

/** Every entry overlapping [start, end), ignoring those of booking `except`. */
export function conflicts(entries: CalendarEntry[], start: number, end: number, except?: string): CalendarEntry[] {
  const out: CalendarEntry[] = [];
  for (let i = firstEndingAfter(entries, start); i < entries.length && entries[i].start < end; i++) {
    if (entries[i].booking !== except) out.push(entries[i]);
  }
  return out;
}

/** The entry holding the node just before `t` (ending at or before t, latest), if any ends after `from`. */
export function predecessor(entries: CalendarEntry[], t: number, from: number): CalendarEntry | undefined {
  let best: CalendarEntry | undefined;
  for (const e of entries) if (e.end <= t && e.end > from && (!best || e.end > best.end)) best = e;
  return best;
}

/** Inserts keeping the order; the caller has checked that it is free. */
export function insertEntry(entries: CalendarEntry[], e: CalendarEntry): void {
  let i = entries.length;
  while (i > 0 && entries[i - 1].start > e.start) i--;
  entries.splice(i, 0, e);
}

/** Entries without those of `booking` (and, when given, only those with `uid`). */
export function withoutBooking(entries: CalendarEntry[], booking: string, uid?: string): CalendarEntry[] {
  return entries.filter((e) => !(e.booking === booking && (uid === undefined || e.uid === uid)));
}

export interface SlotNode {
  name: string;
  entries: CalendarEntry[];
  windows?: Window[];
  /** Nothing starts before this (epoch ms): the node is off and needs its boot time. */
  from?: number;
}

/**
 * The earliest s >= notBefore at which [s, s + dur) is free on one node and inside one of its
 * windows; undefined when no window can hold it within the horizon.
 */
export function earliestOnNode(n: SlotNode, notBefore: number, dur: number): number | undefined {
  let s = n.from !== undefined && n.from > notBefore ? n.from : notBefore;
  for (let guard = 0; guard < 100_000; guard++) {
    const c = firstConflict(n.entries, s, s + dur);
    if (c) {
      s = c.end;
      continue;
    }
    const w = nextWindowFit(n.windows, s, dur);
    if (w === undefined) return undefined;
    if (w === s) return s;
    s = w;
  }
  return undefined;
}

/** The earliest slot where every node is free at once (explicit nodes). */
export function earliestCommonSlot(nodes: SlotNode[], notBefore: number, dur: number): number | undefined {
  let s = notBefore;
  for (let guard = 0; guard < 100_000; guard++) {
    let moved = false;
    for (const n of nodes) {
      const e = earliestOnNode(n, s, dur);
      if (e === undefined) return undefined;
      if (e > s) {
        s = e;
        moved = true;
      }
    }
    if (!moved) return s;
  }
  return undefined;
}

/**
 * The earliest slot where `count` of the candidate nodes are free at once, and which nodes:
 * among those free then, the candidates come in the order given (the caller's score order).
 */
export function earliestCountSlot(cands: SlotNode[], count: number, notBefore: number, dur: number): { start: number; nodes: string[] } | undefined {
  if (count === 1) {
    // One node: the one free earliest (the first in the given order among equals).
    let best: { start: number; nodes: string[] } | undefined;
    for (const n of cands) {
      const e = earliestOnNode(n, notBefore, dur);
      if (e !== undefined && (!best || e < best.start)) best = { start: e, nodes: [n.name] };
      if (best && best.start === notBefore) break;
    }
    return best;
  }
  let t = notBefore;
  for (let guard = 0; guard < 10_000; guard++) {
    const ready: number[] = [];
    const freeNow: string[] = [];
    for (const n of cands) {
      const e = earliestOnNode(n, t, dur);
      if (e === undefined) continue;
      if (e === t) {
        freeNow.push(n.name);
        if (freeNow.length === count) return { start: t, nodes: freeNow };
      }
      ready.push(e);
    }
    if (ready.length < count) return undefined;
    ready.sort((a, b) => a - b);
    const next = ready[count - 1];
    if (next <= t) return undefined; // cannot happen: fewer than count were free at t
    t = next;
  }
  return undefined;
}
