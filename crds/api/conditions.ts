// Conditions, as Kubernetes keeps them: one per type, with the time its status last changed.
import type { Condition } from './types.js';
import { rfc3339 } from './time.js';

/** Sets a condition in a list (pure), keeping lastTransitionTime when the status did not change. */
export function setCondition(conds: Condition[] | undefined, c: Omit<Condition, 'lastTransitionTime'>, now: number): Condition[] {
  const list = [...(conds ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : rfc3339(now) };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/**
 * Booking conditions of healing and idle release (the operator sets them; kiwictl, kiwi-web and
 * notifications read them). Degraded: a node of the booking failed; reason NodeFailed while it
 * waits (for the node, or for a free one to take its place), Replaced once another took its
 * place, NodeBack when the failed node returned. IdleWarning: True while the booking is about
 * to end because its user is idle on all its nodes.
 */
export const DEGRADED = 'Degraded';
export const IDLE_WARNING = 'IdleWarning';

/** Is a condition of this type set True with this reason (any reason when none is given)? */
export function hasCondition(conds: Condition[] | undefined, type: string, reason?: string): boolean {
  return conds?.some((c) => c.type === type && c.status === 'True' && (reason === undefined || c.reason === reason)) ?? false;
}
