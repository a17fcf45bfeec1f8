// Accounting in the planner: which account pays for a booking, whether it can, and what each
// decision does to the ledgers. Pure, over the pass's state: the ledgers decided here go into
// the very transactions that write the calendar entries (txn.ts), compared on each ledger's
// revision, so two bookings racing for the last units can never both get them.
//
// A booking's maximum cost is encumbered when it is admitted (the queue, before any slot is
// chosen: count x duration x the dearest candidate node, or its named nodes exactly); once it
// starts, the reserve is trued down to its own nodes; an extension encumbers the extra or is
// refused; at the end the actual use is charged (at most what was reserved) and the rest
// released. With no Account objects none of this runs: nothing is charged or refused.
import type { Account, Booking } from '../../../crds/api/pure.js';
import { formatDuration, applyLedgerChange, availableMilli, allocationMilli, cloneLedger, costMilli, emptyLedger, encumbered, nodeRates, periodOf, rollLedger, toMilli, toUnits, type Encumbrance, type Ledger, type LedgerChange, type Milli } from '../../../crds/api/pure.js';
import type { BookingView, PlanInput } from './types.js';
import { reject, wait, type FilterStatus } from './status.js';
import { userOf } from './admission.js';
import type { Desired, PassState } from './pass.js';

export interface Budget {
  /** False with no accounts: every function here then does nothing. */
  on: boolean;
  /** Working ledgers (as this pass leaves them), rolled to the current period. */
  ledgers: Map<string, Ledger>;
  /** The stored ledgers, rolled likewise: what the changes are computed against. */
  base: Map<string, Ledger>;
  /** booking key -> the account holding its reserve (working). */
  accountOf: Map<string, string>;
  /** Charges decided this pass: booking key -> account, user, milli. */
  charges: Map<string, { account: string; user: string; milli: Milli }>;
  /** Bookings already settled (charged or released at their end) this pass. */
  settled: Set<string>;
  /** Bookings that wait for an account's units (whenShort Queue): key -> account, named in their status so that its ledger's next write wakes them. */
  waits: Map<string, string>;
}

const NO_BUDGET: Budget = { on: false, ledgers: new Map(), base: new Map(), accountOf: new Map(), charges: new Map(), settled: new Set(), waits: new Map() };

/** The pool a booking is in (spec.pool; absent: none), which picks its rate. */
export const poolOf = (b: Booking): string | undefined => (typeof b.spec?.pool === 'string' ? b.spec.pool : undefined);

export function newBudget(input: PlanInput): Budget {
  if (!input.accounts?.size) return NO_BUDGET;
  const b: Budget = { on: true, ledgers: new Map(), base: new Map(), accountOf: new Map(), charges: new Map(), settled: new Set(), waits: new Map() };
  const live = input.bookingUid ?? ((k: string) => input.bookings.find((v) => v.key === k)?.booking.metadata.uid);
  for (const [name, av] of input.accounts) {
    const period = periodOf(av.account.spec?.allocation?.period, input.now);
    const base = rollLedger(av.ledger ?? emptyLedger(period), period);
    b.base.set(name, base);
    const l = cloneLedger(base);
    for (const [key, e] of base.encumbrances) {
      // A reserve of a booking that is gone (deleted, or re-created under a new uid) is released.
      if (live(key) !== e.uid) l.encumbrances.delete(key);
      else b.accountOf.set(key, name);
    }
    b.ledgers.set(name, l);
  }
  return b;
}

const budgetOf = (s: PassState): Budget => s.budget;

/** The rates of these nodes for a booking (its pool), milli-units per hour each. */
const ratesOn = (s: PassState, b: Booking, nodes: string[]) => nodeRates(s.config.rates, nodes.map((n) => s.nodes.get(n)?.node), poolOf(b));
/** What a booking costs on these nodes for `ms`. */
const costOn = (s: PassState, b: Booking, nodes: string[], ms: number) => costMilli(ratesOn(s, b, nodes), ms);
const accountView = (s: PassState, name: string) => s.input.accounts?.get(name);

function isMember(s: PassState, a: Account, user: string): boolean {
  const m = a.spec?.members;
  if (m?.users?.includes(user)) return true;
  // The shell resolved each user's groups through NSS (listed members or primary gid): operator/src/reconcile/groups.ts.
  const mine = s.input.groups?.get(user) ?? [];
  return (m?.groups ?? []).some((g) => mine.includes(g));
}

/** The account that pays for a booking: the one holding its reserve, else spec.account, else the user's default. */
export function accountFor(s: PassState, v: BookingView, admitting: boolean): { name: string } | { problem: string } {
  const bud = budgetOf(s);
  const b = v.booking;
  const user = userOf(b);
  const held = bud.accountOf.get(v.key);
  const asked = b.spec.account;
  if (held && (!admitting || asked === undefined || asked === held)) return { name: held };
  if (asked !== undefined) {
    const av = accountView(s, asked);
    if (!av) return { problem: `account ${asked} does not exist (kiwictl get accounts lists them)` };
    if (!isMember(s, av.account, user)) return { problem: `user ${user} is not a member of account ${asked}; ask one of its managers (${(av.account.spec?.managers ?? []).join(', ') || 'an admin'}) to add you` };
    return { name: asked };
  }
  const mine = [...s.input.accounts!.values()].filter((av) => isMember(s, av.account, user)).map((av) => av.account);
  if (mine.length === 1) return { name: mine[0].metadata.name! };
  if (!mine.length) return { problem: `user ${user} is a member of no account, and this cluster charges bookings to accounts; ask an admin to add you to one (kiwictl get accounts)` };
  const dflt = mine.filter((a) => a.spec?.default);
  if (dflt.length === 1) return { name: dflt[0].metadata.name! };
  return { problem: `user ${user} is a member of accounts ${mine.map((a) => a.metadata.name).sort().join(', ')}: name one (spec.account, or kiwictl alloc --account NAME)` };
}

/** Why `account` cannot add `extra` for `user` ('' when it can). */
function shortOf(s: PassState, account: string, user: string, extra: Milli, what: string): string {
  if (extra <= 0) return '';
  const av = accountView(s, account)!;
  if (av.problem) return `account ${account}'s ledger cannot be read (${av.problem}); an admin must repair it before it pays for anything new`;
  const l = budgetOf(s).ledgers.get(account)!;
  const alloc = allocationMilli(av.account);
  const avail = availableMilli(l, alloc);
  if (extra > avail)
    return `account ${account} cannot pay for ${what}: it costs ${toUnits(extra)} units, ${toUnits(avail)} are available (allocation ${toUnits(alloc!)}, encumbered ${toUnits(encumbered(l))}, charged ${toUnits(l.charged)} in ${l.period})`;
  const caps = av.account.spec?.memberCaps;
  if (caps && Object.prototype.hasOwnProperty.call(caps, user)) {
    const cap = toMilli(caps[user]);
    const used = encumbered(l, user) + (l.memberCharged.get(user) ?? 0);
    if (used + extra > cap) return `user ${user}'s cap on account ${account} is ${toUnits(cap)} units in ${l.period}; ${toUnits(used)} are encumbered or charged, and ${what} costs ${toUnits(extra)}`;
  }
  return '';
}

function setReserve(s: PassState, v: BookingView, account: string, milli: Milli): void {
  const bud = budgetOf(s);
  const from = bud.accountOf.get(v.key);
  if (from && from !== account) bud.ledgers.get(from)!.encumbrances.delete(v.key);
  const e: Encumbrance = { uid: v.booking.metadata.uid ?? '', user: userOf(v.booking), milli };
  bud.ledgers.get(account)!.encumbrances.set(v.key, e);
  bud.accountOf.set(v.key, account);
}

const reserveOf = (s: PassState, key: string): Milli => {
  const a = budgetOf(s).accountOf.get(key);
  return a ? budgetOf(s).ledgers.get(a)!.encumbrances.get(key)?.milli ?? 0 : 0;
};

/**
 * Encumbers a queued booking's maximum cost when it is admitted (or first meets the accounts):
 * its named nodes, or `count` of the dearest of its candidates, for its duration. An admitted
 * booking that holds a reserve keeps it. The status is a refusal (Reject; a booking admitted
 * before then waits) or, with the account's whenShort Queue, a Wait; undefined when paid for.
 */
export function encumber(s: PassState, v: BookingView, admitting: boolean, cands: string[], durationMs: number): FilterStatus | undefined {
  const bud = budgetOf(s);
  if (!bud.on) return undefined;
  if (!admitting && bud.accountOf.has(v.key)) return undefined;
  const acct = accountFor(s, v, admitting);
  if ('problem' in acct) return reject('Account', acct.problem);
  const b = v.booking;
  const rates = ratesOn(s, b, cands);
  const perNode = b.spec.nodes ? rates : Array(b.spec.count ?? 1).fill(Math.max(0, ...rates));
  const need = costMilli(perNode, durationMs);
  const had = bud.accountOf.get(v.key) === acct.name ? reserveOf(s, v.key) : 0;
  const what = `this booking (${perNode.length} node(s) for ${formatDuration(Math.round(durationMs / 1000))}${b.spec.nodes ? '' : ', at the dearest candidate node\'s rate'})`;
  const why = shortOf(s, acct.name, userOf(b), need - had, what);
  if (why && accountView(s, acct.name)!.account.spec?.whenShort === 'Queue') {
    bud.waits.set(v.key, acct.name);
    return wait('Budget', `${why}; it waits until units are freed or added`);
  }
  if (why) return reject('Budget', why);
  setReserve(s, v, acct.name, need);
  return undefined;
}

/** An Active booking's new end: '' when its account can pay for the extra (then encumbered), else why not. */
export function extendReserve(s: PassState, v: BookingView, nodes: string[], start: number, newEnd: number): string {
  const bud = budgetOf(s);
  const acct = bud.accountOf.get(v.key);
  if (!bud.on || !acct) return ''; // a booking that never met the accounts is not charged
  const need = costOn(s, v.booking, nodes, newEnd - start);
  const why = shortOf(s, acct, userOf(v.booking), need - reserveOf(s, v.key), `the extension to ${new Date(newEnd).toISOString()}`);
  if (!why) setReserve(s, v, acct, Math.max(need, reserveOf(s, v.key)));
  return why;
}

/** Charges what an ending booking used (at most its reserve) and releases the rest. */
function settle(s: PassState, d: Desired): void {
  const bud = budgetOf(s);
  const key = d.view.key;
  const acct = bud.accountOf.get(key);
  if (!acct || bud.settled.has(key)) return;
  bud.settled.add(key);
  const l = bud.ledgers.get(acct)!;
  const e = l.encumbrances.get(key);
  const st = d.status;
  const start = Date.parse(st.startTime ?? '');
  const end = Date.parse(st.endTime ?? '');
  let milli = 0;
  if (e && Number.isFinite(start) && Number.isFinite(end) && end > start) {
    const policy = accountView(s, acct)?.account.spec?.charge;
    const used = costOn(s, d.view.booking, st.nodes ?? [], end - start);
    milli = Math.min(e.milli, policy === 'Reserved' ? e.milli : used);
  }
  l.encumbrances.delete(key);
  bud.accountOf.delete(key);
  if (milli > 0) {
    l.charged += milli;
    l.memberCharged.set(e!.user, (l.memberCharged.get(e!.user) ?? 0) + milli);
    bud.charges.set(key, { account: acct, user: e!.user, milli });
  }
  d.status = { ...st, account: acct, charged: toUnits(milli), period: l.period };
}

/** Phase "settle": what ends this pass is charged and released, so that the queue can use it. */
export function* settleEnds(s: PassState): Generator<void, void, void> {
  if (!budgetOf(s).on) return;
  for (const d of s.desired.values()) {
    const was = s.byKey.get(d.view.key)?.booking.status?.phase;
    if (d.status.phase === 'Expired' && was !== 'Expired') settle(s, d);
  }
}

/**
 * Phase "budget", once every booking is decided: ends decided in the queue are settled; a
 * booking that holds its nodes keeps a reserve of exactly its slot on them (the maximum
 * encumbered at admission is trued down at the start, a shortening releases); every booking
 * with a reserve names its account in its status.
 */
export function* budget(s: PassState): Generator<void, void, void> {
  yield* settleEnds(s);
  const bud = budgetOf(s);
  if (!bud.on) return;
  for (const d of s.desired.values()) {
    const acct = bud.accountOf.get(d.view.key) ?? (d.status.phase === 'Pending' ? bud.waits.get(d.view.key) : undefined);
    if (!acct || d.status.phase === 'Expired') continue;
    if (d.status.phase === 'Active') {
      const start = Date.parse(d.status.startTime!);
      const end = Date.parse(d.status.endTime!);
      const exact = costOn(s, d.view.booking, d.status.nodes ?? [], end - start);
      if (exact < reserveOf(s, d.view.key)) setReserve(s, d.view, acct, exact);
    }
    if (d.status.account !== acct) d.status = { ...d.status, account: acct };
  }
}

/** Phase "ledger", after diff: each booking's ledger changes go on its action (or one of their own). */
export function* ledger(s: PassState): Generator<void, void, void> {
  const bud = budgetOf(s);
  if (!bud.on) return;
  const changes = new Map<string, LedgerChange[]>();
  for (const [name, l] of bud.ledgers) {
    if (s.input.accounts?.get(name)?.problem) continue; // never overwrite a ledger that could not be read
    const base = bud.base.get(name)!;
    const keys = new Set([...base.encumbrances.keys(), ...l.encumbrances.keys()]);
    for (const [k, c] of bud.charges) if (c.account === name) keys.add(k);
    for (const key of keys) {
      const was = base.encumbrances.get(key);
      const now = l.encumbrances.get(key);
      const charge = bud.charges.get(key);
      const charged = charge?.account === name ? { user: charge.user, milli: charge.milli } : undefined;
      if (!charged && was?.milli === now?.milli && was?.uid === now?.uid) continue;
      const c: LedgerChange = { account: name, period: l.period, key, ...(now ? { set: now } : {}), ...(charged ? { charge: charged } : {}) };
      changes.set(key, [...(changes.get(key) ?? []), c]);
    }
  }
  for (const a of s.actions) {
    if (a.kind !== 'booking' || !changes.has(a.key) || (a.specRevision === 0 && s.byKey.has(a.key))) continue;
    a.ledger = changes.get(a.key);
    changes.delete(a.key);
  }
  for (const [key, list] of changes) {
    const v = s.byKey.get(key);
    const [namespace, name] = key.split('/');
    // A reserve of a booking gone is released in a transaction that sees it gone (spec compared absent).
    s.actions.push({ kind: 'booking', key, namespace, name, specRevision: v?.specRevision ?? 0, statusRevision: v?.statusRevision ?? 0, calendar: [], events: [], transition: 'Ledger', ledger: list });
  }
}

/** The ledger after an action's changes (txn.ts and tests). */
export function applyLedgerChanges(ledgers: Map<string, Ledger>, changes: LedgerChange[]): void {
  for (const c of changes) ledgers.set(c.account, applyLedgerChange(ledgers.get(c.account) ?? emptyLedger(c.period), c));
}
