// Reservable windows: daily hours in which a node may be booked (Node spec.reservableWindows).
// Pure: windows and a time range in, intervals in epoch milliseconds out; the planner (which
// refuses and places by them) and the calendar page (which draws them) share this one reading.
// Time zones through Intl (time.ts), so DST is the zone's own; an end at or before the start
// spans midnight.
import type { NodeSpec } from './types.js';
import { zonedDate, zonedTime } from './time.js';

export type Window = NonNullable<NodeSpec['reservableWindows']>[number];
const DAY = 86_400_000;
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

function hm(s: string): [number, number] {
  const [h, m] = s.split(':').map(Number);
  return [h, m];
}

/** Occurrences of window `w` that overlap [from, to), as [start, end) pairs, sorted. */
export function windowIntervals(w: Window, from: number, to: number): [number, number][] {
  const tz = w.timeZone ?? 'UTC';
  const out: [number, number][] = [];
  const [sh, sm] = hm(w.start);
  const [eh, em] = hm(w.end);
  const spans = eh * 60 + em <= sh * 60 + sm; // ends the next day (24:00 included)
  // Walk local dates from the day before `from` to the day after `to`.
  const first = zonedDate(from - DAY, tz);
  let day = Date.UTC(first.y, first.mo - 1, first.d);
  const last = zonedDate(to + DAY, tz);
  const lastDay = Date.UTC(last.y, last.mo - 1, last.d);
  for (; day <= lastDay; day += DAY) {
    const dt = new Date(day);
    const [y, mo, d] = [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
    if (w.days && w.days.length && !w.days.includes(DAYS[dt.getUTCDay()] as any)) continue;
    const s = zonedTime(y, mo, d, sh, sm, tz);
    // 24:00 is the next day's 00:00; an end at or before the start is the next day's too.
    const nd = new Date(day + (spans || eh === 24 ? DAY : 0));
    const e = zonedTime(nd.getUTCFullYear(), nd.getUTCMonth() + 1, nd.getUTCDate(), eh === 24 ? 0 : eh, em, tz);
    if (e > from && s < to) out.push([s, e]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * Where any of `ws` is open within [from, to): their occurrences clipped to the range, overlapping
 * ones merged, sorted. No windows: an empty list (the node is always reservable).
 */
export function openIntervals(ws: Window[] | undefined, from: number, to: number): [number, number][] {
  const all = (ws ?? []).flatMap((w) => windowIntervals(w, from, to)).map(([s, e]): [number, number] => [Math.max(s, from), Math.min(e, to)]);
  all.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const iv of all) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else merged.push(iv);
  }
  return merged;
}

/** "Mon-Fri 09:00-18:00 Europe/Berlin" style text naming a window. */
export function describeWindow(w: Window): string {
  const days = w.days && w.days.length && w.days.length < 7 ? `${w.days.join(',')} ` : '';
  return `${days}${w.start}-${w.end} ${w.timeZone ?? 'UTC'}`;
}

export function describeWindows(ws: Window[]): string {
  return ws.map(describeWindow).join(', ');
}

/** Does [start, end) lie inside one occurrence of one of the windows? No windows: always. */
export function fitsWindow(ws: Window[] | undefined, start: number, end: number): boolean {
  if (!ws || ws.length === 0) return true;
  return ws.some((w) => windowIntervals(w, start - 2 * DAY, end + DAY).some(([s, e]) => s <= start && end <= e));
}

/**
 * The earliest s >= t with [s, s + dur) inside one occurrence of a window, looking at most
 * `horizonMs` ahead; undefined when none. No windows: t.
 */
export function nextWindowFit(ws: Window[] | undefined, t: number, dur: number, horizonMs = 400 * DAY): number | undefined {
  if (!ws || ws.length === 0) return t;
  const step = 8 * DAY;
  for (let from = t; from < t + horizonMs; from += step) {
    let best: number | undefined;
    for (const w of ws) {
      for (const [s, e] of windowIntervals(w, from - 2 * DAY, from + step)) {
        const st = Math.max(s, t);
        if (e - st >= dur && (best === undefined || st < best)) best = st;
      }
    }
    if (best !== undefined) return best;
  }
  return undefined;
}

/** The longest single occurrence any of the windows gives (ms), to refuse what can never fit. */
export function longestWindow(ws: Window[], around: number): number {
  let best = 0;
  for (const w of ws) for (const [s, e] of windowIntervals(w, around, around + 8 * DAY)) best = Math.max(best, e - s);
  return best;
}
