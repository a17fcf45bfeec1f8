// Pure: the rows of `kiwictl info`, one per node: its state, who holds it since when and until
// when, how long is left, how many bookings wait for it, its labels. From Nodes and Bookings
// (the Active bookings are the truth; the node daemon's status.booking fills in when the
// bookings cannot be read), sorted by name with numbers in order (n2 before n10).
import type { Booking, Node, Pool } from '../../../../crds/api/types.js';
import { inPool } from '../../../../crds/api/pool.js';

export interface InfoRow {
  node: string;
  /** free, booked, cordoned, booked,cordoned, draining, drained, down (daemon heartbeat gone). */
  state: string;
  user?: string;
  booking?: string;
  since?: string;
  until?: string;
  remainingSeconds?: number;
  /** Pending bookings planned on the node. */
  waiting: number;
  labels: Record<string, string>;
  /** With Pool objects: the pools the node is in. */
  pools?: string[];
}

export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Who holds a node: user, booking (NAMESPACE/NAME), since and until. */
export interface Holder {
  user?: string;
  booking: string;
  since?: string;
  until?: string;
}

/**
 * Who holds each node: its Active booking (the truth), else what the node daemon reports in
 * status.booking (when the bookings cannot be read, or a daemon saw it first).
 */
export function nodeHolders(nodes: Node[], bookings: Booking[]): Map<string, Holder> {
  const active = new Map<string, Booking>();
  for (const b of bookings) if (b.status?.phase === 'Active') for (const n of b.status.nodes ?? []) active.set(n, b);
  const out = new Map<string, Holder>();
  for (const n of nodes) {
    const name = n.metadata.name!;
    const b = active.get(name);
    const r = n.status?.booking;
    if (b) out.set(name, { user: b.metadata.namespace, booking: `${b.metadata.namespace}/${b.metadata.name}`, since: b.status?.startTime, until: b.status?.endTime });
    else if (r) out.set(name, { user: r.user, booking: r.namespace ? `${r.namespace}/${r.name}` : (r.name ?? '-'), since: r.since, until: r.until });
  }
  return out;
}

export function infoRows(nodes: Node[], bookings: Booking[], now: Date): InfoRow[] {
  const waiting = new Map<string, number>();
  for (const b of bookings) if (b.status?.phase === 'Pending') for (const n of b.status.nodes ?? []) waiting.set(n, (waiting.get(n) ?? 0) + 1);
  const holders = nodeHolders(nodes, bookings);
  const rows = nodes.map((n): InfoRow => {
    const name = n.metadata.name!;
    const held = holders.get(name);
    const phase = n.status?.phase;
    let state = phase === 'NotReady' ? 'down' : phase === 'Drained' ? 'drained' : phase === 'Draining' ? 'draining' : held ? 'booked' : 'free';
    // Power saving: bookable, woken in time for the next booking.
    if (state === 'free' && (phase === 'Off' || phase === 'PoweringOff' || phase === 'Resuming')) state = phase === 'Resuming' ? 'waking' : 'off';
    if (n.spec?.unschedulable) state = state === 'free' ? 'cordoned' : `${state},cordoned`;
    const row: InfoRow = { node: name, state, waiting: waiting.get(name) ?? 0, labels: { ...(n.metadata.labels ?? {}) } };
    if (held) {
      Object.assign(row, held);
      if (held.until) row.remainingSeconds = Math.max(0, Math.ceil((Date.parse(held.until) - now.getTime()) / 1000));
    }
    return row;
  });
  return rows.sort((a, b) => naturalCompare(a.node, b.node));
}

export function formatLabels(l: Record<string, string>): string {
  const s = Object.entries(l).map(([k, v]) => (v ? `${k}=${v}` : k)).join(',');
  return s || '-';
}

/**
 * With pools, info groups the nodes by pool, as sinfo by partition: one section per pool (a node
 * in several pools is in each), then the nodes in none. Sets each row's `pools`.
 */
export function poolSections(rows: InfoRow[], pools: Pool[]): { title: string; rows: InfoRow[] }[] {
  for (const r of rows) r.pools = pools.filter((p) => inPool(p, r.labels)).map((p) => p.metadata.name!);
  const out = [...pools]
    .sort((a, b) => naturalCompare(a.metadata.name!, b.metadata.name!))
    .map((p) => {
      const mine = rows.filter((r) => r.pools!.includes(p.metadata.name!));
      const s = p.spec ?? {};
      const free = mine.filter((r) => r.state === 'free').length;
      return { title: `POOL ${p.metadata.name}${s.default ? ' (default)' : ''}: ${s.state ?? 'Open'}, ${s.order ?? 'FIFO'}, ${mine.length} node(s), ${free} free`, rows: mine };
    });
  const none = rows.filter((r) => r.pools!.length === 0);
  if (none.length) out.push({ title: `IN NO POOL: ${none.length} node(s)`, rows: none });
  return out;
}
