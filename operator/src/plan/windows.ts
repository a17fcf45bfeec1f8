// Reservable windows: daily hours in which a node may be booked (Node spec.reservableWindows).
// Pure: a window and a time range in, intervals in epoch milliseconds out. Time zones through
// Intl, so DST is the zone's own; an end at or before the start spans midnight.
import type { NodeSpec } from '../../../crds/api/pure.js';

export type Window = NonNullable<NodeSpec['reservableWindows']>[number];
const DAY = 86_400_000;
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall clock of `tz` at `t`: year, month (1-12), day, hour, minute, second. */
function wall(tz: string, t: number): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year, mo: parts.month, d: parts.day, h: parts.hour % 24, mi: parts.minute, s: parts.second };
}

/** Offset of `tz` from UTC at `t`, in ms (local minus UTC). */
function offset(tz: string, t: number): number {
  const w = wall(tz, t);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
}

/** The instant when `tz`'s wall clock shows y-mo-d h:mi (the later reading in a DST gap). */
export function zonedTime(tz: string, y: number, mo: number, d: number, h: number, mi: number): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const o1 = offset(tz, guess);
  const t = guess - o1;
  const o2 = offset(tz, t);
  return o2 === o1 ? t : guess - o2;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

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
  const first = wall(tz, from - DAY);
  let day = Date.UTC(first.y, first.mo - 1, first.d);
  const last = wall(tz, to + DAY);
  const lastDay = Date.UTC(last.y, last.mo - 1, last.d);
  for (; day <= lastDay; day += DAY) {
    const dt = new Date(day);
    const [y, mo, d] = [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
    if (w.days && w.days.length && !w.days.includes(DAYS[dt.getUTCDay()] as any)) continue;
    const s = zonedTime(tz, y, mo, d, sh, sm);
    // 24:00 is the next day's 00:00; an end at or before the start is the next day's too.
    const nd = new Date(day + (spans || eh === 24 ? DAY : 0));
    const e = zonedTime(tz, nd.getUTCFullYear(), nd.getUTCMonth() + 1, nd.getUTCDate(), eh === 24 ? 0 : eh, em);
    if (e > from && s < to) out.push([s, e]);
  }
  return out.sort((a, b) => a[0] - b[0]);
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
