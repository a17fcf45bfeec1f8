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
