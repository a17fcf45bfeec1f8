// Pure: the spec change that makes a booking longer or shorter, by kiwictl extend's rules, for
// kiwictl extend and the calendar page's Extend/Shorten buttons and edge drag alike. A delta
// adds to (or takes off) what is in force, a total sets it; applied to spec.duration (seconds),
// or to spec.end for a booking with a fixed end. A refusal says why and what to do instead.
import type { Booking } from './types.js';
import { formatDuration, parseDuration } from './duration.js';
import { InvalidError, RefusedError } from './errors.js';

export type ExtendChange = { kind: 'delta'; seconds: number } | { kind: 'total'; seconds: number };

export interface ExtendPlan {
  /** The spec fields to set. */
  patch: { duration?: number; end?: string };
  /** The end before and after, epoch ms (planned ends for a Pending booking; undefined if not planned yet). */
  oldEnd?: number;
  newEnd?: number;
}

const iso = (t: number) => new Date(t).toISOString().replace(/\.000Z$/, 'Z');

/** The spec change for `change`, or a refusal saying why not (Expired, no time left, ...). */
export function planExtend(b: Booking, change: ExtendChange, now: number, defaultDuration: number): ExtendPlan {
  const st = b.status ?? {};
  const name = `${b.metadata.namespace}/${b.metadata.name}`;
  if (st.phase === 'Expired') throw new RefusedError(`booking ${name} already ended (${st.reason ?? 'Expired'}); extend works on Pending and Active bookings: book again with kiwictl alloc`);
  if (b.spec.cancelled) throw new RefusedError(`booking ${name} is being cancelled; it cannot be extended`);
  const start = st.startTime ? Date.parse(st.startTime) : b.spec.start ? Date.parse(b.spec.start) : undefined;
  // A change the operator has not answered yet (another extend a moment ago) is in force too:
  // a delta adds to it, so that concurrent extends add up.
  const unanswered = (st.observedGeneration ?? 0) < (b.metadata.generation ?? 1);
  const statusEnd = st.endTime ? Date.parse(st.endTime) : undefined;
  const oldEnd = unanswered && b.spec.end ? Date.parse(b.spec.end) : statusEnd ?? (b.spec.end ? Date.parse(b.spec.end) : undefined);
  const fail = (why: string) => new InvalidError(`-t: ${why}`);
  if (b.spec.end !== undefined) {
    const end = oldEnd ?? Date.parse(b.spec.end);
    const from = start ?? now;
    const newEnd = change.kind === 'delta' ? end + change.seconds * 1000 : from + change.seconds * 1000;
    if (newEnd <= from) throw fail(`the booking would end before it starts; to end it now use kiwictl kill ${b.metadata.name}`);
    if (newEnd <= now) throw fail(`the booking would end in the past (${iso(newEnd)}); to end it now use kiwictl kill ${b.metadata.name}`);
    return { patch: { end: iso(newEnd) }, oldEnd: end, newEnd };
  }
  // What is in force: the planned or held slot (a refused extend leaves the spec longer than
  // the slot), else the spec.
  const current = !unanswered && start !== undefined && oldEnd !== undefined ? Math.round((oldEnd - start) / 1000) : parseDuration(b.spec.duration ?? defaultDuration);
  const next = change.kind === 'delta' ? current + change.seconds : change.seconds;
  if (next <= 0) throw fail(`${formatDuration(current)} ${change.seconds < 0 ? '-' : '+'} ${formatDuration(Math.abs(change.seconds))} leaves no time; to end it now use kiwictl kill ${b.metadata.name}`);
  const newEnd = start !== undefined ? start + next * 1000 : undefined;
  const before = unanswered && start !== undefined ? start + current * 1000 : oldEnd;
  if (st.phase === 'Active' && newEnd !== undefined && newEnd <= now)
    throw fail(`the booking started at ${iso(start!)}; ${formatDuration(next)} would end it in the past; to end it now use kiwictl kill ${b.metadata.name}`);
  return { patch: { duration: next }, oldEnd: before, newEnd };
}
