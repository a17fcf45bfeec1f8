// Phase "pools": with Pool objects, what each user (and group) already holds in each pool is
// counted (Active bookings, begun slots and reservations, as lifecycle left them), and each
// pool's part of the queue is put in the pool's order. FIFO keeps arrival order; RoundRobin
// takes every user's first waiting booking before anyone's second; FairShare takes next the
// booking of the user with the fewest decayed node-hours, counting what the queue ahead of
// them is given. Each pool's bookings keep the queue positions they had, so pools with other
// orders are not disturbed; placement then plans the queue as always (earliest slot, backfill
// that delays no one ahead in this order). Without any Pool nothing happens.
import type { Pool } from '../../../../crds/api/pure.js';
import { DEFAULT_FAIR_SHARE_HALF_LIFE } from '../../../../crds/api/pure.js';
import type { BookingView } from '../types.js';
import { userOf } from '../admission.js';
import { PoolBook } from '../pools.js';
import type { PassState } from '../pass.js';

export function* pools(s: PassState): Generator<void, void, void> {
  const list = s.input.pools ?? [];
  if (list.length === 0) return;
  const book = new PoolBook(list, s.input, s.now);
  s.pools = book;
  for (const d of s.desired.values()) {
    if (d.status.phase === 'Expired' || d.entries.size === 0) continue;
    const es = [...d.entries.values()].flat();
    book.note(d.view, Math.min(...es.map((e) => e.start)), Math.max(...es.map((e) => e.end)), d.entries.size);
  }
  for (const v of s.queue) if (v.booking.status?.phase === 'Pending') book.noteWaiting(v);
  yield;
  // Each pool's bookings, at the queue positions they hold now.
  const byPool = new Map<string, number[]>();
  s.queue.forEach((v, i) => {
    const p = book.poolOf(v.booking);
    if (!('metadata' in p)) return;
    const l = byPool.get(p.metadata.name!) ?? [];
    l.push(i);
    byPool.set(p.metadata.name!, l);
  });
  for (const [name, idx] of byPool) {
    const p = list.find((x) => x.metadata.name === name)!;
    const order = p.spec?.order ?? 'FIFO';
    if (order === 'FIFO') continue;
    const mine = idx.map((i) => s.queue[i]);
    const sorted = order === 'RoundRobin' ? roundRobin(mine, (u) => book.heldBy(p, u)) : fairShare(mine, usedNodeMs(s, book, p), s.now, s.config.defaultDuration);
    idx.forEach((i, j) => (s.queue[i] = sorted[j]));
  }
}

/**
 * Round r holds each user's r-th booking, in arrival order within the round; what a user holds
 * already (Active, reserved) are their first turns, so a user whose booking runs waits behind
 * everyone who holds none, however early their next booking came.
 */
export function roundRobin(q: BookingView[], held: (user: string) => number = () => 0): BookingView[] {
  const seen = new Map<string, number>();
  const ranked = q.map((v, i) => {
    const u = userOf(v.booking);
    const r = seen.get(u) ?? held(u);
    seen.set(u, r + 1);
    return { v, r, i };
  });
  return ranked.sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.v);
}

/**
 * Greedy fair share: the next booking is the first waiting one of the user whose decayed use
 * plus what this order has already given them is least (ties: whose next booking came first).
 * What a booking is given is what it asks: nodes x duration.
 */
export function fairShare(q: BookingView[], used: Map<string, number>, now: number, defaultDuration: number): BookingView[] {
  const perUser = new Map<string, BookingView[]>();
  for (const v of q) {
    const u = userOf(v.booking);
    const l = perUser.get(u) ?? [];
    l.push(v);
    perUser.set(u, l);
  }
  const pos = new Map(q.map((v, i) => [v.key, i]));
  const charge = new Map([...perUser.keys()].map((u) => [u, used.get(u) ?? 0]));
  const next = new Map([...perUser.keys()].map((u) => [u, 0]));
  const out: BookingView[] = [];
  while (out.length < q.length) {
    let best: string | undefined;
    for (const [u, l] of perUser) {
      const i = next.get(u)!;
      if (i >= l.length) continue;
      if (best === undefined) best = u;
      else {
        const d = charge.get(u)! - charge.get(best)!;
        if (d < 0 || (d === 0 && pos.get(l[i].key)! < pos.get(perUser.get(best)![next.get(best)!].key)!)) best = u;
      }
    }
    const l = perUser.get(best!)!;
    const v = l[next.get(best!)!];
    next.set(best!, next.get(best!)! + 1);
    out.push(v);
    charge.set(best!, charge.get(best!)! + asked(v, now, defaultDuration));
  }
  return out;
}

/** Node-ms a booking asks: its nodes times its duration (a fixed end: from now). */
function asked(v: BookingView, now: number, defaultDuration: number): number {
  const s = v.booking.spec;
  const n = s.nodes?.length ?? s.count ?? 1;
  const d = typeof s.duration === 'number' ? s.duration * 1000 : s.end ? Math.max(0, Date.parse(s.end) - (s.start ? Date.parse(s.start) : now)) : defaultDuration * 1000;
  return n * (Number.isFinite(d) ? d : 0);
}

/**
 * Each user's decayed use of the pool, node-ms: the bookings of the pool in the state (Active:
 * so far; Expired: what they held, kept for retention.expiredBookings), each halved for every
 * half-life between its end of use and now.
 */
export function usedNodeMs(s: PassState, book: PoolBook, p: Pool): Map<string, number> {
  const half = Number(p.spec?.fairShareHalfLife ?? DEFAULT_FAIR_SHARE_HALF_LIFE) * 1000;
  const out = new Map<string, number>();
  for (const v of s.bookings) {
    const st = v.booking.status;
    if (!st?.startTime || !st.nodes?.length || (st.phase !== 'Active' && st.phase !== 'Expired')) continue;
    const vp = book.poolOf(v.booking);
    if (!('metadata' in vp) || vp.metadata.name !== p.metadata.name) continue;
    const start = Date.parse(st.startTime);
    const end = Math.min(st.endTime ? Date.parse(st.endTime) : s.now, s.now);
    if (!(end > start)) continue;
    const w = (end - start) * st.nodes.length * Math.pow(0.5, (s.now - end) / half);
    const u = userOf(v.booking);
    out.set(u, (out.get(u) ?? 0) + w);
  }
  return out;
}
