// Pure: what the calendar shows, computed from the objects and a time. The page's DOM code
// (app.ts) only draws what these functions return, so each rule is unit-tested here.
import type { Booking, Node, Pool } from '../../crds/api/types.js';
import { defaultPool, inPool } from '../../crds/api/pool.js';
import { zonedDate, zonedTime } from '../../crds/api/time.js';
import { DRAIN_ANNOTATION, SCHEDULE_LABEL } from '../../crds/api/types.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export type BarKind = 'active' | 'planned' | 'expired';

export interface Bar {
  /** namespace/name of the booking */
  key: string;
  node: string;
  user: string;
  kind: BarKind;
  /** a fixed reservation (spec.start or spec.end given) */
  fixed: boolean;
  start: number;
  end: number;
}

/** The bars of one booking, one per node it holds or is planned on; none if it has no slot yet. */
export function barsOf(b: Booking, now: number): Bar[] {
  const st = b.status;
  if (!st?.phase || !st.nodes?.length) return [];
  const key = `${b.metadata.namespace}/${b.metadata.name}`;
  const start = st.startTime ? Date.parse(st.startTime) : undefined;
  let end = st.endTime ? Date.parse(st.endTime) : undefined;
  if (start === undefined) return [];
  if (st.phase === 'Expired') {
    // Ended early (cancelled, node lost): the bar stops when it ended, as far as the record says.
    if (end === undefined || end > now) end = Math.min(end ?? now, now);
    if (st.reason === 'Rejected' || st.reason === 'Busy') return [];
  }
  if (end === undefined || end <= start) return [];
  const kind: BarKind = st.phase === 'Active' ? 'active' : st.phase === 'Pending' ? 'planned' : 'expired';
  const fixed = b.spec.start !== undefined || b.spec.end !== undefined;
  // Healing: a node that took a failed one's place holds it from the replacement on; the failed one held it until then.
  const repl = st.replacements ?? [];
  const from = (node: string) => Math.max(start, ...repl.filter((r) => r.by === node).map((r) => Date.parse(r.time)).filter(Number.isFinite));
  const bars: Bar[] = st.nodes.map((node) => ({ key, node, user: b.metadata.namespace!, kind, fixed, start: from(node), end: end! }));
  for (const r of repl) {
    const t = Date.parse(r.time);
    if (Number.isFinite(t) && t > from(r.node)) bars.push({ key, node: r.node, user: b.metadata.namespace!, kind: 'expired', fixed, start: from(r.node), end: Math.min(t, end!) });
  }
  return bars;
}

export type NodeState = 'ready' | 'notready' | 'cordoned' | 'draining' | 'drained' | 'off' | 'waking';

export function nodeState(n: Node): NodeState {
  const ph = n.status?.phase;
  if (ph === 'Drained') return 'drained';
  if (ph === 'Draining' || n.metadata.annotations?.[DRAIN_ANNOTATION] !== undefined) return 'draining';
  if (n.spec?.unschedulable) return 'cordoned';
  // Powered off on purpose (power saving): bookable, woken in time for its next booking.
  if (ph === 'Off' || ph === 'PoweringOff') return 'off';
  if (ph === 'Resuming') return 'waking';
  if (ph !== 'Ready') return 'notready';
  return 'ready';
}

export interface Filter {
  /** "key=value" (one label), empty for any */
  label: string;
  /** a Pool's name, empty for any */
  pool: string;
  user: string;
}

/**
 * The nodes shown, in name order. `usersOn` tells which users have bars on a node (for the user
 * filter); a pool is the Pool object of that name, its members by crds/api/pool.ts's inPool (the
 * operator's and kiwictl's rule), and a pool that is not there has none.
 */
export function visibleNodes(nodes: Node[], f: Filter, usersOn: (node: string) => Set<string>, pools: Pool[]): Node[] {
  const [lk, lv] = f.label.includes('=') ? f.label.split('=', 2).map((s) => s.trim()) : [f.label.trim(), undefined];
  const pool = f.pool ? pools.find((p) => p.metadata.name === f.pool) : undefined;
  return nodes
    .filter((n) => {
      const labels = n.metadata.labels ?? {};
      if (lk && (lv === undefined ? !(lk in labels) : labels[lk] !== lv)) return false;
      if (f.pool && !(pool && inPool(pool, labels))) return false;
      if (f.user && !usersOn(n.metadata.name!).has(f.user.trim())) return false;
      return true;
    })
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!, undefined, { numeric: true }));
}

/** The pool filter's choices: every Pool by name, the default one (poolFor's) and closed ones marked, the selector as a hint. */
export function poolChoices(pools: Pool[]): { value: string; text: string; title: string }[] {
  const def = defaultPool(pools)?.metadata.name;
  return [...pools]
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!, undefined, { numeric: true }))
    .map((p) => {
      const name = p.metadata.name!;
      const marks = [name === def ? 'default' : '', p.spec?.state === 'Closed' ? 'closed' : ''].filter(Boolean);
      return { value: name, text: marks.length ? `${name} (${marks.join(', ')})` : name, title: `nodes: ${p.spec?.nodeSelector || '(every node)'}` };
    });
}

export type View = 'day' | 'week';

/** The first instant of the day (or the Monday of the week) holding `t`, in `zone`. */
export function viewStart(t: number, view: View, zone: string): number {
  const d = zonedDate(t, zone);
  const back = view === 'week' ? (d.weekday + 6) % 7 : 0;
  const base = new Date(Date.UTC(d.y, d.mo - 1, d.d - back));
  return zonedTime(base.getUTCFullYear(), base.getUTCMonth() + 1, base.getUTCDate(), 0, 0, zone);
}

export const spanOf = (view: View) => (view === 'week' ? 7 * DAY : DAY);

/** Ticks along the time axis: every hour in a day view (labels each 2 h), every 6 h in a week. */
export function ticks(from: number, to: number, view: View, zone: string, pxPerMs: number): { t: number; label: string; major: boolean }[] {
  const step = view === 'week' ? (pxPerMs * HOUR * 6 > 60 ? 6 * HOUR : 12 * HOUR) : pxPerMs * HOUR > 40 ? HOUR : 2 * HOUR;
  const out: { t: number; label: string; major: boolean }[] = [];
  const fmtDay = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short' });
  const fmtHour = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  for (let t = from; t < to; t += step) {
    const d = zonedDate(t, zone);
    const major = d.h === 0 && d.mi === 0;
    out.push({ t, major, label: major && view === 'week' ? fmtDay.format(t) : fmtHour.format(t) });
  }
  return out;
}

/** Snap a time to the grid of the view (5 min in a day, 15 min in a week). */
export function snap(t: number, view: View): number {
  const g = view === 'week' ? 15 * 60_000 : 5 * 60_000;
  return Math.round(t / g) * g;
}

/**
 * A selection on the calendar as a booking request. A selection that starts in the past or within
 * a minute from now is "as soon as possible" (no fixed start; it may be planned later, after
 * whoever holds the nodes); one further ahead is a reservation with a fixed start.
 */
export function selectionToSpec(nodes: string[], a: number, b: number, now: number): { nodes: string[]; duration: number; start?: string } {
  let start = Math.min(a, b);
  const end = Math.max(a, b);
  const asap = start <= now + 60_000;
  if (asap) start = now;
  const duration = Math.max(60, Math.round((end - start) / 60_000) * 60);
  return { nodes, duration, ...(asap ? {} : { start: new Date(start).toISOString().replace(/\.\d+Z$/, 'Z') }) };
}

/** What the tooltip of a bar says: who, until when, why it waits and after whom. */
export function describe(b: Booking, now: number, fmt: (t: number) => string): string[] {
  const st = b.status ?? {};
  const lines = [`${b.metadata.namespace}/${b.metadata.name} (${b.metadata.namespace})`];
  const from = st.startTime ? fmt(Date.parse(st.startTime)) : '?';
  const until = st.endTime ? fmt(Date.parse(st.endTime)) : '?';
  if (st.phase === 'Active') lines.push(`Active on ${(st.nodes ?? []).join(', ')} until ${until}`);
  else if (st.phase === 'Pending') lines.push(`planned: ${from} to ${until} on ${(st.nodes ?? []).join(', ')}`);
  else if (st.phase === 'Expired') lines.push(`Expired (${st.reason ?? ''}): ${from} to ${until}`);
  else lines.push('not planned yet');
  if (b.spec.start || b.spec.end) lines.push('fixed reservation');
  const rule = b.metadata.labels?.[SCHEDULE_LABEL];
  if (rule) lines.push(`occurrence of the recurring booking ${b.metadata.namespace}/${rule} (kiwictl describe bs ${rule} -n ${b.metadata.namespace})`);
  if (st.phase === 'Pending' && st.message) lines.push(`why it waits: ${st.message.replace(/^waits: /, '')}`);
  if (st.phase === 'Pending' && st.waitingFor?.length)
    lines.push(`after: ${[...new Set(st.waitingFor.map((w) => `${w.booking}${w.user ? ` (${w.user})` : ''}${w.until ? ` until ${fmt(Date.parse(w.until))}` : ''}`))].join(', ')}`);
  if (st.phase === 'Active' && st.endTime) lines.push(`${Math.max(0, Math.round((Date.parse(st.endTime) - now) / 60_000))} min left`);
  // Healing and idle release: what replaced what, and an idle warning.
  for (const c of st.phase === 'Expired' ? [] : st.conditions ?? []) {
    if (c.status !== 'True') continue;
    if (c.type === 'Degraded') lines.push(`degraded: ${c.message ?? c.reason ?? ''}`);
    if (c.type === 'IdleWarning') lines.push(`idle warning: ${c.message ?? ''}`);
  }
  if (st.replacements?.length) lines.push(`replaced: ${st.replacements.map((r) => `${r.node} by ${r.by} at ${fmt(Date.parse(r.time))}`).join(', ')}`);
  return lines;
}
