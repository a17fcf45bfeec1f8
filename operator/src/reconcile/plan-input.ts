// The planner's input from the leader's cache, one way for every caller: the reconciler's passes
// (a whole pass, or a slice of a scope) and the server-side dry run (dryrun/server.ts), which
// must plan exactly what a pass would, or its answer is not the operator's decision (they
// drifted once: the dry run had no bookingUid and no power history).
import { effectiveConfig, effectivePower } from '../../../crds/api/index.js';
import type { UserLookup } from '../../../crds/api/users.js';
import type { BookingView, CalendarView, NodeView, PlanInput, PlanPower } from '../plan/index.js';
import { isWarm, powerNode } from '../power/decide.js';
import type { ClusterCache } from './cache.js';
import { accountGroups, poolGroups, type GroupLookup } from './groups.js';

export interface PlanInputOptions {
  now: number;
  users?: UserLookup;
  groups?: GroupLookup;
  /** A scope's part of the cache (ClusterCache.slice); absent: everything. */
  slice?: { bookings: BookingView[]; nodes: Map<string, NodeView>; calendars: Map<string, CalendarView> };
  /** Users whose groups must be resolved beside the bookings' (a dry run's own user). */
  alsoUsers?: string[];
}

export function planInputOf(cache: ClusterCache, o: PlanInputOptions): PlanInput {
  const { slice } = o;
  const input: PlanInput = {
    now: o.now,
    config: effectiveConfig(cache.config()),
    bookings: slice?.bookings ?? cache.bookings(),
    // Copies: planning may pause, and the cache replaces values in these maps meanwhile (never
    // changes one), so the writes compare exactly the revisions planned on.
    nodes: slice?.nodes ?? new Map(cache.nodes()),
    calendars: slice?.calendars ?? new Map(cache.calendars),
    users: o.users,
    accounts: new Map(cache.accounts()),
    bookingUid: (k) => cache.booking(k)?.booking.metadata.uid,
    power: powerInputOf(cache, o.now),
  };
  const pools = cache.pools();
  const inAccounts = accountGroups(input.accounts!);
  if (pools.length) input.pools = pools;
  if (pools.length || inAccounts.length) input.groups = poolGroups(pools, [...(o.alsoUsers ?? []), ...input.bookings.map((b) => b.key.split('/')[0])], o.groups, o.users, inAccounts);
  return input;
}

/**
 * Power saving's input: the settings, and when nodes were last told to power off and on over
 * the whole cluster (a piece sees only its own nodes, and the rates are the cluster's).
 */
export function powerInputOf(cache: ClusterCache, now: number): PlanPower {
  const settings = effectivePower(cache.config());
  const recentOff: number[] = [];
  const recentOn: number[] = [];
  const from = now - 60_000;
  let warm = 0;
  for (const [name, nv] of cache.nodes()) {
    if (settings.keepIdle && isWarm(settings, powerNode(settings, nv.node, nv.heartbeat, cache.calendars.get(name)?.entries ?? []), now)) warm++;
    const p = nv.node.status?.power;
    const off = p?.lastOffTime ? Date.parse(p.lastOffTime) : NaN;
    const on = p?.lastOnTime ? Date.parse(p.lastOnTime) : NaN;
    if (off > from) recentOff.push(off);
    if (on > from) recentOn.push(on);
  }
  return settings.keepIdle ? { settings, recentOff, recentOn, warm } : { settings, recentOff, recentOn };
}
