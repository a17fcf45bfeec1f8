// Recurring bookings, the pure part: a BookingSchedule and a time -> the occurrences that should
// exist as Bookings, and what to create, change or delete among the Bookings it owns. No I/O:
// the shell (./controller.ts) feeds it the schedule, the owned bookings and `now`.
import type { Booking, BookingSchedule, BookingScheduleStatus } from '../../../crds/api/index.js';
import { rfc3339, zonedDate, zoneOffsetMs } from '../../../crds/api/time.js';
import { API_VERSION, SCHEDULE_LABEL } from '../../../crds/api/types.js';
import { setCondition } from '../../../crds/api/conditions.js';

/** The label every occurrence carries: the name of the schedule that owns it (same namespace). */
export const DEFAULT_HORIZON_SECONDS = 7 * 86400;
/** Occurrences already begun kept in the schedule's status, beside those still to come. */
export const BEGUN_SHOWN = 5;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export interface Occurrence {
  /** The Booking's name: <schedule>-<YYYYMMDD> (one occurrence per local day). */
  name: string;
  /** Local date, YYYY-MM-DD. */
  date: string;
  start: number;
  end: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * The instant the wall clock in `zone` shows y-mo-d h:mi. A time the clock skips (spring forward)
 * is read as the same distance past the jump (02:30 -> 03:30, as zonedTime does); a time it shows
 * twice (fall back) is the first of the two.
 */
export function wallClock(y: number, mo: number, d: number, h: number, mi: number, zone: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const shows = (x: number) => {
    const z = zonedDate(x, zone);
    return z.y === y && z.mo === mo && z.d === d && z.h === h && z.mi === mi;
  };
  // The offsets in force a day before and a day after: at most one change lies between (zones change twice a year).
  const before = guess - zoneOffsetMs(guess - 86400_000, zone);
  const after = guess - zoneOffsetMs(guess + 86400_000, zone);
  const hits = [before, after].filter(shows);
  if (hits.length) return Math.min(...hits);
  return before; // skipped: the old offset read past the jump (02:30 + the jump)
}

/** Every occurrence whose start lies in [now, now + horizon], soonest first. */
export function occurrences(s: BookingSchedule, now: number): Occurrence[] {
  const spec = s.spec;
  const zone = spec.timeZone ?? 'UTC';
  const horizon = (Number(spec.horizon) || DEFAULT_HORIZON_SECONDS) * 1000;
  const duration = Number(spec.duration) * 1000;
  const [h, mi] = spec.at.split(':').map(Number);
  const days = new Set(spec.days);
  const skip = new Set(spec.exceptions ?? []);
  const today = zonedDate(now, zone);
  const out: Occurrence[] = [];
  // One day before today: a late-evening occurrence in a zone behind UTC may be "yesterday" locally.
  for (let i = -1; i <= Math.ceil(horizon / 86400_000) + 1; i++) {
    const day = new Date(Date.UTC(today.y, today.mo - 1, today.d + i));
    const [y, mo, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    const date = `${y}-${pad(mo)}-${pad(d)}`;
    if (!days.has(WEEKDAYS[day.getUTCDay()] as BookingSchedule['spec']['days'][number])) continue;
    if (skip.has(date) || (spec.from && date < spec.from) || (spec.until && date > spec.until)) continue;
    const start = wallClock(y, mo, d, h, mi, zone);
    if (start < now || start > now + horizon) continue;
    out.push({ name: `${s.metadata.name}-${date.replaceAll('-', '')}`, date, start, end: start + duration });
  }
  return out;
}

/** The Booking an occurrence is, as the schedule's template says. */
export function occurrenceBooking(s: BookingSchedule, o: Occurrence): Booking {
  const t = s.spec.template;
  const spec: Booking['spec'] = { start: rfc3339(o.start), end: rfc3339(o.end) };
  if (t.nodes) spec.nodes = [...t.nodes];
  if (t.count !== undefined) spec.count = t.count;
  if (t.nodeSelector) spec.nodeSelector = { ...t.nodeSelector };
  if (t.command !== undefined) spec.command = t.command;
  return {
    apiVersion: API_VERSION,
    kind: 'Booking',
    metadata: { name: o.name, namespace: s.metadata.namespace, labels: { ...(t.labels ?? {}), [SCHEDULE_LABEL]: s.metadata.name! }, annotations: { 'kiwi.dev/occurrence': o.date } },
    spec,
  };
}

/** Has the occurrence begun (its slot started, or the operator moved it on): never changed or deleted by the schedule. */
export function begun(b: Booking, now: number): boolean {
  const p = b.status?.phase;
  if (p === 'Active') return true;
  if (p === 'Expired') return !refused(b) || Date.parse(b.spec.start ?? '') <= now;
  return Date.parse(b.spec.start ?? '') <= now;
}

export function refused(b: Booking): boolean {
  return b.status?.phase === 'Expired' && (b.status.reason === 'Rejected' || b.status.reason === 'Busy');
}

const sameSpec = (a: Booking, b: Booking) =>
  JSON.stringify([a.spec.start, a.spec.end, a.spec.nodes, a.spec.count, a.spec.nodeSelector, a.spec.command, a.metadata.labels]) ===
  JSON.stringify([b.spec.start, b.spec.end, b.spec.nodes, b.spec.count, b.spec.nodeSelector, b.spec.command, b.metadata.labels]);

export interface ScheduleActions {
  create: Booking[];
  /** Not begun, but no longer what the rule says: spec and labels replaced (the store compares the revision). */
  update: Booking[];
  /** Names of occurrences not begun that the rule no longer has (or a refused one to be made again). */
  delete: string[];
  /** The schedule's status; undefined when the schedule is gone. */
  status?: BookingScheduleStatus;
}

/**
 * What to do so that the Bookings owned by schedule `s` (undefined: deleted) match it at `now`.
 * `owned`: the Bookings of the schedule's namespace labelled with its name. A refused occurrence
 * stays (reported in the status) unless the rule now says something else for it, then it is made
 * again; one begun is never touched. `room`: how many more Bookings the user may hold (the
 * ClusterConfig's userLimits.bookings less what they hold); occurrences beyond it are not made,
 * and the status says so.
 */
export function planSchedule(s: BookingSchedule | undefined, owned: Booking[], now: number, room = Infinity): ScheduleActions {
  const out: ScheduleActions = { create: [], update: [], delete: [] };
  const want = new Map<string, Booking>();
  if (s && !s.spec.suspend) for (const o of occurrences(s, now)) want.set(o.name, occurrenceBooking(s, o));
  const have = new Map(owned.map((b) => [b.metadata.name!, b]));
  for (const [name, b] of have) {
    if (begun(b, now)) continue;
    const w = want.get(name);
    if (!w) {
      if (!s || !s.spec.suspend) out.delete.push(name); // suspended: what was made stays
    } else if (!sameSpec(b, w)) {
      if (refused(b)) out.delete.push(name), out.create.push(w); // an Expired booking is never revived: made anew
      else out.update.push({ ...b, metadata: { ...b.metadata, labels: w.metadata.labels, annotations: w.metadata.annotations }, spec: w.spec }); // the rule owns the whole spec
    }
  }
  let left = room + out.delete.length - out.create.length;
  let held = 0;
  for (const [name, w] of want) {
    if (have.has(name)) continue;
    if (left <= 0) held++;
    else out.create.push(w), left--;
  }
  if (s) out.status = scheduleStatus(s, owned, out, now, held);
  return out;
}

/** The schedule's status after the actions: its occurrences (the last few begun and all to come), the refused ones named. */
function scheduleStatus(s: BookingSchedule, owned: Booking[], a: ScheduleActions, now: number, held: number): BookingScheduleStatus {
  const gone = new Set(a.delete);
  const byName = new Map<string, Booking>();
  for (const b of owned) if (!gone.has(b.metadata.name!)) byName.set(b.metadata.name!, b);
  for (const b of [...a.update, ...a.create]) byName.set(b.metadata.name!, b);
  const all = [...byName.values()].sort((x, y) => Date.parse(x.spec.start ?? '') - Date.parse(y.spec.start ?? ''));
  const past = all.filter((b) => begun(b, now));
  const list = [...past.slice(-BEGUN_SHOWN), ...all.filter((b) => !begun(b, now))];
  const occ = list.map((b) => ({
    booking: b.metadata.name!,
    ...(b.metadata.annotations?.['kiwi.dev/occurrence'] ? { date: b.metadata.annotations['kiwi.dev/occurrence'] } : {}),
    start: b.spec.start!,
    end: b.spec.end!,
    ...(b.status?.phase ? { phase: b.status.phase } : {}),
    ...(b.status?.reason ? { reason: b.status.reason } : {}),
    ...(refused(b) && b.status?.message ? { message: b.status.message.slice(0, 500) } : {}),
  }));
  const bad = occ.filter((o) => o.reason === 'Rejected' || o.reason === 'Busy');
  const next = all.find((b) => !begun(b, now) && !refused(b));
  const message = s.spec.suspend
    ? 'suspended: no new occurrences are made'
    : held
      ? `${held} occurrence${held > 1 ? 's' : ''} within the horizon not made: the user holds as many keys (bookings, schedules, dry runs) as the ClusterConfig's spec.userLimits.bookings allows; delete old ones (kiwictl delete booking NAME)`
    : bad.length
      ? `${bad.length} occurrence${bad.length > 1 ? 's' : ''} refused: ${bad.map((o) => `${o.booking} (${o.reason}${o.message ? `: ${o.message.slice(0, 120)}` : ''})`).join('; ')}`
      : next ? `next occurrence ${next.metadata.name} at ${next.spec.start}` : 'no occurrence within the horizon';
  const prev = (s as BookingSchedule & { status?: BookingScheduleStatus }).status;
  return {
    observedGeneration: s.metadata.generation ?? 1,
    ...(next ? { nextStart: next.spec.start } : {}),
    refused: bad.length,
    message,
    occurrences: occ,
    conditions: setCondition(Array.isArray(prev?.conditions) ? prev.conditions : undefined, bad.length
      ? { type: 'OccurrencesRefused', status: 'True', reason: 'Refused', message: message.slice(0, 1000) }
      : { type: 'OccurrencesRefused', status: 'False', reason: 'AllAdmitted', message: 'no occurrence in the list was refused' }, now),
  };
}
