// Pure: terminal warnings and opt-in end signals that are due, and when to wake up next.
import type { CalendarEntry, EffectiveConfig } from '../../../crds/api/pure.js';
import { isActive, type Tracked } from './kill.js';

/** When the user's hold ends: the entry's end, extended by back-to-back entries of the same user. */
export function holdEnd(entry: CalendarEntry, entries: CalendarEntry[]): number {
  let end = entry.end;
  for (const e of [...entries].sort((a, b) => a.start - b.start)) {
    if (e.user === entry.user && e.start <= end && e.end > end) end = e.end;
  }
  return end;
}

export interface Warning {
  key: string;
  user: string;
  booking: string;
  /** Seconds left until the hold ends (rounded up). */
  secondsLeft: number;
  message: string;
}

function humanLeft(s: number): string {
  if (s >= 120) return `${Math.ceil(s / 60)} minutes`;
  if (s >= 60) return '1 minute';
  return `${s} seconds`;
}

/**
 * Warnings due now. For an active entry, of the warnBefore thresholds already passed only the
 * one nearest the end is sent (a daemon that starts late does not send stale ones), and each
 * once: `sent` holds the keys already sent.
 */
export function warningsDue(entries: CalendarEntry[], config: EffectiveConfig, now: number, sent: ReadonlySet<string>): Warning[] {
  const out: Warning[] = [];
  for (const e of entries) {
    if (!isActive(e, now)) continue;
    const end = holdEnd(e, entries);
    if (end !== e.end) continue; // the user goes on holding the node: the last entry warns
    const passed = config.warnBefore.filter((t) => now >= end - t * 1000);
    if (!passed.length) continue;
    const t = Math.min(...passed);
    const key = `${e.uid}:warn:${t}`;
    if (sent.has(key)) continue;
    const secondsLeft = Math.max(1, Math.ceil((end - now) / 1000));
    out.push({
      key,
      user: e.user,
      booking: e.booking,
      secondsLeft,
      message: `Kiwi: booking ${e.booking} of ${e.user} ends in ${humanLeft(secondsLeft)} (at ${new Date(end).toISOString()}); your processes on this node will then be ended. Extend it with "kiwictl extend".`,
    });
  }
  return out;
}

export interface SignalDue {
  key: string;
  user: string;
  booking: string;
  signal: NodeJS.Signals;
}

const ALLOWED_SIGNALS = new Set(['SIGHUP', 'SIGINT', 'SIGUSR1', 'SIGUSR2', 'SIGTERM']);

/** The normalised signal name ("usr1" -> "SIGUSR1"), or undefined when it is not one Kiwi sends. */
export function signalName(s: string): NodeJS.Signals | undefined {
  const n = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : 'SIG' + s.toUpperCase();
  return ALLOWED_SIGNALS.has(n) ? (n as NodeJS.Signals) : undefined;
}

export const DEFAULT_END_SIGNAL_BEFORE = 300;

/** Opt-in end signals due now (spec.endSignal copied into the entry), each sent once. */
export function endSignalsDue(entries: CalendarEntry[], now: number, sent: ReadonlySet<string>): SignalDue[] {
  const out: SignalDue[] = [];
  for (const e of entries) {
    if (!e.endSignal || !isActive(e, now)) continue;
    const sig = signalName(e.endSignal.signal);
    if (!sig) continue;
    const before = (e.endSignal.before ?? DEFAULT_END_SIGNAL_BEFORE) * 1000;
    const key = `${e.uid}:signal`;
    if (now >= e.end - before && !sent.has(key)) out.push({ key, user: e.user, booking: e.booking, signal: sig });
  }
  return out;
}

/**
 * Epoch ms of the next moment something changes (a start, an end, a warning, a signal), or
 * undefined when nothing is planned. The caller also wakes at a short cap against clock jumps.
 */
export function nextWake(known: Tracked[], entries: CalendarEntry[], config: EffectiveConfig, now: number): number | undefined {
  const times: number[] = [];
  for (const e of known) times.push(e.start, e.end);
  for (const e of entries) {
    times.push(e.start, e.end);
    for (const t of config.warnBefore) times.push(e.end - t * 1000);
    if (e.endSignal) times.push(e.end - (e.endSignal.before ?? DEFAULT_END_SIGNAL_BEFORE) * 1000);
  }
  const future = times.filter((t) => t > now);
  return future.length ? Math.min(...future) : undefined;
}

/** Drops sent-marks of entries that are no longer tracked (keeps the state file small). */
export function pruneSent(sent: Iterable<string>, known: Tracked[]): Set<string> {
  const uids = new Set(known.map((k) => k.uid));
  return new Set([...sent].filter((k) => uids.has(k.split(':')[0])));
}

/**
 * Entries whose slot had begun by the daemon's clock (the user was let in) and that the calendar
 * now starts after `now`: the begun slot was taken away (the operator never does this; an older
 * one, or a hand-written calendar, might). Such a slot has ended: its user's processes are
 * cleaned up now, as for an entry removed from the calendar. Returns their uids.
 */
export function begunSlotsMovedLater(known: readonly CalendarEntry[], calendar: readonly CalendarEntry[], now: number): Set<string> {
  const later = new Map(calendar.filter((e) => e.start > now).map((e) => [e.uid, e]));
  const out = new Set<string>();
  for (const k of known) if (k.start <= now && later.has(k.uid)) out.add(k.uid);
  return out;
}
