// Small formatting helpers shared by the printers and describe. Plain string work on purpose:
// `get` of 10,000 objects must stay cheap.
import { shortDuration } from '../../../crds/api/duration.js';

/** Reads a simple JSONPath as CRD printer columns use it: `.status.booking.user`. */
export function jsonPath(obj: unknown, path: string): unknown {
  let cur: any = obj;
  for (const p of path.split('.').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[p];
  }
  return cur;
}

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A time for a table cell, in local time: "14:05" today, "Nov 23 14:05" on another day. */
export function shortTime(iso: string, now: Date): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const hm = `${pad2(t.getHours())}:${pad2(t.getMinutes())}`;
  if (t.toDateString() === now.toDateString()) return hm;
  return `${MONTHS[t.getMonth()]} ${pad2(t.getDate())} ${hm}`;
}

/** kubectl's age: time since an RFC 3339 time, "12m". */
export function age(iso: string | undefined, now: Date): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '-' : shortDuration((now.getTime() - t) / 1000);
}

/**
 * Time left, for people: like shortDuration but rounded up to the unit shown, so that a booking
 * of 2m reads "2m" at once (not "1m" a moment later), and "0s" only once it is over.
 */
export function shortRemaining(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds - 1e-6));
  if (s < 60) return `${s}s`;
  if (s < 3600) {
    const m = Math.ceil(s / 60);
    return m < 60 ? `${m}m` : '1h';
  }
  if (s < 86400) {
    const m = Math.ceil(s / 60);
    const h = Math.floor(m / 60);
    return h >= 24 ? '1d' : `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  }
  const h = Math.ceil(s / 3600);
  return `${Math.floor(h / 24)}d${h % 24 ? `${h % 24}h` : ''}`;
}

/** One table cell from any JSON value. */
export function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (Array.isArray(v)) return v.length ? v.map(cell).join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).replace(/\s+/g, ' ');
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 3) + '...';
}

/** The pool limit a Pending booking waits for, as its message says it: what held its planned start back, or why it waits; '' for other waits. */
export function heldBack(b: { status?: { pendingReason?: string; message?: string } }): string {
  const st = b.status;
  if (!st?.pendingReason) return '';
  return /\(held back by (.*)\)$/.exec(st.message ?? '')?.[1] ?? (st.message ?? st.pendingReason).replace(/^waits: /, '');
}
