// Accounting's pure core: service units, rates, periods and an account's ledger (its status).
// The planner decides with it, the reconciler's transactions compute the ledger values they
// write with it, and kiwictl's reports and the invariant checker read with it, so all agree.
//
// Units are counted in integer thousandths (milli-units) inside, so that sums are exact: the
// stored form is units with up to three decimals (n / 1000 reads back as n). A ledger value is
// untrusted like any stored value (decodeLedger names what is wrong, never throws).
import type { Account, AccountStatus, ClusterConfig, Node } from './types.js';

/** Integer thousandths of a unit. */
export type Milli = number;

export const toMilli = (units: number): Milli => Math.round(units * 1000);
export const toUnits = (m: Milli): number => m / 1000;

export type Rates = NonNullable<NonNullable<ClusterConfig['spec']>['rates']>;

/**
 * Units per node-hour of one node for a booking in `pool`, in milli-units: the pool's rate if
 * the pool has one, else the first nodeLabels rule the node's labels match, else the default.
 */
export function rateMilli(rates: Rates | undefined, labels: Record<string, string> | undefined, pool?: string): Milli {
  if (pool !== undefined && rates?.pools && Object.prototype.hasOwnProperty.call(rates.pools, pool)) return toMilli(rates.pools[pool]);
  for (const r of rates?.nodeLabels ?? []) {
    if (Object.entries(r.selector).every(([k, v]) => labels?.[k] === v)) return toMilli(r.rate);
  }
  return toMilli(rates?.default ?? 1);
}

/** What nodes of these rates cost for `ms` milliseconds each, rounded up to a milli-unit (exact: BigInt). */
export function costMilli(ratesMilli: Milli[], ms: number): Milli {
  if (ms <= 0 || !ratesMilli.length) return 0;
  const perHour = ratesMilli.reduce((a, r) => a + BigInt(r), 0n);
  const num = perHour * BigInt(Math.round(ms));
  const den = 3_600_000n;
  return Number((num + den - 1n) / den);
}

export function nodeRates(rates: Rates | undefined, nodes: (Node | undefined)[], pool?: string): Milli[] {
  return nodes.map((n) => rateMilli(rates, n?.metadata.labels, pool));
}

export type PeriodKind = 'Total' | 'Monthly' | 'Yearly';

/** The period a time falls in: Total, 2026-12, 2026 (UTC). */
export function periodOf(kind: PeriodKind | undefined, t: number): string {
  const d = new Date(t);
  if (kind === 'Monthly') return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  if (kind === 'Yearly') return String(d.getUTCFullYear());
  return 'Total';
}

/** One booking's reserve. */
export interface Encumbrance {
  uid: string;
  user: string;
  milli: Milli;
}

/** An account's ledger, in milli-units. */
export interface Ledger {
  period: string;
  /** Charged in this period, in all and by user. */
  charged: Milli;
  memberCharged: Map<string, Milli>;
  /** booking key (namespace/name) -> its reserve */
  encumbrances: Map<string, Encumbrance>;
}

export const emptyLedger = (period: string): Ledger => ({ period, charged: 0, memberCharged: new Map(), encumbrances: new Map() });

export function cloneLedger(l: Ledger): Ledger {
  return { period: l.period, charged: l.charged, memberCharged: new Map(l.memberCharged), encumbrances: new Map(l.encumbrances) };
}

/** A new period starts from nothing charged; reserves go on (they are charged when their booking ends). */
export function rollLedger(l: Ledger, period: string): Ledger {
  if (l.period === period) return l;
  return { period, charged: 0, memberCharged: new Map(), encumbrances: l.encumbrances };
}

export function encumbered(l: Ledger, user?: string): Milli {
  let s = 0;
  for (const e of l.encumbrances.values()) if (user === undefined || e.user === user) s += e.milli;
  return s;
}

/** The account's allocation in milli-units, undefined without limit. */
export const allocationMilli = (a: Account): Milli | undefined => (a.spec?.allocation ? toMilli(a.spec.allocation.units) : undefined);

/** What can still be encumbered (Infinity without limit): never below zero. */
export function availableMilli(l: Ledger, alloc: Milli | undefined): Milli {
  if (alloc === undefined) return Infinity;
  return Math.max(0, alloc - encumbered(l) - l.charged);
}

/** A change one booking's action makes to one account's ledger. */
export interface LedgerChange {
  account: string;
  /** The period the pass decided in: the ledger is rolled to it first. */
  period: string;
  key: string;
  /** The booking's reserve from now on; undefined: none. */
  set?: Encumbrance;
  /** Units charged now (its end). */
  charge?: { user: string; milli: Milli };
}

/** The ledger after a change (a new object; the old one is left as it was). */
export function applyLedgerChange(l0: Ledger, c: LedgerChange): Ledger {
  const l = cloneLedger(rollLedger(l0, c.period));
  l.encumbrances.delete(c.key);
  if (c.set && c.set.milli > 0) l.encumbrances.set(c.key, c.set);
  if (c.charge && c.charge.milli > 0) {
    l.charged += c.charge.milli;
    l.memberCharged.set(c.charge.user, (l.memberCharged.get(c.charge.user) ?? 0) + c.charge.milli);
  }
  return l;
}

/** The stored form: units, totals beside the parts (for reports and printer columns). */
export function encodeLedger(l: Ledger, alloc: Milli | undefined): AccountStatus {
  const enc = encumbered(l);
  const members: NonNullable<AccountStatus['members']> = {};
  const users = new Set([...l.memberCharged.keys(), ...[...l.encumbrances.values()].map((e) => e.user)]);
  for (const u of [...users].sort()) members[u] = { encumbered: toUnits(encumbered(l, u)), charged: toUnits(l.memberCharged.get(u) ?? 0) };
  const encumbrances: NonNullable<AccountStatus['encumbrances']> = {};
  for (const [k, e] of [...l.encumbrances].sort(([a], [b]) => (a < b ? -1 : 1))) encumbrances[k] = { uid: e.uid, user: e.user, units: toUnits(e.milli) };
  const out: AccountStatus = { period: l.period, encumbered: toUnits(enc), charged: toUnits(l.charged), members, encumbrances };
  if (alloc !== undefined) {
    // An allocation cut below what is committed shows as what is committed: nothing is available.
    const eff = Math.max(alloc, enc + l.charged);
    out.allocation = toUnits(eff);
    out.available = toUnits(eff - enc - l.charged);
  }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const units = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e12;

/**
 * A stored ledger (an Account's status), or the problem with it. An absent status is an empty
 * ledger of `period`. Only parts are read (encumbrances, charges by member): the totals are
 * derived, so a value whose totals disagree with its parts is refused, not trusted.
 */
export function decodeLedger(status: unknown, period: string): { ledger: Ledger } | { problem: string } {
  if (status === undefined || (isMap(status) && Object.keys(status).length === 0)) return { ledger: emptyLedger(period) };
  if (!isMap(status)) return { problem: 'the ledger (status) is not an object' };
  if (typeof status.period !== 'string' || status.period.length > 16) return { problem: 'status.period is not a period' };
  const l = emptyLedger(status.period);
  const enc = status.encumbrances ?? {};
  if (!isMap(enc)) return { problem: 'status.encumbrances is not a map' };
  for (const [k, e] of Object.entries(enc)) {
    if (!isMap(e) || typeof e.uid !== 'string' || typeof e.user !== 'string' || !units(e.units)) return { problem: `status.encumbrances[${JSON.stringify(k.slice(0, 80))}] is not {uid, user, units}` };
    l.encumbrances.set(k, { uid: e.uid, user: e.user, milli: toMilli(e.units) });
  }
  const mem = status.members ?? {};
  if (!isMap(mem)) return { problem: 'status.members is not a map' };
  for (const [u, m] of Object.entries(mem)) {
    if (!isMap(m) || (m.charged !== undefined && !units(m.charged))) return { problem: `status.members[${JSON.stringify(u.slice(0, 32))}].charged is not a number of units` };
    const c = m.charged === undefined ? 0 : toMilli(m.charged);
    if (c) l.memberCharged.set(u, c);
    l.charged += c;
  }
  if (!units(status.charged ?? 0) || toMilli((status.charged as number) ?? 0) !== l.charged) return { problem: `status.charged ${JSON.stringify(status.charged)} is not the sum of its members' charges (${toUnits(l.charged)})` };
  return { ledger: l };
}

/** What one usage record says it charged, for the invariant. */
export interface ChargeRecord {
  account?: string;
  period?: string;
  units?: number;
}

/**
 * The ledger invariant, on an account as stored: allocation = available + encumbered + charged,
 * nothing negative, totals equal to their parts, and (given the usage records) the records of
 * the account's period add up to what it charged. [] when it holds; else each problem.
 */
export function checkLedger(a: Account, records?: ChargeRecord[]): string[] {
  const name = a.metadata.name ?? '?';
  const st = a.status;
  const out: string[] = [];
  if (!st || !Object.keys(st).length) {
    const charged = (records ?? []).filter((r) => r.account === name).reduce((s, r) => s + toMilli(r.units ?? 0), 0);
    return charged ? [`account ${name}: no ledger, but usage records charge ${toUnits(charged)}`] : [];
  }
  const d = decodeLedger(st, st.period ?? '');
  if ('problem' in d) return [`account ${name}: ${d.problem}`];
  const l = d.ledger;
  const enc = encumbered(l);
  for (const [f, v] of [['encumbered', st.encumbered], ['charged', st.charged], ['available', st.available], ['allocation', st.allocation]] as const) {
    if (v !== undefined && !(typeof v === 'number' && v >= 0)) out.push(`account ${name}: status.${f} is ${v}, negative or not a number`);
  }
  if (toMilli(st.encumbered ?? 0) !== enc) out.push(`account ${name}: encumbered ${st.encumbered} is not the sum of its encumbrances ${toUnits(enc)}`);
  for (const [u, m] of Object.entries(st.members ?? {})) {
    if (toMilli(m.encumbered ?? 0) !== encumbered(l, u)) out.push(`account ${name}: member ${u} encumbered ${m.encumbered}, but their encumbrances add up to ${toUnits(encumbered(l, u))}`);
  }
  // The stored allocation is the one in force when the ledger was last written (the spec may have changed since).
  if (st.allocation !== undefined || st.available !== undefined) {
    if (st.allocation === undefined || st.available === undefined) out.push(`account ${name}: the ledger shows only one of allocation and available`);
    else if (toMilli(st.allocation) !== toMilli(st.available) + enc + l.charged) out.push(`account ${name}: allocation ${st.allocation} != available ${st.available} + encumbered ${toUnits(enc)} + charged ${toUnits(l.charged)}`);
  }
  if (records) {
    const charged = records.filter((r) => r.account === name && r.period === l.period).reduce((s, r) => s + toMilli(r.units ?? 0), 0);
    if (charged !== l.charged) out.push(`account ${name}: usage records of period ${l.period} charge ${toUnits(charged)}, the ledger ${toUnits(l.charged)}`);
  }
  return out;
}
