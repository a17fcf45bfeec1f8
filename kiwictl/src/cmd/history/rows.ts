// Pure: the rows of `kiwictl history` (Slurm's sacct): every booking of a user over a period,
// from the bookings still stored and from the events of those already deleted (events outlive
// their booking): when it was asked for, when it started and ended, on which nodes, how it ended.
import type { Booking, KiwiEvent } from '../../../../crds/api/types.js';
import { naturalCompare } from '../info/rows.js';

export interface HistoryRow {
  booking: string; // NAMESPACE/NAME
  user: string;
  nodes: string[];
  submitted?: string;
  start?: string;
  end?: string;
  /** seconds held (start to end, or to now while Active) */
  elapsed?: number;
  /** Pending, Active, or how it ended: TimeLimit, Cancelled, NodeLost, Rejected, Busy; Deleted when only events remain */
  state: string;
  /** the booking object is gone; the row is from its events */
  deleted: boolean;
}

const ENDS = new Set(['TimeLimit', 'Cancelled', 'NodeLost', 'Rejected', 'Busy', 'Expired', 'Deleted']);

/** Bookings (and deleted bookings' events) that were asked for, or held a node, since `since` (ms). */
export function historyRows(bookings: Booking[], events: KiwiEvent[], since: number, now: number): HistoryRow[] {
  const byName = new Map<string, KiwiEvent[]>();
  for (const e of events) {
    if (e.kind !== 'Booking' || !e.namespace) continue;
    const k = `${e.namespace}/${e.name}`;
    byName.set(k, [...(byName.get(k) ?? []), e]);
  }
  for (const list of byName.values()) list.sort((a, b) => a.time.localeCompare(b.time));
  const rows: HistoryRow[] = [];
  const seen = new Set<string>();
  for (const b of bookings) {
    const k = `${b.metadata.namespace}/${b.metadata.name}`;
    seen.add(k);
    const st = b.status ?? {};
    const evs = byName.get(k) ?? [];
    const start = st.phase === 'Pending' ? undefined : (st.startTime ?? evs.find((e) => e.reason === 'Started')?.time);
    const end = st.phase === 'Expired' ? (st.endTime ?? evs.filter((e) => ENDS.has(e.reason)).pop()?.time) : undefined;
    rows.push({
      booking: k,
      user: b.spec.user ?? b.metadata.namespace!,
      nodes: st.nodes ?? b.spec.nodes ?? [],
      submitted: b.metadata.creationTimestamp ?? evs[0]?.time,
      start,
      end,
      elapsed: elapsed(start, end, st.phase === 'Active', now),
      state: st.phase === 'Expired' ? (st.reason ?? 'Expired') : (st.phase ?? 'New'),
      deleted: false,
    });
  }
  for (const [k, evs] of byName) {
    if (seen.has(k)) continue;
    const started = evs.find((e) => e.reason === 'Started');
    const ended = evs.filter((e) => ENDS.has(e.reason)).pop();
    const nodes = /started on (\S+(?:, \S+)*) until/.exec(started?.message ?? '')?.[1]?.split(', ') ?? [];
    rows.push({
      booking: k,
      user: k.slice(0, k.indexOf('/')),
      nodes,
      submitted: evs[0]?.time,
      start: started?.time,
      end: ended?.time ?? evs[evs.length - 1]?.time,
      elapsed: elapsed(started?.time, ended?.time ?? evs[evs.length - 1]?.time, false, now),
      state: ended?.reason ?? 'Deleted',
      deleted: true,
    });
  }
  const t = (iso?: string) => (iso ? Date.parse(iso) : NaN);
  return rows
    .filter((r) => [r.submitted, r.start, r.end].some((x) => t(x) >= since) || r.state === 'Active' || r.state === 'Pending')
    .sort((a, b) => (a.submitted ?? '').localeCompare(b.submitted ?? '') || naturalCompare(a.booking, b.booking));
}

function elapsed(start: string | undefined, end: string | undefined, running: boolean, now: number): number | undefined {
  if (!start) return undefined;
  const e = end ? Date.parse(end) : running ? now : NaN;
  const s = Date.parse(start);
  return Number.isNaN(e) || Number.isNaN(s) ? undefined : Math.max(0, Math.round((e - s) / 1000));
}
