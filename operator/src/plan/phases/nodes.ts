// Phases "readiness" and "drained": a node's phase from its daemon's heartbeat and an admin's
// drain request, before any booking is planned (what is planned sees it); and, once every
// booking is planned, a draining node that nothing holds now is Drained. Apart from booking
// planning: bookings only read s.nodes.
import type { KiwiEvent, NodeStatus } from '../../../../crds/api/pure.js';
import { DRAIN_ANNOTATION, setCondition } from '../../../../crds/api/pure.js';
import { nodeEvent, type PassState } from '../pass.js';
import type { NodeAction, NodeView } from '../types.js';

/** The daemon drained the node because a cleanup failed: only fixing that brings it back. */
const cleanupFailed = (st: NodeStatus) => st.conditions?.some((c) => c.type === 'Cleaned' && c.status === 'False') ?? false;

export function* readiness(s: PassState): Generator<void, void, void> {
  const { now } = s;
  for (const [name, nv] of s.input.nodes) {
    const st = nv.node.status ?? {};
    let next: NodeStatus | undefined;
    const events: KiwiEvent[] = [];
    if (nv.heartbeat && (st.phase === undefined || st.phase === 'NotReady')) {
      next = { ...st, phase: 'Ready', conditions: setCondition(st.conditions, { type: 'Ready', status: 'True', reason: 'Heartbeat', message: 'the node daemon heartbeats' }, now) };
      delete next.message;
      events.push(nodeEvent(s, name, 'Normal', 'NodeReady', `node ${name} is Ready: its daemon's heartbeat is back`));
    } else if (!nv.heartbeat && st.phase === 'Ready') {
      const why = "the node daemon's heartbeat stopped (its key is gone, or its value unchanged for longer than its TTL)";
      next = { ...st, phase: 'NotReady', message: why, conditions: setCondition(st.conditions, { type: 'Ready', status: 'False', reason: 'HeartbeatLost', message: why }, now) };
      events.push(nodeEvent(s, name, 'Warning', 'NodeNotReady', `node ${name} is NotReady: ${why}`));
    }
    // An admin's drain request (kiwictl drain sets the annotation, uncordon removes it).
    const drain = nv.node.metadata.annotations?.[DRAIN_ANNOTATION];
    const cur = next ?? st;
    const draining = cur.phase === 'Draining' || cur.phase === 'Drained';
    if (drain !== undefined && !draining) {
      next = { ...cur, phase: 'Draining', message: `draining: ${drain || 'asked by an admin'}` };
      events.push(nodeEvent(s, name, 'Normal', 'Draining', `node ${name} is draining (${drain || 'asked by an admin'}): nothing new is planned on it`));
    } else if (drain === undefined && draining && !cleanupFailed(cur)) {
      // The drain was taken back; a drain the daemon set after a failed cleanup stays until it is fixed.
      // Back to what the heartbeat says; a node that never had a daemon goes back to no phase.
      const hadDaemon = cur.conditions?.some((c) => c.type === 'Ready') ?? false;
      next = { ...cur, phase: nv.heartbeat ? 'Ready' : hadDaemon ? 'NotReady' : undefined };
      if (next.phase === undefined) delete next.phase;
      delete next.message;
      events.push(nodeEvent(s, name, 'Normal', 'Undrained', `node ${name} is back in service${next.phase ? ` (${next.phase})` : ''}`));
    }
    if (!next) continue;
    s.nodeActions.set(name, { kind: 'node', name, statusRevision: nv.statusRevision, status: next, events, transition: next.phase ?? 'Undrained' });
    s.nodes.set(name, { ...nv, node: { ...nv.node, status: next } });
  }
}

/** Drains that are done (no entry covers now), then every node action of the pass. */
export function* drained(s: PassState): Generator<void, void, void> {
  const { now } = s;
  for (const [name, nv] of s.nodes) {
    const st = nv.node.status ?? {}; // as this pass leaves it (readiness and drain requests applied)
    const ready = s.nodeActions.get(name);
    if (st.phase !== 'Draining' || (s.calendars.get(name) ?? []).some((e) => e.start <= now && now < e.end)) {
      if (ready) s.actions.push(judgedOnHeartbeat(ready, nv));
      continue;
    }
    const status: NodeStatus = { ...st, phase: 'Drained', message: 'drained: no booking holds it' };
    const events = [...(ready?.events ?? []), nodeEvent(s, name, 'Normal', 'Drained', `node ${name} is drained: no booking holds it`)];
    s.actions.push({ kind: 'node', name, statusRevision: nv.statusRevision, status, events, transition: 'Drained' });
  }
}

/**
 * A write that says NotReady holds only while the heartbeat key is where the cache judged it
 * stale: the writer compares its mod_revision, so a beat that landed meanwhile (seen late by a
 * watch stalled behind a paused etcd member) wins, and the node stays Ready. Ready writes carry
 * no such compare: a beat every TTL/3 would make them lose for nothing.
 */
function judgedOnHeartbeat(a: NodeAction, nv: NodeView): NodeAction {
  return a.status.phase === 'NotReady' && !nv.heartbeat ? { ...a, heartbeatRevision: nv.heartbeatRevision ?? 0 } : a;
}
