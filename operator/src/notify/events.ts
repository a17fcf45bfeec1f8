// Notifications, the pure part: what a booking's change (the status last notified about -> the
// status now) and the time say to its user, and which sinks each event goes to. No I/O: the shell
// (./controller.ts) keeps the "seen" cursor of every booking in etcd beside the outbox, so that a
// restarted operator derives the same events with the same idempotency keys.
import type { Booking, ClusterConfig, Condition, Subscription } from '../../../crds/api/index.js';
import { DEGRADED, IDLE_WARNING } from '../../../crds/api/conditions.js';
import { matches, type Requirement } from '../../../crds/api/selector.js';
import { rfc3339 } from '../../../crds/api/time.js';

export const EVENT_TYPES = ['Queued', 'Moved', 'Started', 'EndingSoon', 'Ended', 'Refused', 'Degraded', 'IdleWarning'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** EndingSoon thresholds when a Subscription names none: an hour before the end. */
export const DEFAULT_BEFORE_END = [3600];
/** A planned start that moves by less than this is not worth a message. */
export const MIN_MOVE_SECONDS = 60;
/** A booking first seen already started or over is told about only if that happened this recently (not a month-old end when a user first subscribes). */
export const FRESH_SECONDS = 900;

/** What the controller remembers of a booking: what its user was last told about. */
export interface Seen {
  uid: string;
  phase?: string;
  start?: string;
  end?: string;
  /** EndingSoon thresholds (seconds) already sent for `end`. */
  sent?: number[];
  /** The Degraded and IdleWarning conditions last told about: reason and transition time, so each new one is told once. */
  degraded?: string;
  idle?: string;
}

export interface NotifyEvent {
  /** The idempotency key: the same event always has the same one, across restarts and retries. */
  id: string;
  type: EventType;
  /** When the operator saw it (RFC 3339). */
  time: string;
  user: string;
  booking: string;
  uid: string;
  phase?: string;
  reason?: string;
  message?: string;
  nodes?: string[];
  startTime?: string;
  endTime?: string;
  /** Moved: the planned start before, and which way it went. */
  previousStart?: string;
  direction?: 'up' | 'down';
  /** EndingSoon: seconds before the end this one is for. */
  beforeEnd?: number;
}

const ms = (t: string | undefined) => (t ? Date.parse(t) : NaN);
const isRefusal = (reason: string | undefined) => reason === 'Rejected' || reason === 'Busy';

/**
 * The events between what was `seen` of booking `b` and its status now, at `now`; the cursor to
 * keep; and when to look again (the next EndingSoon threshold), if ever. `thresholds`: the
 * EndingSoon thresholds its user's subscriptions ask for (seconds).
 */
export function deriveEvents(seen: Seen | undefined, b: Booking, now: number, thresholds: number[]): { events: NotifyEvent[]; seen: Seen; wakeAt?: number } {
  const uid = b.metadata.uid!;
  const st = b.status ?? {};
  const prev = seen && seen.uid === uid ? seen : undefined; // another uid: a new booking of the same name
  const events: NotifyEvent[] = [];
  const base = {
    time: rfc3339(now), user: b.metadata.namespace!, booking: `${b.metadata.namespace}/${b.metadata.name}`, uid,
    ...(st.phase ? { phase: st.phase } : {}), ...(st.reason ? { reason: st.reason } : {}), ...(st.message ? { message: st.message } : {}),
    ...(st.nodes?.length ? { nodes: st.nodes } : {}), ...(st.startTime ? { startTime: st.startTime } : {}), ...(st.endTime ? { endTime: st.endTime } : {}),
  };
  const emit = (type: EventType, id: string, extra: Partial<NotifyEvent> = {}) => events.push({ id: `${uid}.${type}${id}`, type, ...base, ...extra });
  const recent = (t: string | undefined) => !(now - ms(t) > FRESH_SECONDS * 1000); // unknown time: recent
  const next: Seen = { uid, ...(st.phase ? { phase: st.phase } : {}), ...(st.startTime ? { start: st.startTime } : {}), ...(st.endTime ? { end: st.endTime } : {}) };
  let sent = prev && prev.end === st.endTime ? [...(prev.sent ?? [])] : [];

  if (st.phase === 'Pending') {
    if (!prev || prev.phase !== 'Pending') emit('Queued', '');
    else if (prev.start && st.startTime && Math.abs(ms(st.startTime) - ms(prev.start)) >= MIN_MOVE_SECONDS * 1000)
      emit('Moved', `.${st.startTime}`, { previousStart: prev.start, direction: ms(st.startTime) < ms(prev.start) ? 'up' : 'down' });
    else if (prev.start && st.startTime) next.start = prev.start; // a small move: keep measuring from what the user was told
  } else if (st.phase === 'Active') {
    if (prev?.phase !== 'Active' && (prev || recent(st.startTime))) emit('Started', '');
  } else if (st.phase === 'Expired') {
    if (prev?.phase !== 'Expired' && (prev || recent(st.endTime ?? b.metadata.creationTimestamp)))
      emit(isRefusal(st.reason) ? 'Refused' : 'Ended', '');
  }

  let wakeAt: number | undefined;
  if (st.phase === 'Active' && st.endTime) {
    const end = ms(st.endTime);
    const due = thresholds.filter((t) => !sent.includes(t) && now >= end - t * 1000 && now < end);
    if (due.length) {
      const t = Math.min(...due); // only the most imminent of those crossed while nobody looked
      emit('EndingSoon', `.${t}.${st.endTime}`, { beforeEnd: t });
      sent = [...sent, ...due];
    }
    for (const t of thresholds) if (!sent.includes(t) && end - t * 1000 > now) wakeAt = Math.min(wakeAt ?? Infinity, end - t * 1000);
  }
  // Healing and idle release set conditions on an Active booking (plan/phases/heal.ts, idle.ts):
  // each new one (a reason and a transition time not told before) is one event.
  if (st.phase === 'Active') {
    for (const [type, field] of [[DEGRADED, 'degraded'], [IDLE_WARNING, 'idle']] as const) {
      const c = trueCondition(st.conditions, type);
      if (!c) continue;
      next[field] = mark(c);
      if (prev?.[field] !== next[field] && (prev || recent(c.lastTransitionTime))) emit(type === DEGRADED ? 'Degraded' : 'IdleWarning', `.${next[field]}`, { reason: c.reason, message: c.message });
    }
  }
  if (sent.length) next.sent = [...new Set(sent)].sort((a, b2) => a - b2);
  return { events, seen: next, ...(wakeAt !== undefined ? { wakeAt } : {}) };
}

const trueCondition = (cs: Condition[] | undefined, type: string) => cs?.find((c) => c.type === type && c.status === 'True');
const mark = (c: Condition) => `${c.reason ?? ''}.${c.lastTransitionTime ?? ''}`;

/** One event for one sink. */
export interface Delivery {
  sink: string;
  event: NotifyEvent;
}

/** The EndingSoon thresholds a user's subscriptions ask for. */
export function thresholdsOf(subs: Subscription[]): number[] {
  const out = new Set<number>();
  for (const s of subs) if (!s.spec.events || s.spec.events.includes('EndingSoon')) for (const t of s.spec.beforeEnd ?? DEFAULT_BEFORE_END) out.add(t);
  return [...out].sort((a, b) => b - a);
}

/** Does a subscription want this event of this booking? */
function wants(s: Subscription, e: NotifyEvent, b: Booking): boolean {
  if (s.spec.events && !s.spec.events.includes(e.type)) return false;
  if (e.type === 'EndingSoon' && !(s.spec.beforeEnd ?? DEFAULT_BEFORE_END).includes(e.beforeEnd!)) return false;
  const sel: Requirement[] = Object.entries(s.spec.bookings ?? {}).map(([key, v]) => ({ key, op: 'in', values: [v] }));
  return matches(sel, b.metadata.labels ?? {});
}

/** Which sinks each event goes to: every sink of the user's subscriptions that want it and that the ClusterConfig has, once. */
export function route(events: NotifyEvent[], b: Booking, subs: Subscription[], config: ClusterConfig | undefined): Delivery[] {
  const known = new Set((config?.spec?.notifications?.sinks ?? []).map((s) => s.name));
  const out: Delivery[] = [];
  for (const e of events) {
    const sinks = new Set<string>();
    for (const s of subs) if (wants(s, e, b)) for (const n of s.spec.sinks) if (known.has(n)) sinks.add(n);
    for (const sink of [...sinks].sort()) out.push({ sink, event: e });
  }
  return out;
}

/** The sinks a subscription names that the ClusterConfig does not have ('' when all are known). */
export function unknownSinks(s: Subscription, config: ClusterConfig | undefined): string[] {
  const known = new Set((config?.spec?.notifications?.sinks ?? []).map((x) => x.name));
  return s.spec.sinks.filter((n) => !known.has(n));
}

/** A short human subject line for an event (mail subject, log line). */
export function subject(e: NotifyEvent): string {
  const t = (x?: string) => x ?? '?';
  switch (e.type) {
    case 'Queued': return `booking ${e.booking} is queued; planned start ${t(e.startTime)}`;
    case 'Moved': return `booking ${e.booking} moved ${e.direction} the queue: planned start ${t(e.startTime)} (was ${t(e.previousStart)})`;
    case 'Started': return `booking ${e.booking} started on ${(e.nodes ?? []).join(', ')}; ends ${t(e.endTime)}`;
    case 'EndingSoon': return `booking ${e.booking} ends in ${Math.round(e.beforeEnd! / 60)} min (${t(e.endTime)})`;
    case 'Ended': return `booking ${e.booking} ended (${t(e.reason)})`;
    case 'Refused': return `booking ${e.booking} was refused (${t(e.reason)})`;
    case 'Degraded': return `booking ${e.booking} is degraded (${t(e.reason)}): ${t(e.message)}`;
    case 'IdleWarning': return `booking ${e.booking} is idle and will be ended: ${t(e.message)}`;
  }
}
