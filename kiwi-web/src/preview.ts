// Pure: a forecast of what the cluster would answer to a new booking, for POST ...?dryRun=All
// only when no operator answers the server-side dry run in time (api.ts asks it first). Read
// from what the operator has already decided: every Active booking's held slot and every
// Pending one's planned slot (status.nodes, startTime, endTime). It knows no reservable windows
// and plans named nodes only; the answer says it is a forecast.
import type { Booking, Node } from '../../crds/api/types.js';
import type { EffectiveConfig } from '../../crds/api/config.js';
import { formatDuration, parseDuration } from '../../crds/api/duration.js';
import { rfc3339 } from '../../crds/api/time.js';
import { DRAIN_ANNOTATION } from '../../crds/api/types.js';

export interface Slot {
  booking: string; // namespace/name
  user: string;
  start: number;
  end: number;
}

export type Preview =
  | { ok: true; nodes: string[]; start: number; end: number; waitingFor: { node: string; booking: string; user: string; until: string }[]; message: string }
  | { ok: false; reason: 'Rejected' | 'Busy'; message: string };

/** Every node's held and planned slots, from the bookings' statuses. */
export function slotsByNode(bookings: Booking[], exclude?: string): Map<string, Slot[]> {
  const out = new Map<string, Slot[]>();
  for (const b of bookings) {
    const st = b.status;
    const key = `${b.metadata.namespace}/${b.metadata.name}`;
    if (key === exclude || !st || (st.phase !== 'Active' && st.phase !== 'Pending') || !st.startTime || !st.endTime || !st.nodes) continue;
    const slot = { booking: key, user: b.metadata.namespace!, start: Date.parse(st.startTime), end: Date.parse(st.endTime) };
    for (const n of st.nodes) {
      let l = out.get(n);
      if (!l) out.set(n, (l = []));
      l.push(slot);
    }
  }
  for (const l of out.values()) l.sort((a, b) => a.start - b.start);
  return out;
}

const hhmm = (t: number) => rfc3339(t).replace('T', ' ').replace(/:\d\dZ$/, ' UTC');

/** Why a node cannot take a new booking, or undefined. */
function nodeProblem(name: string, n: Node | undefined): string | undefined {
  if (!n) return `node ${name} does not exist; see the nodes with kiwictl info`;
  if (n.metadata.annotations?.[DRAIN_ANNOTATION] !== undefined || n.status?.phase === 'Draining' || n.status?.phase === 'Drained')
    return `node ${name} is being drained (${n.metadata.annotations?.[DRAIN_ANNOTATION] || n.status?.message || 'by an admin'}); nothing new is planned on it`;
  if (n.spec?.unschedulable) return `node ${name} is cordoned; nothing new is planned on it`;
  return undefined;
}

export function previewBooking(b: Booking, bookings: Booking[], nodes: Node[], config: EffectiveConfig, now: number): Preview {
  const s = b.spec;
  const refuse = (message: string, reason: 'Rejected' | 'Busy' = 'Rejected'): Preview => ({ ok: false, reason, message });
  if (!s.nodes) return refuse('the page and preview plan named nodes only; for --count/nodeSelector bookings the operator chooses the nodes after the booking is made');
  const byName = new Map(nodes.map((n) => [n.metadata.name!, n]));
  const problems = s.nodes.map((n) => nodeProblem(n, byName.get(n))).filter((x): x is string => Boolean(x));
  if (problems.length) return refuse(problems.join('; '));
  const fixedStart = s.start !== undefined ? Date.parse(s.start) : undefined;
  const dur = s.end !== undefined ? Date.parse(s.end) - (fixedStart ?? now) : parseDuration(s.duration ?? config.defaultDuration) * 1000;
  if (dur <= 0) return refuse(`spec.end: ${s.end} is not after the start`);
  if (dur > config.maxDuration * 1000) return refuse(`the booking lasts ${formatDuration(dur / 1000)}, longer than the cluster's maxDuration ${formatDuration(config.maxDuration)}`);
  const slots = slotsByNode(bookings, `${b.metadata.namespace}/${b.metadata.name}`);
  const overlapping = (start: number, end: number) =>
    s.nodes!.flatMap((n) => (slots.get(n) ?? []).filter((x) => x.start < end && x.end > start).map((x) => ({ node: n, ...x })));
  if (fixedStart !== undefined || s.end !== undefined) {
    const start = fixedStart ?? now;
    const end = start + dur;
    const clash = overlapping(start, end);
    if (clash.length) {
      const c = clash[0];
      return refuse(`the slot ${hhmm(start)} to ${hhmm(end)} overlaps ${c.booking} (${c.user}) on ${c.node}, which holds it from ${hhmm(c.start)} to ${hhmm(c.end)}${clash.length > 1 ? ` (and ${clash.length - 1} more)` : ''}; pick another time or node`);
    }
    return { ok: true, nodes: s.nodes, start, end, waitingFor: [], message: `reserved from ${hhmm(start)} to ${hhmm(end)} on ${s.nodes.join(', ')}` };
  }
  // As soon as possible: the earliest start where every node is free for the whole duration.
  let t = now;
  const blockers = new Map<string, { node: string; booking: string; user: string; until: string }>();
  for (let guard = 0; guard < 10_000; guard++) {
    const clash = overlapping(t, t + dur);
    if (!clash.length) break;
    for (const c of clash) blockers.set(`${c.node}|${c.booking}`, { node: c.node, booking: c.booking, user: c.user, until: rfc3339(c.end) });
    t = Math.max(...clash.map((c) => c.end));
  }
  const waitingFor = [...blockers.values()];
  if (t > now && s.queue === false) {
    const w = waitingFor[0];
    return refuse(`${w.node} is busy until ${hhmm(Date.parse(w.until))} (${w.booking}); without the queue the booking is refused (Busy)`, 'Busy');
  }
  const message = t > now
    ? `planned to start at ${hhmm(t)}, after ${[...new Set(waitingFor.map((w) => `${w.booking} (${w.user})`))].join(', ')}`
    : `starts now, until ${hhmm(t + dur)}`;
  return { ok: true, nodes: s.nodes, start: t, end: t + dur, waitingFor, message };
}
