// kiwictl usage, the pure part: the accounts' balances (each ledger as it stands now: rolled to
// the current period, with the allocation the spec gives), node-hours and units from usage
// records grouped by user, account, pool or node, and sreport's cluster utilization (allocated
// against idle node-hours). Units are summed in thousandths, as the ledger counts them.
import type { Account, Booking, UsageRecord } from '../../../../crds/api/types.js';
import { allocationMilli, decodeLedger, encodeLedger, periodOf, rollLedger, toMilli, toUnits } from '../../../../crds/api/ledger.js';

export const DIMENSIONS = ['user', 'account', 'pool', 'node'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface AccountRow {
  account: string;
  period: string;
  allocation?: number;
  available?: number;
  encumbered: number;
  charged: number;
  members: string[];
  problem?: string;
}

/** Each account's balance now. A ledger that does not decode is shown with its problem, never trusted. */
export function accountRows(accounts: Account[], now: number): AccountRow[] {
  return accounts
    .map((a) => {
      const name = a.metadata.name!;
      const period = periodOf(a.spec?.allocation?.period, now);
      const members = [...(a.spec?.members?.users ?? []), ...(a.spec?.members?.groups ?? []).map((g) => `@${g}`)];
      const d = decodeLedger(a.status, period);
      if ('problem' in d) return { account: name, period, encumbered: 0, charged: 0, members, problem: d.problem };
      const st = encodeLedger(rollLedger(d.ledger, period), allocationMilli(a));
      return { account: name, period, ...(st.allocation !== undefined ? { allocation: st.allocation, available: st.available } : {}), encumbered: st.encumbered ?? 0, charged: st.charged ?? 0, members };
    })
    .sort((x, y) => (x.account < y.account ? -1 : 1));
}

/** The account with its ledger as it stands now (rolled to the current period, the spec's allocation), for tables. */
export function withCurrentLedger(a: Account, now: number): Account {
  const period = periodOf(a.spec?.allocation?.period, now);
  const d = decodeLedger(a.status, period);
  if ('problem' in d) return a;
  return { ...a, status: encodeLedger(rollLedger(d.ledger, period), allocationMilli(a)) };
}

export interface UsageRow {
  /** The group's values, by dimension ('-' where a record has none). */
  group: Partial<Record<Dimension, string>>;
  bookings: number;
  nodeHours: number;
  units: number;
}

/**
 * Usage records filed in [from, to) (by the end of use, as the ledger charges them), grouped by
 * `by`. A record grouped by node counts once per node, with its node-seconds and units shared out
 * evenly among its nodes.
 */
export function usageRows(records: UsageRecord[], by: Dimension[], from: number, to: number): UsageRow[] {
  const groups = new Map<string, { group: UsageRow['group']; bookings: number; nodeSeconds: number; milli: number }>();
  for (const r of records) {
    const t = Date.parse(r.spec.filedAt);
    if (!(t >= from && t < to)) continue;
    const nodes = by.includes('node') ? (r.spec.nodes.length ? r.spec.nodes : ['-']) : [undefined];
    const milli = toMilli(r.spec.units ?? 0);
    nodes.forEach((node, i) => {
      const group: UsageRow['group'] = {};
      for (const d of by) group[d] = d === 'node' ? node! : (d === 'user' ? r.spec.user : r.spec[d]) ?? '-';
      const k = JSON.stringify(by.map((d) => group[d]));
      const g = groups.get(k) ?? { group, bookings: 0, nodeSeconds: 0, milli: 0 };
      g.bookings += i === 0 ? 1 : 0;
      g.nodeSeconds += r.spec.nodeSeconds / nodes.length;
      // Shared out in whole thousandths, the remainder to the first node: the parts add up to the record.
      const share = Math.floor(milli / nodes.length);
      g.milli += share + (i === 0 ? milli - share * nodes.length : 0);
      groups.set(k, g);
    });
  }
  return [...groups.values()]
    .map((g) => ({ group: g.group, bookings: g.bookings, nodeHours: Math.round(g.nodeSeconds / 36) / 100, units: toUnits(g.milli) }))
    .sort((a, b) => b.units - a.units || b.nodeHours - a.nodeHours || (JSON.stringify(a.group) < JSON.stringify(b.group) ? -1 : 1));
}

export interface Utilization {
  from: string;
  to: string;
  nodes: number;
  /** Node-hours the nodes existed for in the period (nodes x its length). */
  totalNodeHours: number;
  /** Node-hours held by bookings (finished, from their records, and Active ones until now), within the period. */
  allocatedNodeHours: number;
  idleNodeHours: number;
  allocatedPercent: number;
}

/** sreport cluster utilization: what bookings held of what the nodes could give, over [from, to). */
export function utilization(records: UsageRecord[], active: Booking[], nodes: number, from: number, to: number, now: number): Utilization {
  let held = 0;
  const clip = (start: number, end: number, n: number) => (held += n * Math.max(0, Math.min(end, to) - Math.max(start, from)));
  for (const r of records) if (r.spec.startTime && r.spec.endTime) clip(Date.parse(r.spec.startTime), Date.parse(r.spec.endTime), r.spec.nodes.length);
  for (const b of active) if (b.status?.phase === 'Active' && b.status.startTime) clip(Date.parse(b.status.startTime), Math.min(now, Date.parse(b.status.endTime ?? '') || now), b.status.nodes?.length ?? 0);
  const total = nodes * Math.max(0, Math.min(to, now) - from);
  const h = (ms: number) => Math.round(ms / 36_000) / 100;
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), nodes, totalNodeHours: h(total), allocatedNodeHours: h(held), idleNodeHours: h(Math.max(0, total - held)), allocatedPercent: total ? Math.round((held / total) * 1000) / 10 : 0 };
}

/** CSV as RFC 4180: fields with a comma, quote or newline are quoted. */
export function toCsv(headers: string[], rows: (string | number)[][]): string {
  const f = (v: string | number) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [headers, ...rows].map((r) => r.map(f).join(',')).join('\n') + '\n';
}
