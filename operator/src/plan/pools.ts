// Pools and their limits, pure: which pool a booking is in, whether its user may book it, and
// what the pool's limits say about a slot. Each rule answers a FilterStatus (status.ts): Reject
// when asking this can never pass (verdict() turns it into a wait for a booking admitted
// before), Wait when what others (or the user's own bookings) hold must end first. Reasons are
// in the form of Slurm's pending reasons: the limit, its value, what the user holds.
//
// What a user holds in a pool: the entries of their bookings of that pool that end after now,
// as this pass has decided them so far (Active and begun slots first, then each queued booking
// as it is placed), so a limit is checked against exactly the calendar being built. Without any
// Pool object none of this runs (PassState.pools is undefined).
import type { Booking, Pool } from '../../../crds/api/pure.js';
import { formatDuration, inPool, poolFor } from '../../../crds/api/pure.js';
import { windowIntervals, type Window } from '../../../crds/api/windows.js';
import { reject, wait, type FilterStatus } from './status.js';
import type { BookingView, PlanInput } from './types.js';
import { userOf } from './admission.js';
import { isAdmin } from '../../../crds/api/users.js';

const H = 3_600_000;

/** One booking's hold in a pool: its nodes from start to end. */
interface Hold {
  key: string;
  start: number;
  end: number;
  nodes: number;
}

type Limits = NonNullable<NonNullable<Pool['spec']>['limits']>;
type Held = NonNullable<Limits['perUser']>;

export class PoolBook {
  private readonly byName: Map<string, Pool>;
  /** `${pool}\0u:${user}` or `${pool}\0g:${group}` -> holds */
  private readonly holds = new Map<string, Hold[]>();
  /** Which holder keys a booking was counted under (so that it is counted once). */
  private readonly counted = new Set<string>();
  /** Pending bookings per holder key (the waiting limit). */
  private readonly waiting = new Map<string, Set<string>>();

  constructor(readonly pools: Pool[], private readonly input: Pick<PlanInput, 'groups' | 'config'>, private readonly now: number) {
    this.byName = new Map(pools.map((p) => [p.metadata.name!, p]));
  }

  /** The pool a booking is in (named, or the default), or the reason it has none. */
  poolOf(b: Booking): Pool | FilterStatus {
    const name = b.spec?.pool;
    const p = poolFor(this.pools, name);
    if (p) return p;
    const known = [...this.byName.keys()].sort().join(', ');
    return name !== undefined
      ? reject('PoolNotFound', `PoolNotFound: pool ${name} does not exist (pools: ${known})`)
      : reject('PoolNotFound', `PoolNotFound: the booking names no pool and no pool is the default (pools: ${known}); name one (spec.pool, kiwictl alloc --pool POOL)`);
  }

  /** The groups of a user that the pool names (allowGroups): perGroup limits apply to each. */
  groupsIn(p: Pool, user: string): string[] {
    const mine = new Set(this.input.groups?.get(user) ?? []);
    return (p.spec?.allowGroups ?? []).filter((g) => mine.has(g));
  }

  /** Holder keys of a user in a pool: the user's own, and each of their pool groups'. */
  private holders(p: Pool, user: string): { key: string; group?: string }[] {
    const name = p.metadata.name!;
    return [{ key: `${name}\0u:${user}` }, ...this.groupsIn(p, user).map((g) => ({ key: `${name}\0g:${g}`, group: g }))];
  }

  /** Counts what a booking holds (its entries as this pass decided them) against its pool. */
  note(v: BookingView, start: number, end: number, nodes: number): void {
    if (end <= this.now || this.counted.has(v.key)) return;
    const p = this.poolOf(v.booking);
    if (!('metadata' in p)) return;
    this.counted.add(v.key);
    for (const h of this.holders(p, userOf(v.booking))) {
      const l = this.holds.get(h.key) ?? [];
      l.push({ key: v.key, start, end, nodes });
      this.holds.set(h.key, l);
    }
  }

  /** How many bookings a user holds in a pool now (Active, begun or reserved, as lifecycle left them). */
  heldBy(p: Pool, user: string): number {
    return (this.holds.get(`${p.metadata.name}\0u:${user}`) ?? []).filter((x) => x.end > this.now).length;
  }

  /** Counts a booking as waiting (Pending, held or not) in its pool. */
  noteWaiting(v: BookingView): void {
    const p = this.poolOf(v.booking);
    if (!('metadata' in p)) return;
    for (const h of this.holders(p, userOf(v.booking))) {
      const s = this.waiting.get(h.key) ?? new Set<string>();
      s.add(v.key);
      this.waiting.set(h.key, s);
    }
  }

  /**
   * The rules that do not depend on the slot: access, open or closed, per-booking limits, the
   * waiting, bookings and node-hours limits. `admitting`: a new booking (or a changed spec),
   * counted as waiting once it passes.
   */
  check(v: BookingView, p: Pool, t: { durationMs: number; start?: number }, count: number, admitting: boolean): FilterStatus | undefined {
    const user = userOf(v.booking);
    const name = p.metadata.name!;
    const s = p.spec ?? {};
    const l: Limits = s.limits ?? {};
    const admin = isAdmin(user, this.input.config.admins);
    if (!admin && (s.allowUsers?.length || s.allowGroups?.length)) {
      const ok = s.allowUsers?.includes(user) || this.groupsIn(p, user).length > 0;
      if (!ok) {
        const who = [s.allowUsers?.length ? `users ${s.allowUsers.join(', ')}` : '', s.allowGroups?.length ? `members of ${s.allowGroups.join(', ')}` : ''].filter(Boolean).join(' and ');
        return reject('PoolAccess', `PoolAccess: pool ${name} may be booked by ${who}; ${user} is neither`);
      }
    }
    if (l.maxDuration !== undefined && t.durationMs > Number(l.maxDuration) * 1000)
      return reject('PoolMaxDuration', `PoolMaxDuration: pool ${name} allows bookings of at most ${formatDuration(Number(l.maxDuration))}; this one asks ${formatDuration(t.durationMs / 1000)}`);
    if (l.maxNodes !== undefined && count > l.maxNodes) return reject('PoolMaxNodes', `PoolMaxNodes: pool ${name} allows ${l.maxNodes} node(s) per booking; this one asks ${count}`);
    if (l.maxStartAhead !== undefined && t.start !== undefined && t.start - this.now > Number(l.maxStartAhead) * 1000)
      return reject('PoolMaxStartAhead', `PoolMaxStartAhead: pool ${name} allows starts at most ${formatDuration(Number(l.maxStartAhead))} ahead; this one starts ${formatDuration(Math.round((t.start - this.now) / 1000))} ahead`);
    const nodeHours = (count * t.durationMs) / H;
    for (const h of this.holders(p, user)) {
      const lim = h.group ? l.perGroup : l.perUser;
      if (!lim) continue;
      const per = h.group ? `group ${h.group}` : 'user';
      const holds = h.group ? `the members of ${h.group}` : user;
      const sched = (l.schedule ?? []).map((w) => (h.group ? w.perGroupNodes : w.perUserNodes)).filter((x): x is number => x !== undefined);
      // Without perUser.nodes (perGroup.nodes) no limit applies outside the schedule's windows.
      const most = lim.nodes === undefined ? Infinity : Math.max(lim.nodes, ...sched);
      if (count > most) return reject(`PoolMaxNodesPer${h.group ? 'Group' : 'User'}`, `PoolMaxNodesPer${h.group ? 'Group' : 'User'}: pool ${name} allows at most ${most} node(s) per ${per}; this booking alone asks ${count}`);
      if (lim.nodeHours !== undefined && nodeHours > lim.nodeHours)
        return reject(`PoolMaxNodeHoursPer${h.group ? 'Group' : 'User'}`, `PoolMaxNodeHoursPer${h.group ? 'Group' : 'User'}: pool ${name} allows ${lim.nodeHours} node-hours booked ahead per ${per}; this booking alone asks ${round(nodeHours)}`);
      const waiting = this.waiting.get(h.key);
      if (admitting && lim.waiting !== undefined && !waiting?.has(v.key) && (waiting?.size ?? 0) >= lim.waiting)
        return reject(`PoolMaxWaitingPer${h.group ? 'Group' : 'User'}`, `PoolMaxWaitingPer${h.group ? 'Group' : 'User'}: pool ${name} allows ${lim.waiting} waiting booking(s) per ${per}; ${holds} ${h.group ? 'have' : 'has'} ${waiting?.size ?? 0}`);
    }
    if (s.state === 'Closed') return wait('PoolClosed', `PoolClosed: pool ${name} is closed: it starts nothing new until an admin opens it (spec.state: Open)`);
    for (const h of this.holders(p, user)) {
      const lim = h.group ? l.perGroup : l.perUser;
      if (!lim) continue;
      const per = h.group ? `group ${h.group}` : 'user';
      const holds = h.group ? `the members of ${h.group} hold` : `${user} holds`;
      const live = (this.holds.get(h.key) ?? []).filter((x) => x.end > this.now && x.key !== v.key);
      if (lim.bookings !== undefined && live.length >= lim.bookings)
        return wait(`PoolMaxBookingsPer${h.group ? 'Group' : 'User'}`, `PoolMaxBookingsPer${h.group ? 'Group' : 'User'}: pool ${name} allows ${lim.bookings} booking(s) held per ${per}; ${holds} ${live.length}`);
      if (lim.nodeHours !== undefined) {
        const ahead = live.reduce((n, x) => n + (x.nodes * (x.end - Math.max(x.start, this.now))) / H, 0);
        if (ahead + nodeHours > lim.nodeHours + 1e-9)
          return wait(`PoolMaxNodeHoursPer${h.group ? 'Group' : 'User'}`, `PoolMaxNodeHoursPer${h.group ? 'Group' : 'User'}: pool ${name} allows ${lim.nodeHours} node-hours booked ahead per ${per}; ${holds} ${round(ahead)} and this booking asks ${round(nodeHours)}`);
      }
    }
    return undefined;
  }

  /**
   * The nodes-held limits (perUser.nodes, perGroup.nodes and the schedule's) over the slot
   * [start, end) of `count` nodes: undefined when every moment of it keeps to them; else the
   * status and the first time after which a later start can keep to them (undefined: none).
   */
  nodesOver(v: BookingView, p: Pool, start: number, end: number, count: number): { status: FilterStatus; retryAt?: number } | undefined {
    const user = userOf(v.booking);
    const l: Limits = p.spec?.limits ?? {};
    const tz = p.spec?.timeZone ?? 'UTC';
    for (const h of this.holders(p, user)) {
      const lim: Held | undefined = h.group ? l.perGroup : l.perUser;
      const windows = (l.schedule ?? [])
        .map((w) => ({ w: { start: w.start, end: w.end, days: w.days, timeZone: tz } as Window, nodes: h.group ? w.perGroupNodes : w.perUserNodes }))
        .filter((x): x is { w: Window; nodes: number } => x.nodes !== undefined);
      if (lim?.nodes === undefined && windows.length === 0) continue;
      const holds = (this.holds.get(h.key) ?? []).filter((x) => x.key !== v.key && x.end > start && x.start < end);
      const occ = windows.flatMap((x) => windowIntervals(x.w, start, end).map(([a, b]) => ({ a, b, x })));
      const points = [...new Set([start, ...holds.flatMap((x) => [x.start, x.end]), ...occ.flatMap((o) => [o.a, o.b])])].filter((t) => t >= start && t < end).sort((a, b) => a - b);
      for (const t of points) {
        const open = occ.filter((o) => o.a <= t && t < o.b);
        // Among windows open at once, the strictest applies.
        const limit = open.length ? Math.min(...open.map((o) => o.x.nodes)) : lim?.nodes;
        if (limit === undefined) continue;
        const held = holds.filter((x) => x.start <= t && t < x.end).reduce((n, x) => n + x.nodes, 0);
        if (held + count <= limit) continue;
        const per = h.group ? `group ${h.group}` : 'user';
        const when = open.length ? ` ${describeWindowShort(open.find((o) => o.x.nodes === limit)!.x.w)}` : l.schedule?.length ? ' outside its schedule' : '';
        const who = h.group ? `the members of ${h.group} hold` : `${user} holds`;
        const plugin = `PoolMaxNodesPer${h.group ? 'Group' : 'User'}`;
        const later = [...holds.map((x) => x.end), ...occ.flatMap((o) => [o.a, o.b])].filter((x) => x > t).sort((a, b) => a - b)[0];
        return { status: wait(plugin, `${plugin}: pool ${p.metadata.name} allows ${limit} node(s) per ${per}${when}; ${who} ${held}`), retryAt: later };
      }
    }
    return undefined;
  }

  /** An extension of an Active booking against its pool's extendWithin, maxExtend and maxDuration; '' when allowed. */
  extendProblem(v: BookingView, start: number, end: number, newEnd: number): { reason: string; plugin: string } | undefined {
    const p = this.poolOf(v.booking);
    if (!('metadata' in p)) return undefined;
    const l: Limits = p.spec?.limits ?? {};
    const name = p.metadata.name;
    if (l.extendWithin !== undefined && end - this.now > Number(l.extendWithin) * 1000)
      return { plugin: 'PoolExtendWithin', reason: `PoolExtendWithin: pool ${name} allows extending only in the last ${formatDuration(Number(l.extendWithin))} of a booking; this one ends in ${formatDuration(Math.round((end - this.now) / 1000))}` };
    if (l.maxExtend !== undefined && newEnd - end > Number(l.maxExtend) * 1000)
      return { plugin: 'PoolMaxExtend', reason: `PoolMaxExtend: pool ${name} allows extending by at most ${formatDuration(Number(l.maxExtend))} at once; asked ${formatDuration(Math.round((newEnd - end) / 1000))}` };
    if (l.maxDuration !== undefined && newEnd - start > Number(l.maxDuration) * 1000)
      return { plugin: 'PoolMaxDuration', reason: `PoolMaxDuration: pool ${name} allows bookings of at most ${formatDuration(Number(l.maxDuration))}; extended it would last ${formatDuration(Math.round((newEnd - start) / 1000))}` };
    return undefined;
  }

  /** Is the node in the pool (its label selector)? */
  has(p: Pool, labels: Record<string, string> | undefined): boolean {
    return inPool(p, labels);
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'];
/** A schedule window as users read it: "weekdays 09:00-18:00 Europe/Berlin". */
export function describeWindowShort(w: Window): string {
  const d = w.days ?? [];
  const days = d.length === 0 || d.length === 7 ? '' : d.length === 5 && WEEKDAYS.every((x) => d.includes(x as never)) ? 'weekdays ' : d.length === 2 && d.includes('Sat') && d.includes('Sun') ? 'weekends ' : `${d.join(',')} `;
  return `${days}${w.start}-${w.end} ${w.timeZone ?? 'UTC'}`;
}
