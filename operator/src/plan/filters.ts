// Filter plugins, in kube-scheduler's manner: each looks at one node for one request and
// answers undefined (fits) or a status: a code (can waiting help?) and the reason, in words a
// user can act on. What a booking then does is verdict()'s (status.ts), not the filter's.
// A new filter is one object here (or its own module) added to PLACEMENT_FILTERS.
import type { Booking, Pool } from '../../../crds/api/pure.js';
import { fromMap, matches, formatDuration, inPool } from '../../../crds/api/pure.js';
import type { NodeView } from './types.js';
import { describeWindows, longestWindow } from '../../../crds/api/windows.js';
import { reject, type FilterStatus } from './status.js';

export interface FilterRequest {
  booking: Booking;
  /** Duration in ms. */
  durationMs: number;
  now: number;
  /** The booking's pool, when there are pools: its nodes are the only candidates. */
  pool?: Pool;
}

export interface NodeFilter {
  name: string;
  check(req: FilterRequest, name: string, node: NodeView | undefined): FilterStatus | undefined;
}

export const NodeExists: NodeFilter = {
  name: 'NodeExists',
  check: (_r, name, n) => (n ? undefined : reject('NodeExists', `node ${name} does not exist`)),
};

export const NodeSchedulable: NodeFilter = {
  name: 'NodeSchedulable',
  check: (_r, name, n) => (n?.node.spec?.unschedulable ? reject('NodeSchedulable', `node ${name} is cordoned (spec.unschedulable)`) : undefined),
};

export const NodeNotDraining: NodeFilter = {
  name: 'NodeNotDraining',
  check: (_r, name, n) => {
    const p = n?.node.status?.phase;
    // One wording for both: a pass that sees Draining become Drained says the same thing.
    return p === 'Draining' || p === 'Drained' ? reject('NodeNotDraining', `node ${name} is drained or draining`) : undefined;
  },
};

export const NodeReady: NodeFilter = {
  name: 'NodeReady',
  check: (_r, name, n) => (n?.node.status?.phase === 'NotReady' ? reject('NodeReady', `node ${name} is NotReady (its daemon's heartbeat is gone)`) : undefined),
};

export const NodeSelectorMatch: NodeFilter = {
  name: 'NodeSelectorMatch',
  check: (r, name, n) => {
    const sel = r.booking.spec.nodeSelector;
    if (!sel || r.booking.spec.nodes) return undefined;
    return matches(fromMap(sel), n?.node.metadata.labels) ? undefined : reject('NodeSelectorMatch', `node ${name} does not match nodeSelector`);
  },
};

/** With pools: a node outside the booking's pool (its label selector) is no candidate. */
export const PoolMember: NodeFilter = {
  name: 'PoolMember',
  check: (r, name, n) =>
    r.pool && n && !inPool(r.pool, n.node.metadata.labels)
      ? reject('PoolMember', `PoolMember: node ${name} is not in pool ${r.pool.metadata.name} (nodeSelector ${JSON.stringify(r.pool.spec?.nodeSelector ?? '')})`)
      : undefined,
};

/** A booking longer than every occurrence of the node's windows can never fit. */
export const WindowCanFit: NodeFilter = {
  name: 'WindowCanFit',
  check: (r, name, n) => {
    const ws = n?.node.spec?.reservableWindows;
    if (!ws || ws.length === 0) return undefined;
    return longestWindow(ws, r.now) >= r.durationMs
      ? undefined
      : reject('WindowCanFit', `node ${name} is bookable only within ${describeWindows(ws)}; a ${formatDuration(r.durationMs / 1000)} booking never fits inside one window`);
  },
};

/** The filters a node must pass before anything new is planned on it, in order. */
export const PLACEMENT_FILTERS: NodeFilter[] = [NodeExists, PoolMember, NodeSchedulable, NodeNotDraining, NodeReady, NodeSelectorMatch, WindowCanFit];

/** undefined when the node passes every filter, else the first filter's status. */
export function filterNode(req: FilterRequest, name: string, node: NodeView | undefined, filters = PLACEMENT_FILTERS): FilterStatus | undefined {
  for (const f of filters) {
    const st = f.check(req, name, node);
    if (st) return st;
  }
  return undefined;
}

/** Score plugins rank the nodes that pass; higher first. Ties go by name. */
export interface NodeScore {
  name: string;
  score(req: FilterRequest, name: string, current: Set<string>): number;
}

/** Keep a waiting booking on the nodes it was planned on, so that re-planning does not shuffle. */
export const StayPut: NodeScore = { name: 'StayPut', score: (_r, name, current) => (current.has(name) ? 1 : 0) };

export function rankNodes(req: FilterRequest, names: string[], current: Set<string>, scores: NodeScore[] = [StayPut]): string[] {
  // The common case: nothing planned yet and only StayPut, so the (sorted) names as they are.
  if (current.size === 0 && scores.length === 1 && scores[0] === StayPut) return names;
  const s = new Map(names.map((n) => [n, scores.reduce((acc, sc) => acc + sc.score(req, n, current), 0)]));
  return [...names].sort((a, b) => s.get(b)! - s.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
}
