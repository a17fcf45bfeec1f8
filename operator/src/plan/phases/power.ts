// Phases "powerState" and "power": power saving inside the pass (the decisions are
// operator/src/power/decide.ts). powerState runs after readiness, before anything is placed, so
// that placement sees whether a node went Off or came back; power runs once every booking is
// placed, so that it powers off only what no entry needs soon and wakes what one needs.
import { DEFAULT_POWER, type NodeStatus } from '../../../../crds/api/pure.js';
import { decide, observe, powerNode, readyAt, type PowerContext, type PowerDecision, type PowerNode } from '../../power/decide.js';
import type { NodeView, PlanPower } from '../types.js';
import { nodeEvent, type PassState } from '../pass.js';

const OFF: PlanPower = { settings: DEFAULT_POWER, recentOff: [], recentOn: [] };

/** The power input of the pass (power saving off when the shell gave none). */
export const powerOf = (s: PassState): PlanPower => s.input.power ?? OFF;

/** The earliest a booking may start on the node: later than now while it is off or coming up. */
export const nodeReadyAt = (s: PassState, name: string) => readyAt(powerOf(s).settings, s.nodes.get(name)?.node.status, s.now);

export function* powerState(s: PassState): Generator<void, void, void> {
  const ctx = context(s);
  for (const [name, nv] of s.nodes) {
    const p = nv.node.status?.phase;
    if (p !== 'PoweringOff' && p !== 'Off' && p !== 'Resuming') continue;
    apply(s, observe(ctx, view(s, name, nv)));
  }
}

export function* power(s: PassState): Generator<void, void, void> {
  const ctx = context(s);
  const nodes: PowerNode[] = [];
  for (const [name, nv] of s.nodes) {
    const p = nv.node.status?.phase;
    if (p === 'Ready' || p === 'Off' || p === 'Resuming') nodes.push(view(s, name, nv));
  }
  for (const d of decide(ctx, nodes)) apply(s, d);
}

function context(s: PassState): PowerContext {
  const p = powerOf(s);
  return { settings: p.settings, now: s.now, recentOff: p.recentOff, recentOn: p.recentOn, warm: p.warm };
}

function view(s: PassState, name: string, nv: NodeView): PowerNode {
  return powerNode(powerOf(s).settings, nv.node, nv.heartbeat, s.calendars.get(name) ?? []);
}

/** Merges a decision into the pass: the node's status as later phases see it, and its action. */
function apply(s: PassState, d: PowerDecision): void {
  if (d.wakeAt !== undefined) s.nodeWakes.set(d.name, Math.min(d.wakeAt, s.nodeWakes.get(d.name) ?? Infinity));
  if (!d.status) return;
  const nv = s.nodes.get(d.name)!;
  const status: NodeStatus = d.status;
  const prev = s.nodeActions.get(d.name);
  const events = [...(prev?.events ?? [])];
  if (d.event) events.push(nodeEvent(s, d.name, d.event.type, d.event.reason, d.event.message));
  // A phase change names the transition; a record alone (idleSince) keeps what readiness named.
  const transition = d.event ? (status.phase ?? d.event.reason) : (prev?.transition ?? 'Power');
  s.nodeActions.set(d.name, { kind: 'node', name: d.name, statusRevision: nv.statusRevision, status, events, transition, ...(d.command ? { power: d.command } : {}) });
  s.nodes.set(d.name, { ...nv, node: { ...nv.node, status } });
}
