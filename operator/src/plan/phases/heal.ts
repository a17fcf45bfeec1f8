// Phase "heal": bookings that hold or plan a node that failed: its daemon's heartbeat has been
// gone for longer than the cluster's healing.gracePeriod, or it is drained (at once). Runs after
// lifecycle (everything that holds a slot is placed) and before the queue, so a replacement
// takes a node before anything queued can.
//
// - A booking with count + nodeSelector gets a matching node that is free from now to its end,
//   in the failed node's place: its entry there ends now (the node is not given back when it
//   returns), the new node's starts now, the end stays. Degraded (reason Replaced) says what
//   replaced what; status.replacements keeps every one. With no node free it keeps the failed
//   node and waits for one (Degraded, reason NodeFailed; while its node may have failed the pass
//   scope holds every node its selector matches, plan/scope.ts, so the first that frees is seen).
// - A booking pinned to named nodes does what spec.onNodeFailure says: Wait keeps its slot
//   (Degraded, NodeFailed, for a lost heartbeat; NodeBack when the node returns; a draining node
//   serves on until the booking ends), End ends it (reason NodeLost).
// - A reservation (fixed start, not begun) with count + nodeSelector on a NotReady node is
//   placed anew at once, like every queued booking (the placement filters leave such nodes out).
import type { BookingStatus, Condition } from '../../../../crds/api/pure.js';
import { DEGRADED, fromMap, hasCondition, matches, poolFor, setCondition } from '../../../../crds/api/pure.js';
import type { BookingView } from '../types.js';
import { filterNode } from '../filters.js';
import { firstConflict } from '../calendar.js';
import { fitsWindow } from '../../../../crds/api/windows.js';
import { bookingEvent, entryFor, expire, human, iso, pauseDue, place, unplace, wakeNodes, type Desired, type PassState } from '../pass.js';

export interface NodeFailure {
  node: string;
  reason: 'HeartbeatLost' | 'Drained';
  /** In words, naming the node and since when. */
  why: string;
}

/**
 * Has node `name` failed, as this pass sees it? NotReady for longer than the grace (or at all
 * with `grace` false: nothing has begun there), or draining or drained. Within the grace the node
 * is planned again when it ends (a time no calendar holds), with the bookings on it.
 */
export function failureOf(s: PassState, name: string, grace = true): NodeFailure | undefined {
  const st = s.nodes.get(name)?.node.status;
  if (st?.phase === 'Draining' || st?.phase === 'Drained') return { node: name, reason: 'Drained', why: `node ${name} is ${st.phase.toLowerCase()}${st.message ? ` (${st.message})` : ''}` };
  if (st?.phase !== 'NotReady') return undefined;
  // Since when: the Ready condition the readiness phase set False (absent: since unknown, never healed by time).
  const c = st.conditions?.find((x) => x.type === 'Ready' && x.status === 'False');
  const since = c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  if (!Number.isFinite(since)) return undefined;
  const why = `node ${name} stopped heartbeating at ${human(since)}`;
  if (!grace) return { node: name, reason: 'HeartbeatLost', why };
  const due = since + s.config.healing.gracePeriod * 1000;
  if (due > s.now) {
    wakeNodes(s, [name], due);
    return undefined;
  }
  return { node: name, reason: 'HeartbeatLost', why: `${why}, more than healing.gracePeriod ${s.config.healing.gracePeriod}s ago` };
}

export function* heal(s: PassState): Generator<void, void, void> {
  const requeue: BookingView[] = [];
  for (const d of [...s.desired.values()]) {
    if (pauseDue(s)) yield;
    const st = d.status;
    const b = d.view.booking;
    if (st.phase === 'Active') healActive(s, d);
    else if (st.phase === 'Pending' && d.entries.size && !b.spec.nodes) {
      // An admitted reservation (lifecycle kept its slot): off a NotReady node at once.
      const failed = [...d.entries.keys()].map((n) => failureOf(s, n, false)).filter((f) => f !== undefined);
      if (failed.length) {
        unplace(s, d);
        s.desired.delete(d.view.key);
        requeue.push(d.view);
      }
    }
  }
  // A queued booking pinned to a failed node that asked to end rather than wait.
  for (let i = s.queue.length - 1; i >= 0; i--) {
    const v = s.queue[i];
    if (v.booking.spec.onNodeFailure !== 'End' || !v.booking.spec.nodes || !v.booking.status?.phase) continue;
    const failed = v.booking.spec.nodes.map((n) => failureOf(s, n)).filter((f) => f !== undefined);
    if (!failed.length) continue;
    s.queue.splice(i, 1);
    expire(s, v, 'NodeLost', `${failed.map((f) => f.why).join('; ')}; the booking asked to end then (spec.onNodeFailure: End)`, 'Warning');
  }
  if (requeue.length) {
    s.queue.push(...requeue);
    s.queue.sort((a, b) => a.createRevision - b.createRevision || (a.key < b.key ? -1 : 1));
  }
}

function healActive(s: PassState, d: Desired): void {
  const v = d.view;
  const b = v.booking;
  const st = d.status;
  const nodes = st.nodes ?? [];
  const failed = nodes.map((n) => failureOf(s, n)).filter((f) => f !== undefined);
  if (!failed.length) {
    if (hasCondition(st.conditions, DEGRADED, 'NodeFailed')) {
      const msg = `its nodes are back (${nodes.join(', ')})`;
      d.status = { ...st, conditions: setCondition(st.conditions, { type: DEGRADED, status: 'False', reason: 'NodeBack', message: msg }, s.now) };
      d.events.push(bookingEvent(s, v, 'Normal', 'NodeBack', msg));
      d.transition ||= 'NodeBack';
    }
    return;
  }
  if (b.spec.nodes) {
    const why = failed.map((f) => f.why).join('; ');
    if (b.spec.onNodeFailure === 'End') {
      unplace(s, d);
      expire(s, v, 'NodeLost', `${why}; the booking asked to end then (spec.onNodeFailure: End)`, 'Warning');
      return;
    }
    // A draining node goes on serving the slot it holds (the drain waits for it): nothing is degraded.
    const lost = failed.filter((f) => f.reason === 'HeartbeatLost');
    if (lost.length) degraded(s, d, 'NodeFailed', `${lost.map((f) => f.why).join('; ')}; the booking keeps its slot and waits for it (spec.onNodeFailure: Wait)`);
    return;
  }
  const end = Date.parse(st.endTime!);
  const held = new Set(nodes);
  const cands = replacementsFor(s, v, end, held);
  const done: { f: NodeFailure; by: string }[] = [];
  for (const f of failed) {
    const by = cands.shift();
    if (!by) break;
    done.push({ f, by });
  }
  let status: BookingStatus = st;
  if (done.length) {
    unplace(s, d, done.map((r) => r.f.node));
    const now = s.now;
    for (const r of done) {
      const e = entryFor(s, v, now, end);
      d.entries.set(r.by, [e]);
      place(s, new Map([[r.by, [e]]]));
      held.delete(r.f.node);
      held.add(r.by);
    }
    const next = [...held].sort();
    const what = done.map((r) => `${r.f.why}: replaced by node ${r.by}`).join('; ');
    status = {
      ...st,
      nodes: next,
      message: `on ${next.join(', ')} until ${human(end)} (${done.map((r) => `${r.f.node} replaced by ${r.by}`).join(', ')})`,
      replacements: [...(st.replacements ?? []), ...done.map((r) => ({ node: r.f.node, by: r.by, time: iso(now), reason: r.f.reason }))],
      conditions: setCondition(st.conditions, { type: DEGRADED, status: 'True', reason: 'Replaced', message: `${what} at ${human(now)}; the booking keeps its end ${human(end)}` }, now),
    };
    d.status = status;
    d.events.push(bookingEvent(s, v, 'Warning', 'Replaced', `${what}, from ${human(now)} until ${human(end)}`));
    d.transition = 'Replaced';
  }
  const left = failed.slice(done.length);
  if (left.length) {
    const sel = Object.entries(b.spec.nodeSelector ?? {}).map(([k, x]) => `${k}=${x}`).join(',') || '(any)';
    degraded(s, d, 'NodeFailed', `${left.map((f) => f.why).join('; ')}; no other node matching nodeSelector ${sel} is free until ${human(end)}: the booking keeps it and takes the first that frees`);
  }
}

/** Nodes that may take a failed node's place: matching, in its pool, passing every placement filter, free from now to `end`. */
function replacementsFor(s: PassState, v: BookingView, end: number, held: Set<string>): string[] {
  const b = v.booking;
  const sel = fromMap(b.spec.nodeSelector);
  // With pools, only the booking's pool's nodes (the PoolMember filter).
  const pool = s.input.pools?.length ? poolFor(s.input.pools, b.spec.pool) : undefined;
  const req = { booking: b, durationMs: end - s.now, now: s.now, ...(pool ? { pool } : {}) };
  const out: string[] = [];
  for (const n of [...s.nodes.keys()].sort()) {
    if (held.has(n)) continue;
    const nv = s.nodes.get(n)!;
    if (!matches(sel, nv.node.metadata.labels) || filterNode(req, n, nv)) continue;
    if (!fitsWindow(nv.node.spec?.reservableWindows, s.now, end)) continue;
    if (firstConflict(s.calendars.get(n) ?? [], s.now, end)) continue;
    out.push(n);
  }
  return out;
}

/** Sets Degraded; an event when its reason or message is new. */
function degraded(s: PassState, d: Desired, reason: string, message: string): void {
  const st = d.status;
  const prev: Condition | undefined = st.conditions?.find((c) => c.type === DEGRADED);
  if (prev?.status === 'True' && prev.reason === reason && prev.message === message) return;
  d.status = { ...st, conditions: setCondition(st.conditions, { type: DEGRADED, status: 'True', reason, message }, s.now) };
  d.events.push(bookingEvent(s, d.view, 'Warning', reason, message));
  d.transition ||= reason;
}
