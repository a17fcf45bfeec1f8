// Times as users type them: RFC 3339, "now", "now+30m", "14:00", "tomorrow 09:00",
// "2026-12-01 14:00", read in the user's time zone. Pure: `now` and the zone are arguments.
import { parseDuration } from './duration.js';
import { InvalidError } from './errors.js';

// One formatter a zone: making one per call is most of the cost (the planner's reservable
// windows and the calendar page ask many times).
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The offset of `zone` from UTC at instant `t`, in ms (e.g. +3600000 for Europe/Paris in winter). */
export function zoneOffsetMs(t: number, zone: string): number {
  const parts = formatter(zone).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(t / 1000) * 1000;
}

/** The instant at which the wall clock in `zone` shows the given date and time. */
export function zonedTime(y: number, mo: number, d: number, h: number, mi: number, zone: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const first = guess - zoneOffsetMs(guess, zone);
  return guess - zoneOffsetMs(first, zone); // second pass: right across a DST change
}

/** The wall-clock date in `zone` at instant t. */
export function zonedDate(t: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number; weekday: number } {
  const z = new Date(t + zoneOffsetMs(t, zone));
  return { y: z.getUTCFullYear(), mo: z.getUTCMonth() + 1, d: z.getUTCDate(), h: z.getUTCHours(), mi: z.getUTCMinutes(), weekday: z.getUTCDay() };
}

/** An instant as Kiwi stores times: RFC 3339, UTC, whole seconds (2026-05-01T14:00:00Z). */
export function rfc3339(t: number | Date): string {
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

export function localZone(): string {
  return process.env.TZ || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Parses a time; returns epoch ms. A bare "HH:MM" is its next occurrence (today, or
 * tomorrow if that has passed), as Slurm's --begin reads it.
 */
export function parseTime(text: string, now: number, zone: string = localZone()): number {
  const t = text.trim().toLowerCase();
  const bad = (why: string) => new InvalidError(`time "${text}": ${why}; use RFC 3339 (2026-05-01T14:00:00Z), "14:00", "tomorrow 09:00", "2026-05-01 14:00" or "now+30m"`);
  if (!isTimeZone(zone)) throw new InvalidError(`time zone "${zone}" is not known`);
  if (t === 'now') return now;
  let m: RegExpExecArray | null;
  if ((m = /^now\s*\+\s*(.+)$/.exec(t))) {
    try {
      return now + parseDuration(m[1]) * 1000;
    } catch (e) {
      throw bad((e as Error).message);
    }
  }
  if (RFC3339.test(text.trim())) {
    const v = Date.parse(text.trim());
    if (Number.isNaN(v)) throw bad('not a valid date');
    return v;
  }
  const hm = (s: string) => {
    const x = /^(\d{1,2}):(\d{2})$/.exec(s);
    if (!x) return undefined;
    const [h, mi] = [Number(x[1]), Number(x[2])];
    if (h > 23 || mi > 59) throw bad('hours must be 0-23 and minutes 0-59');
    return { h, mi };
  };
  const today = zonedDate(now, zone);
  const at = (dayOffset: number, h: number, mi: number) => {
    const base = new Date(Date.UTC(today.y, today.mo - 1, today.d + dayOffset));
    return zonedTime(base.getUTCFullYear(), base.getUTCMonth() + 1, base.getUTCDate(), h, mi, zone);
  };
  let c = hm(t);
  if (c) {
    const v = at(0, c.h, c.mi);
    return v > now ? v : at(1, c.h, c.mi);
  }
  if ((m = /^(today|tomorrow)\s+(.+)$/.exec(t)) && (c = hm(m[2]))) return at(m[1] === 'today' ? 0 : 1, c.h, c.mi);
  if ((m = /^(\d{4})-(\d{2})-(\d{2})(?:[ t](\d{1,2}:\d{2}))?$/.exec(t))) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const probe = new Date(Date.UTC(y, mo - 1, d));
    if (probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) throw bad('not a valid date');
    const hmv = m[4] ? hm(m[4])! : { h: 0, mi: 0 };
    return zonedTime(y, mo, d, hmv.h, hmv.mi, zone);
  }
  throw bad('not a time Kiwi understands');
}
