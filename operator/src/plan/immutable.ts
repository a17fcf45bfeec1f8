// The operator's side of crds/api/immutable.ts: a spec written around kiwictl (raw to etcd)
// that changes a field fixed at admission is refused too. The operator has no old spec, only
// what the booking holds: the user its entries are for, the nodes and start in its status.
import type { Booking, BookingStatus, CalendarEntry } from '../../../crds/api/pure.js';

export function immutableProblems(b: Booking, st: BookingStatus, held: Map<string, CalendarEntry[]> | undefined): string[] {
  const out: string[] = [];
  const fixed = (path: string, is: unknown, gives: unknown) =>
    out.push(`${path}: field is immutable once the booking has started (it is ${JSON.stringify(is)}, the spec gives ${JSON.stringify(gives)}); to change it, book anew`);
  const user = held?.values().next().value?.[0]?.user;
  if (user !== undefined && b.spec.user !== user) fixed('spec.user', user, b.spec.user);
  const nodes = [...(st.nodes ?? [])].sort();
  if (b.spec.nodes) {
    const want = [...b.spec.nodes].sort();
    if (want.join(',') !== nodes.join(',')) fixed('spec.nodes', nodes, b.spec.nodes);
  } else if ((b.spec.count ?? 1) !== nodes.length) fixed('spec.count', nodes.length, b.spec.count ?? 1);
  if (b.spec.start !== undefined && st.startTime && Date.parse(b.spec.start) !== Date.parse(st.startTime)) fixed('spec.start', st.startTime, b.spec.start);
  return out;
}
