// Phase "idle": idle release. An Active booking that opted in (its entries carry `idle`, from
// spec.idleRelease or the cluster's default) ends with reason Idle once its user has been idle on
// ALL its nodes for idleRelease.after, and only after a warning of idleRelease.warnBefore:
// condition IdleWarning on the booking (the daemons write to the user's terminals by their own
// measurement, decide/idle.ts). Each node's daemon reports in its Node status (activity[]) since
// when the user has been idle there; a node that does not say so for this entry (no report, an
// old one of another entry, the user active, its heartbeat gone) keeps the booking: never ended
// while its user may be active on any of its nodes. Runs before the queue, which gets the nodes.
import type { BookingStatus } from '../../../../crds/api/pure.js';
import { IDLE_WARNING, setCondition } from '../../../../crds/api/pure.js';
import { bookingEvent, expire, human, pauseDue, unplace, wakeNodes, type Desired, type PassState } from '../pass.js';

/** Since when the booking's user has been idle on every one of its nodes (the latest of the nodes' reports), or undefined. */
export function idleSince(s: PassState, d: Desired): number | undefined {
  let since = -Infinity;
  for (const n of d.status.nodes ?? []) {
    const e = d.entries.get(n)?.[0];
    const nv = s.nodes.get(n);
    if (!e?.idle || !nv?.heartbeat) return undefined;
    const a = nv.node.status?.activity?.find((x) => x.entryUid === e.uid && x.booking === d.view.key);
    const t = a?.idleSince ? Date.parse(a.idleSince) : NaN;
    if (!Number.isFinite(t)) return undefined;
    since = Math.max(since, t, e.start); // nothing before the entry began counts (a replacement starts anew)
  }
  return Number.isFinite(since) ? since : undefined;
}

export function* idle(s: PassState): Generator<void, void, void> {
  for (const d of [...s.desired.values()]) {
    if (pauseDue(s)) yield;
    if (d.status.phase !== 'Active' || !d.entries.size) continue;
    const policy = [...d.entries.values()][0][0]?.idle;
    const st = d.status;
    const warned = st.conditions?.find((c) => c.type === IDLE_WARNING && c.status === 'True');
    const since = policy ? idleSince(s, d) : undefined;
    const warnAt = since !== undefined ? since + (policy!.after - policy!.warnBefore) * 1000 : undefined;
    if (since === undefined || warnAt! > s.now) {
      if (warned) clearWarning(s, d, since === undefined ? 'its user is active on one of its nodes (or a node does not report)' : `its user was active until ${human(since)}`);
      if (warnAt !== undefined) wakeNodes(s, d.entries.keys(), warnAt);
      continue;
    }
    // Warned: the end comes after.after idle, and never sooner than warnBefore after the warning.
    const warnedAt = warned?.lastTransitionTime ? Date.parse(warned.lastTransitionTime) : s.now;
    const endAt = Math.max(since + policy!.after * 1000, warnedAt + policy!.warnBefore * 1000);
    if (warned && endAt <= s.now) {
      unplace(s, d);
      expire(s, d.view, 'Idle', `ended at ${human(s.now)}: its user was idle on all its nodes (${(st.nodes ?? []).join(', ')}) since ${human(since)}, for idleRelease.after ${policy!.after}s; warned at ${human(warnedAt)}`, 'Warning');
      continue;
    }
    wakeNodes(s, d.entries.keys(), endAt);
    const message = `its user has been idle on all its nodes since ${human(since)}; it ends at ${human(endAt)} (reason Idle) unless they use one of them`;
    if (warned?.message === message) continue;
    d.status = { ...st, conditions: setCondition(st.conditions, { type: IDLE_WARNING, status: 'True', reason: 'Idle', message }, s.now) };
    if (!warned) d.events.push(bookingEvent(s, d.view, 'Warning', IDLE_WARNING, message));
    d.transition ||= IDLE_WARNING;
  }
}

function clearWarning(s: PassState, d: Desired, why: string): void {
  const status: BookingStatus = { ...d.status, conditions: setCondition(d.status.conditions, { type: IDLE_WARNING, status: 'False', reason: 'Active', message: why }, s.now) };
  d.status = status;
  d.events.push(bookingEvent(s, d.view, 'Normal', 'Active', `idle warning taken back: ${why}`));
  d.transition ||= 'Active';
}
