// Fields fixed when a booking was admitted. Once its slot has begun, the calendar, PAM and the
// cleanup all follow what was admitted; a spec that says otherwise would only lie. So a change
// of them is refused with the field's path, as Kubernetes refuses a change of an immutable
// field ("field is immutable"). Pure: kiwictl apply checks old against new with it; the
// operator, which sees only the new spec, checks it against what the status and calendar hold.
import { isDeepStrictEqual } from 'node:util';
import type { Booking } from './types.js';

/** The fields, by path, and how each is read from a spec. */
export const IMMUTABLE_ONCE_STARTED: { path: string; of: (b: Booking) => unknown }[] = [
  { path: 'spec.user', of: (b) => b.spec?.user },
  { path: 'spec.nodes', of: (b) => (b.spec?.nodes ? [...b.spec.nodes].sort() : undefined) },
  { path: 'spec.nodeSelector', of: (b) => b.spec?.nodeSelector },
  { path: 'spec.count', of: (b) => (b.spec?.nodes ? undefined : b.spec?.count ?? 1) },
  { path: 'spec.start', of: (b) => (b.spec?.start !== undefined ? Date.parse(b.spec.start) : undefined) },
  { path: 'spec.pool', of: (b) => b.spec?.pool },
];

/** Has the booking's slot begun: Active, or planned to start at or before `now`. */
export function hasBegun(b: Booking, now?: number): boolean {
  const st = b.status;
  if (st?.phase === 'Active') return true;
  return now !== undefined && st?.phase === 'Pending' && st.startTime !== undefined && Date.parse(st.startTime) <= now;
}

/**
 * The refused changes from `old` (as stored, with its status) to `next`, one message per field,
 * each starting with the field's path; empty when the change may be written. Only a booking
 * whose slot has begun has fixed fields (`now` also counts a planned start that has come).
 */
export function immutableChanges(old: Booking, next: Booking, now?: number): string[] {
  if (!hasBegun(old, now)) return [];
  return IMMUTABLE_ONCE_STARTED.filter((f) => !isDeepStrictEqual(f.of(old), f.of(next))).map(
    (f) => `${f.path}: field is immutable once the booking has started (it is ${show(pick(old, f.path))}, the change gives ${show(pick(next, f.path))}); to change it, book anew`,
  );
}

function pick(b: Booking, path: string): unknown {
  return (b.spec as unknown as Record<string, unknown> | undefined)?.[path.slice('spec.'.length)];
}

const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
