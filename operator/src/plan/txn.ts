// How actions become transactions: pure. Actions that touch a common calendar, or whose
// status says a booking holds or held a node (Active, or Expired from Active), form one group,
// written in order: what ends first (expiries, removals), then the rest by start. So every
// calendar value written is valid on its own, and no revision shows two Active bookings on a
// node (a start whose entry is already in the calendar changes no calendar, yet must come after
// its predecessor's expiry). A group goes in as few transactions as etcd's op limit allows.
import type { CalendarEntry, Ledger } from '../../../crds/api/pure.js';
import type { Action, BookingAction, CalendarView } from './types.js';
import { isValidCalendar } from './calendar.js';
import { applyLedgerChanges } from './budget.js';

/** etcd refuses more than 128 ops on a side of a transaction (--max-txn-ops); stay below. */
export const MAX_TXN_OPS = 120;

export interface TxnChunk {
  actions: Action[];
  /** The new value of every calendar this chunk touches. */
  calendars: Map<string, CalendarEntry[]>;
  /** False when no split kept every calendar valid: it must not be written. */
  valid: boolean;
  /** The new value of every account ledger this chunk changes (accounting), by account. */
  ledgers: Map<string, Ledger>;
}

export function applyChanges(entries: CalendarEntry[], a: BookingAction, node: string): CalendarEntry[] {
  const ch = a.calendar.find((c) => c.node === node);
  if (!ch) return entries;
  const kept = entries.filter((e) => !(e.booking === a.key && (ch.onlyUid === undefined || e.uid === ch.onlyUid)));
  return [...kept, ...ch.entries].sort((x, y) => x.start - y.start || x.end - y.end);
}

function firstStart(a: Action): number {
  if (a.kind !== 'booking') return -Infinity;
  let s = Infinity;
  for (const c of a.calendar) for (const e of c.entries) s = Math.min(s, e.start);
  return s;
}

/** Ends something: an expiry, or a removal of entries (orphans). Written before anything else of its group. */
const ends = (a: Action) => a.kind === 'booking' && (a.status?.phase === 'Expired' || (a.calendar.length > 0 && a.calendar.every((c) => c.entries.length === 0)) || releases(a));
/** Only gives units back (a deleted booking's reserve): before the reserves its group takes. */
const releases = (a: BookingAction) => !a.status && a.calendar.length === 0 && (a.ledger?.length ?? 0) > 0 && a.ledger!.every((c) => !c.set && !c.charge);

/** The nodes a booking action's status says it holds or held (its status write must be ordered with theirs). */
function statusNodes(a: BookingAction): string[] {
  const p = a.status?.phase;
  return p === 'Active' || p === 'Expired' ? a.status?.nodes ?? [] : [];
}

/** The accounts whose ledgers an action changes. */
const accountsOf = (a: Action) => (a.kind === 'booking' ? (a.ledger ?? []).map((c) => c.account) : []);

/** Success-side ops of an action (status, events), not counting calendars and ledgers. */
const opsOf = (a: Action) => (a.kind === 'node' ? 1 : a.status ? 1 : 0) + a.events.length;
/** Compare-side ops: spec and status revisions (and a NotReady's heartbeat revision). */
const comparesOf = (a: Action) => (a.kind === 'node' && a.heartbeatRevision !== undefined ? 3 : 2);

/** Groups of actions that share calendars: each group is written in order, groups in parallel. */
export function groupActions(actions: Action[]): Action[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string) => parent.set(find(a), find(b));
  const idOf = (a: Action, i: number) => `a${i}`;
  actions.forEach((a, i) => {
    parent.set(idOf(a, i), idOf(a, i));
    if (a.kind === 'booking') {
      for (const node of [...a.calendar.map((c) => c.node), ...statusNodes(a), ...(a.ledger ?? []).map((c) => `\0acct:${c.account}`)]) {
        const n = `n:${node}`;
        if (!parent.has(n)) parent.set(n, n);
        union(idOf(a, i), n);
      }
    }
  });
  // Two actions on one booking key (an orphan of an older uid and the live one) go together too.
  const byKey = new Map<string, string>();
  actions.forEach((a, i) => {
    if (a.kind !== 'booking') return;
    const k = byKey.get(a.key);
    if (k) union(idOf(a, i), k);
    else byKey.set(a.key, idOf(a, i));
  });
  const groups = new Map<string, Action[]>();
  actions.forEach((a, i) => {
    const r = find(idOf(a, i));
    groups.set(r, [...(groups.get(r) ?? []), a]);
  });
  return [...groups.values()];
}

/** One group in transactions: each chunk leaves every calendar it writes valid. */
export function chunkGroup(group: Action[], calendars: Map<string, CalendarView>, maxOps = MAX_TXN_OPS, ledgers: Map<string, Ledger> = new Map()): TxnChunk[] {
  const sorted = [...group].sort((a, b) => Number(ends(b)) - Number(ends(a)) || firstStart(a) - firstStart(b));
  const state = new Map<string, CalendarEntry[]>();
  const cal = (n: string) => state.get(n) ?? calendars.get(n)?.entries ?? [];
  const chunks: TxnChunk[] = [];
  let cur: Action[] = [];
  let touched = new Map<string, CalendarEntry[]>();
  const ledgerState = new Map(ledgers);
  let touchedLedgers = new Map<string, Ledger>();
  let ops = 0;
  let cmps = 1;
  const flush = () => {
    if (!cur.length) return;
    const valid = [...touched.values()].every(isValidCalendar);
    chunks.push({ actions: cur, calendars: touched, valid, ledgers: touchedLedgers });
    for (const [n, es] of touched) state.set(n, es);
    for (const [n, l] of touchedLedgers) ledgerState.set(n, l);
    cur = [];
    touched = new Map();
    touchedLedgers = new Map();
    ops = 0;
    cmps = 1;
  };
  const wouldAdd = (a: Action) => {
    let newCals = 0;
    if (a.kind === 'booking') for (const c of a.calendar) if (!touched.has(c.node)) newCals++;
    for (const n of new Set(accountsOf(a))) if (!touchedLedgers.has(n)) newCals++;
    return { ops: opsOf(a) + newCals, cmps: comparesOf(a) + newCals };
  };
  for (const a of sorted) {
    const w = wouldAdd(a);
    if (cur.length && (ops + w.ops > maxOps || cmps + w.cmps > maxOps) && [...touched.values()].every(isValidCalendar)) flush();
    cur.push(a);
    ops += w.ops;
    cmps += w.cmps;
    if (a.kind === 'booking') for (const c of a.calendar) touched.set(c.node, applyChanges(touched.get(c.node) ?? cal(c.node), a, c.node));
    if (a.kind === 'booking' && a.ledger?.length) {
      const view = new Map<string, Ledger>();
      for (const n of accountsOf(a)) { const l = touchedLedgers.get(n) ?? ledgerState.get(n); if (l) view.set(n, l); }
      applyLedgerChanges(view, a.ledger);
      for (const [n, l] of view) touchedLedgers.set(n, l);
    }
  }
  flush();
  // A chunk past etcd's hard limit cannot be sent either.
  for (const c of chunks) if (c.actions.reduce((s, a) => s + opsOf(a), c.calendars.size + c.ledgers.size) > 128) c.valid = false;
  return chunks;
}

/** The ops of a chunk on each side of its transaction: [compares, success ops]. */
export function chunkOps(c: TxnChunk): [number, number] {
  let cmps = 1 + c.calendars.size + c.ledgers.size;
  let ops = c.calendars.size + c.ledgers.size;
  for (const a of c.actions) {
    cmps += comparesOf(a);
    ops += opsOf(a);
  }
  return [cmps, ops];
}

/**
 * Packs single-chunk groups (independent of each other: no calendar in common) into shared
 * transactions up to the op limit, so that a burst costs etcd a few transactions, not one
 * per booking. Each booking's status and entries still go in one transaction.
 */
export function packChunks(chunks: TxnChunk[], maxOps = MAX_TXN_OPS): TxnChunk[] {
  const out: TxnChunk[] = [];
  let cur: TxnChunk | undefined;
  let size: [number, number] = [0, 0];
  for (const c of chunks) {
    if (!c.valid) {
      out.push(c);
      continue;
    }
    const s = chunkOps(c);
    if (cur && size[0] + s[0] - 1 <= maxOps && size[1] + s[1] <= maxOps) {
      cur.actions.push(...c.actions);
      for (const [n, es] of c.calendars) cur.calendars.set(n, es);
      for (const [n, l] of c.ledgers) cur.ledgers.set(n, l);
      size = [size[0] + s[0] - 1, size[1] + s[1]];
      continue;
    }
    cur = { actions: [...c.actions], calendars: new Map(c.calendars), valid: true, ledgers: new Map(c.ledgers) };
    size = s;
    out.push(cur);
  }
  return out;
}
