// Pure: the answer to a server-side dry run. The planner is asked what it would decide if the
// booking arrived now (last in line, as a new booking is) or, for a booking that exists, if its
// spec changed to this; the answer is that booking's status in the plan, and nothing else of the
// plan is used. Only plan(input), the planner's public entry point.
import type { Booking } from '../../../crds/api/index.js';
import type { DryRunAnswer } from '../../../crds/api/dryrun.js';
import { validateObject } from '../../../crds/api/validate.js';
import { plan, type BookingView, type PlanInput } from '../plan/index.js';

export function dryRunAnswer(input: PlanInput, user: string, value: unknown): DryRunAnswer {
  const time = new Date(input.now).toISOString();
  const b = (value as { booking?: unknown } | null)?.booking as Booking | undefined;
  if (!b || typeof b !== 'object' || (b as any).kind !== 'Booking') return { error: 'the request holds no Booking ({"booking": {...}})', time };
  let booking: Booking;
  try {
    booking = validateObject(structuredClone(b), `dry run of booking ${user}/${(b as any).metadata?.name}`) as Booking;
  } catch (e) {
    return { error: (e as Error).message, time };
  }
  if (booking.metadata.namespace !== user)
    return { error: `booking ${booking.metadata.namespace}/${booking.metadata.name} is not in namespace ${user}, whose dry-run prefix the request was written in`, time };
  const key = `${user}/${booking.metadata.name}`;
  const existing = input.bookings.find((v) => v.key === key);
  const maxRev = input.bookings.reduce((m, v) => Math.max(m, v.createRevision), 0);
  const view: BookingView = existing
    ? {
        ...existing,
        booking: {
          ...existing.booking,
          spec: booking.spec,
          metadata: { ...existing.booking.metadata, generation: (existing.booking.metadata.generation ?? 1) + 1 },
        },
      }
    : {
        key,
        booking: { ...booking, metadata: { ...booking.metadata, uid: `dryrun-${key}`, generation: 1, creationTimestamp: time } },
        specRevision: 0,
        statusRevision: 0,
        createRevision: maxRev + 1,
      };
  const bookings = existing ? input.bookings.map((v) => (v.key === key ? view : v)) : [...input.bookings, view];
  const result = plan({ ...input, bookings });
  const action = result.actions.find((a) => a.kind === 'booking' && a.key === key);
  const status = action && action.kind === 'booking' && action.status ? action.status : existing?.booking.status;
  return { status, time };
}
