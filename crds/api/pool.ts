// A Pool as the programs read it: which nodes (its selector), and its spec with the defaults
// filled in. Pure and shared: the operator plans by it, kiwictl shows it (describe, info).
import type { Booking, Pool } from './types.js';
import { matches, parseSelector, type Requirement } from './selector.js';

/** The duration fields of spec.limits (validation turns text into seconds). */
export const POOL_LIMIT_DURATIONS = ['maxDuration', 'defaultDuration', 'maxStartAhead', 'extendWithin', 'maxExtend'] as const;

export const DEFAULT_FAIR_SHARE_HALF_LIFE = 7 * 86400;

/** The pool's node selector as requirements; a selector stored past validation that does not parse matches no node. */
export function poolSelector(p: Pool): Requirement[] | undefined {
  try {
    return parseSelector(p.spec?.nodeSelector ?? '');
  } catch {
    return undefined;
  }
}

/** Is a node with these labels in the pool? */
export function inPool(p: Pool, labels: Record<string, string> | undefined): boolean {
  const sel = poolSelector(p);
  return sel !== undefined && matches(sel, labels);
}

/** The pool a booking that names `name` (or none) is in: the named one, else the default (first by name); undefined when none. */
export function poolFor(pools: Pool[], name: string | undefined): Pool | undefined {
  if (name !== undefined) return pools.find((p) => p.metadata.name === name);
  return defaultPool(pools);
}

export function defaultPool(pools: Pool[]): Pool | undefined {
  return [...pools].filter((p) => p.spec?.default).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1))[0];
}

/** Pending bookings counted by pool ("none" without Pool objects, "unknown" for a pool that is gone) and by reason (status.pendingReason, else status.reason). */
export function waitingByPool(bookings: Booking[], pools: Pool[]): { pool: string; reason: string; count: number }[] {
  const m = new Map<string, number>();
  for (const b of bookings) {
    if (b.status?.phase !== 'Pending') continue;
    const pool = pools.length ? poolFor(pools, b.spec?.pool)?.metadata.name ?? 'unknown' : 'none';
    const k = `${pool}\0${b.status.pendingReason ?? b.status.reason ?? 'Queued'}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, count]) => ({ pool: k.split('\0')[0], reason: k.split('\0')[1], count }));
}
