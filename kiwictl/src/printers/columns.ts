// The table columns of each kind: the CRD's additionalPrinterColumns (the schemas are the
// source of truth), priority 0 always, priority 1 with -o wide, plus the few columns only a
// program can compute (how long a booking has left, why a pending one waits).
import type { KindInfo } from '../../../crds/api/kinds.js';
import { DEGRADED, IDLE_WARNING } from '../../../crds/api/conditions.js';
import { cell, heldBack, jsonPath, shortRemaining, shortTime, truncate } from './format.js';

/** Who holds a node (from the Active bookings, see cmd/info/rows.ts nodeHolders). */
export interface NodeHolder {
  user?: string;
  booking: string;
  until?: string;
}

/** What some columns need beyond the object itself. */
export interface TableContext {
  /** Node name -> who holds it; without it, the node daemon's status.booking is shown. */
  holders?: Map<string, NodeHolder>;
}

export interface Column {
  header: string;
  /** 0: always shown; 1: only with -o wide. */
  priority: number;
  value(obj: any, now: Date, ctx?: TableContext): string;
}

interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  jsonPath: string;
  priority?: number;
}

function fromCrd(c: PrinterColumn): Column {
  const isTime = c.format === 'date-time';
  return {
    header: c.name.toUpperCase(), // as kubectl does: MaxDuration -> MAXDURATION
    priority: c.priority ?? 0,
    value: (obj, now) => {
      const v = jsonPath(obj, c.jsonPath);
      return isTime && typeof v === 'string' ? shortTime(v, now) : cell(v);
    },
  };
}

/** Booking: time left while Active, time to start while Pending. */
const remaining: Column = {
  header: 'REMAINING',
  priority: 0,
  value: (b, now) => {
    const st = b.status ?? {};
    if (st.phase === 'Active' && st.endTime) return shortRemaining((Date.parse(st.endTime) - now.getTime()) / 1000);
    if (st.phase === 'Pending' && st.startTime) return `in ${shortRemaining((Date.parse(st.startTime) - now.getTime()) / 1000)}`;
    if (st.phase === 'Expired') return st.reason ?? '-';
    return '-';
  },
};

/** The booking's nodes: held or planned (status), else asked for (spec). */
const bookingNodes: Column = {
  header: 'NODES',
  priority: 0,
  value: (b) => {
    if (b.status?.nodes?.length) return cell(b.status.nodes);
    if (b.spec?.nodes?.length) return cell(b.spec.nodes);
    if (b.spec?.count) return `${b.spec.count}x${Object.entries(b.spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || 'any'}`;
    return '-';
  },
};

/** A booking's conditions that need its user's eye (healing, idle release), True now. */
const alerts = (b: any): { type: string; message?: string }[] =>
  ((b.status?.conditions ?? []) as { type: string; status: string; message?: string }[]).filter((c) => (c.type === DEGRADED || c.type === IDLE_WARNING) && c.status === 'True');

/** PHASE, with the booking's alerts after it as kubectl shows a node's "Ready,SchedulingDisabled": "Active,Degraded". */
function bookingPhase(fallback: Column): Column {
  return {
    ...fallback,
    value: (b, now) => [fallback.value(b, now), ...(b.status?.phase === 'Expired' ? [] : alerts(b).map((c) => c.type))].join(','),
  };
}

/** Why a booking waits (shown for Pending only, unless -o wide shows every message in full). */
function message(wide: boolean): Column {
  return {
    header: 'MESSAGE',
    priority: 0,
    value: (b, now) => {
      const m = b.status?.message;
      if (!m) return '';
      if (wide) return cell(m);
      // An Active booking that was healed or is about to end idle: what happened (what replaced what), short.
      const a = b.status?.phase === 'Active' ? alerts(b) : [];
      if (a.length) return truncate(a.map((c) => c.message ?? c.type).join('; '), 140);
      if (b.status?.phase !== 'Pending') return '';
      // A pool limit first, as squeue's (Reason): "PoolMaxNodesPerUser: pool gpu allows 2 ..."
      if (b.status.pendingReason) return truncate(heldBack(b), 80);
      // What it waits for, short: "after alice/bk-2 (alice) on n01 until 14:05"
      const w = (b.status.waitingFor ?? []) as { node: string; booking: string; user?: string; until?: string }[];
      if (w.length) {
        const first = w[0];
        const more = w.length > 1 ? ` and ${w.length - 1} more` : '';
        return truncate(`after ${first.booking}${first.user ? ` (${first.user})` : ''} on ${first.node}${first.until ? ` until ${shortTime(first.until, now)}` : ''}${more}`, 80);
      }
      return truncate(cell(m), 60);
    },
  };
}

/**
 * A cordoned node reads "Ready,SchedulingDisabled", as kubectl shows it. A node whose daemon has
 * never reported (added by an admin, daemon not installed yet) reads "NoDaemon": it can be
 * booked, but nothing on it enforces the booking yet.
 */
const nodeStatus: Column = {
  header: 'STATUS',
  priority: 0,
  value: (n) => {
    const phase = cell(n.status?.phase ?? 'NoDaemon');
    return n.spec?.unschedulable ? `${phase},SchedulingDisabled` : phase;
  },
};

/** USER, BOOKING, UNTIL of a node: who holds it by the Active bookings, else the daemon's report. */
function nodeHolder(header: string, pick: (h: NodeHolder, now: Date) => string | undefined, fallback: Column): Column {
  return {
    header,
    priority: 0,
    value: (n, now, ctx) => {
      if (!ctx?.holders) return fallback.value(n, now);
      const h = ctx.holders.get(n.metadata.name);
      return h ? cell(pick(h, now)) : '-';
    },
  };
}

export function columnsFor(kind: KindInfo, opts: { wide?: boolean; allNamespaces?: boolean } = {}): Column[] {
  const version = kind.crd.spec.versions[0];
  const crdCols = ((version.additionalPrinterColumns ?? []) as PrinterColumn[]).map((c) => {
    if (kind.kind === 'Booking' && c.name === 'Nodes') return bookingNodes;
    if (kind.kind === 'Booking' && c.name === 'Phase') return bookingPhase(fromCrd(c));
    if (kind.kind === 'Node' && c.name === 'Status') return nodeStatus;
    if (kind.kind === 'Node' && c.name === 'User') return nodeHolder('USER', (h) => h.user, fromCrd(c));
    if (kind.kind === 'Node' && c.name === 'Booking') return nodeHolder('BOOKING', (h) => h.booking.slice(h.booking.indexOf('/') + 1), fromCrd(c)) // the USER column says whose;
    if (kind.kind === 'Node' && c.name === 'Until') return nodeHolder('UNTIL', (h, now) => (h.until ? shortTime(h.until, now) : undefined), fromCrd(c));
    return fromCrd(c);
  });
  let cols: Column[] = [{ header: 'NAME', priority: 0, value: (o) => o.metadata.name }];
  if (kind.namespaced && opts.allNamespaces) cols.unshift({ header: 'NAMESPACE', priority: 0, value: (o) => cell(o.metadata.namespace) });
  if (kind.kind === 'Booking') {
    const base = crdCols.filter((c) => c.header !== 'MESSAGE');
    const firstWide = base.findIndex((c) => c.priority > 0);
    const at = firstWide < 0 ? base.length : firstWide;
    cols = [...cols, ...base.slice(0, at), remaining, ...base.slice(at), message(Boolean(opts.wide))];
  } else cols = [...cols, ...crdCols];
  return cols.filter((c) => c.priority === 0 || opts.wide);
}
