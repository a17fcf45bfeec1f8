// Accounting in the planner (operator/src/plan/budget.ts), driven through plan() and written the
// way the reconciler writes (groups, chunks, ledgers compared and put), in memory: reserves at
// admission, extend or refuse, early ends, cancellations, rates, caps, periods; the ledger
// invariant after every step of random histories; and no accounts, no change at all.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Account, AccountSpec } from '../../../crds/api/index.js';
import { checkLedger, DEFAULT_CONFIG, encumbered } from '../../../crds/api/index.js';
import { chunkGroup, groupActions, plan, type BookingAction } from '../../../operator/src/plan/index.js';
import { H, MIN } from './fixtures.js';
import { Sim, opArb, type Op } from './sim.js';
import { accountGroups, poolGroups } from '../../../operator/src/reconcile/groups.js';

function account(name: string, spec: AccountSpec): Account {
  return { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name }, spec };
}

/** A simulated cluster with accounts; `step` plans the whole state and writes it. */
class Books extends Sim {
  constructor(accounts: Account[], names?: string[], labels?: (n: string) => Record<string, string> | undefined) {
    super(names, labels);
    for (const a of accounts) this.accounts.set(a.metadata.name!, { account: a, statusRevision: 0 });
  }
  add(spec: Record<string, unknown>, user = 'u'): string {
    const name = `b${++this.seq}`;
    const r = ++this.rev;
    const key = `${user}/${name}`;
    this.bookings.set(key, { key, booking: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: user, uid: `uid-${name}`, generation: 1, creationTimestamp: new Date(this.now).toISOString() }, spec: { user, queue: true, ...spec } as any }, specRevision: r, statusRevision: 0, createRevision: r });
    this.index.setBooking(key, this.bookings.get(key)!.booking);
    return key;
  }
  edit(key: string, f: (spec: any) => void): void {
    const v = this.bookings.get(key)!;
    const b = structuredClone(v.booking);
    f(b.spec);
    b.metadata.generation = (b.metadata.generation ?? 1) + 1;
    this.bookings.set(key, { ...v, booking: b, specRevision: ++this.rev });
  }
  step(): BookingAction[] {
    const r = plan(this.input());
    this.write(r.actions);
    return r.actions.filter((a): a is BookingAction => a.kind === 'booking');
  }
  settle(times = 4): void {
    for (let i = 0; i < times; i++) this.step();
  }
  status(key: string) {
    return this.bookings.get(key)!.booking.status!;
  }
  ledger(name = 'lab') {
    return this.accounts.get(name)!.account.status!;
  }
  invariant(): void {
    const records = [...this.records.values()].map((r) => r.spec);
    for (const av of this.accounts.values()) assert.deepEqual(checkLedger(av.account, records), [], JSON.stringify(av.account.status));
  }
}

const lab = (units: number, more: Partial<AccountSpec> = {}) => account('lab', { members: { users: ['u', 'v'] }, allocation: { units }, ...more });

describe('accounting in the planner', () => {
  it('with no Account objects, nothing is charged or refused: no ledger change, no account in any status', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const sim = new Sim();
        for (const op of ops) {
          sim.apply(op);
          const r = plan(sim.input());
          for (const a of r.actions) {
            assert.ok(a.kind !== 'booking' || (a.ledger === undefined && a.status?.account === undefined && a.status?.charged === undefined));
            assert.ok(a.kind !== 'booking' || a.status?.phase !== 'Expired' || a.status.reason !== 'Rejected' || !/account/.test(a.status.message ?? ''));
          }
          sim.write(r.actions);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('encumbers at admission and refuses what the account cannot pay, naming balance, encumbered and cost', () => {
    const s = new Books([lab(10)]);
    const a = s.add({ nodes: ['n1'], duration: 4 * 3600 });
    const b = s.add({ nodes: ['n2'], duration: 4 * 3600 });
    const c = s.add({ nodes: ['n3'], duration: 4 * 3600 });
    s.settle();
    assert.equal(s.status(a).phase, 'Active');
    assert.equal(s.status(b).phase, 'Active');
    assert.equal(s.status(a).account, 'lab');
    assert.equal(s.status(c).phase, 'Expired');
    assert.equal(s.status(c).reason, 'Rejected');
    assert.match(s.status(c).message!, /account lab cannot pay for this booking .*costs 4 units, 2 are available \(allocation 10, encumbered 8, charged 0 in Total\)/);
    assert.deepEqual([s.ledger().available, s.ledger().encumbered, s.ledger().charged], [2, 8, 0]);
    s.invariant();
  });

  it('50 bookings in one pass against an account that pays for exactly 10: exactly 10 admitted', () => {
    const names = Array.from({ length: 50 }, (_, i) => `n${i}`);
    const s = new Books([lab(10)], names);
    const keys = names.map((n) => s.add({ nodes: [n], duration: 3600 }));
    s.settle();
    const admitted = keys.filter((k) => s.status(k).phase === 'Active');
    assert.equal(admitted.length, 10);
    assert.equal(keys.filter((k) => s.status(k).reason === 'Rejected').length, 40);
    assert.deepEqual([s.ledger().available, s.ledger().encumbered], [0, 10]);
    s.invariant();
  });

  it('a group too large for one transaction: each chunk writes the ledger as the chunks before it left it', () => {
    const names = Array.from({ length: 60 }, (_, i) => `n${i}`);
    const s = new Books([lab(1000)], names);
    for (const n of names) s.add({ nodes: [n], duration: 3600 });
    const r = plan(s.input());
    const ledgers = new Map([...s.accounts].map(([n, av]) => [n, av.ledger!]).filter(([, l]) => l) as [string, never][]);
    const chunks = chunkGroup(groupActions(r.actions).find((g) => g.some((a) => a.kind === 'booking' && a.ledger))!, s.calendars, undefined, ledgers);
    assert.ok(chunks.length >= 2, `${chunks.length} chunk(s)`);
    assert.deepEqual(chunks.map((c) => encumbered(c.ledgers.get('lab')!) / 1000), chunks.map((_, i) => chunks.slice(0, i + 1).reduce((n, c) => n + c.actions.length, 0)));
    s.write(r.actions);
    assert.equal(s.ledger().encumbered, 60);
    s.invariant();
  });

  it('an early end (kill) charges what was held and releases the rest; a cancellation before the start is free', () => {
    const s = new Books([lab(100)]);
    const a = s.add({ nodes: ['n1'], duration: 4 * 3600 });
    const later = s.add({ nodes: ['n1'], duration: 2 * 3600 });
    s.settle();
    assert.equal(s.status(later).phase, 'Pending');
    assert.equal(s.ledger().encumbered, 6);
    s.now += 90 * MIN;
    s.edit(a, (sp) => (sp.cancelled = true));
    s.edit(later, (sp) => (sp.cancelled = true));
    s.settle();
    assert.equal(s.status(a).charged, 1.5);
    assert.equal(s.status(later).charged, 0);
    assert.deepEqual([s.ledger().available, s.ledger().encumbered, s.ledger().charged], [98.5, 0, 1.5]);
    const rec = [...s.records.values()].find((r) => r.spec.booking.name === a.split('/')[1])!;
    assert.equal(rec.spec.account, 'lab');
    assert.equal(rec.spec.units, 1.5);
    s.invariant();
  });

  it('an extension encumbers the extra or is refused; a shortening releases', () => {
    const s = new Books([lab(5)]);
    const a = s.add({ nodes: ['n1'], duration: 2 * 3600 });
    s.settle();
    s.edit(a, (sp) => (sp.duration = 4 * 3600));
    s.settle();
    assert.equal(s.ledger().encumbered, 4);
    s.edit(a, (sp) => (sp.duration = 6 * 3600));
    s.settle();
    assert.equal(Date.parse(s.status(a).endTime!) - Date.parse(s.status(a).startTime!), 4 * H);
    assert.match(s.status(a).message!, /extend refused: account lab cannot pay for the extension/);
    assert.equal(s.ledger().encumbered, 4);
    s.edit(a, (sp) => (sp.duration = 3600));
    s.settle();
    assert.deepEqual([s.ledger().available, s.ledger().encumbered], [4, 1]);
    s.now += 2 * H;
    s.settle();
    assert.equal(s.status(a).phase, 'Expired');
    assert.deepEqual([s.ledger().available, s.ledger().encumbered, s.ledger().charged], [4, 0, 1]);
    s.invariant();
  });

  it('with whenShort Queue a booking waits, saying why, and goes once units are freed', () => {
    const s = new Books([lab(8, { whenShort: 'Queue' })]);
    const a = s.add({ nodes: ['n1'], duration: 4 * 3600 });
    const b = s.add({ nodes: ['n1'], duration: 4 * 3600 });
    const c = s.add({ nodes: ['n2'], duration: 4 * 3600 });
    s.settle();
    assert.equal(s.status(c).phase, 'Pending');
    assert.match(s.status(c).message!, /waits: account lab cannot pay .* it waits until units are freed or added/);
    assert.equal(s.status(c).account, 'lab', 'named, so that the ledger\'s next write wakes it (the cache indexes waiters by it)');
    s.edit(b, (sp) => (sp.cancelled = true));
    s.settle();
    assert.equal(s.status(c).phase, 'Active');
    assert.equal(s.status(a).phase, 'Active');
    s.invariant();
  });

  it('rates: a GPU node costs its label rate, a pool its pool rate; a count booking reserves the dearest candidate, trued down at the start', () => {
    const s = new Books([lab(100)], ['cpu1', 'gpu1'], (n) => ({ kind: n.startsWith('gpu') ? 'gpu' : 'cpu' }));
    s.config = { ...DEFAULT_CONFIG, rates: { default: 1, nodeLabels: [{ selector: { kind: 'gpu' }, rate: 4 }], pools: { cheap: 0.5 } } };
    const g = s.add({ nodes: ['gpu1'], duration: 3600 });
    s.settle();
    assert.equal(s.ledger().encumbered, 4);
    s.now += H;
    s.settle();
    assert.equal(s.status(g).charged, 4);
    const any = s.add({ count: 1, nodeSelector: {}, duration: 3600, start: new Date(s.now + H).toISOString() });
    s.settle();
    assert.equal(s.ledger().encumbered, 4, 'the dearest candidate (gpu, 4) is reserved while it waits');
    const p = s.add({ nodes: ['gpu1'], duration: 3600, pool: 'cheap' });
    s.settle();
    assert.equal(s.ledger().encumbrances![p].units, 0.5, 'the pool\'s rate before the label\'s');
    s.now += H;
    s.settle();
    const onCpu = s.status(any).nodes![0] === 'cpu1';
    assert.equal(s.ledger().members!.u.encumbered, onCpu ? 1 : 4, 'trued down to the node it got');
    s.invariant();
  });

  it('a member cap refuses past it; membership and the default account decide who pays', () => {
    const s = new Books([lab(100, { memberCaps: { u: 3 } }), account('other', { members: { users: ['v'] }, allocation: { units: 5 } }), account('open', { members: { users: ['v'] }, default: true })]);
    const a = s.add({ nodes: ['n1'], duration: 4 * 3600 });
    const b = s.add({ nodes: ['n2'], duration: 3600, account: 'other' });
    const c = s.add({ nodes: ['n3'], duration: 3600 }, 'w');
    const d = s.add({ nodes: ['n2'], duration: 3600, start: new Date(s.now + 3 * H).toISOString() }, 'v');
    s.settle();
    assert.match(s.status(a).message!, /user u's cap on account lab is 3 units/);
    assert.match(s.status(b).message!, /user u is not a member of account other/);
    assert.match(s.status(c).message!, /user w is a member of no account/);
    assert.equal(s.status(d).account, 'open', 'v is in three accounts: the one marked default');
    s.invariant();
  });

  it('members by Unix group (NSS: listed members or primary gid); a ledger that cannot be read pays for nothing new and is never overwritten', () => {
    const s = new Books([account('grp', { members: { groups: ['lab'] }, allocation: { units: 10 } })]);
    const base = s.input.bind(s);
    // As the shell resolves it (operator/src/reconcile/groups.ts): u is listed in lab, v has it as primary group.
    const labGroup = { name: 'lab', gid: 500, members: ['u'] };
    const users = (n: string) => (n === 'v' ? { name: 'v', uid: 1001, gid: 500 } : n === 'w' ? { name: 'w', uid: 1002, gid: 1002 } : undefined);
    s.input = () => ({ ...base(), groups: poolGroups([], ['u', 'v', 'w'], (g) => (g === 'lab' ? labGroup : undefined), users, accountGroups(s.accounts)) });
    const a = s.add({ nodes: ['n1'], duration: 3600 });
    const b = s.add({ nodes: ['n2'], duration: 3600 }, 'v');
    const c = s.add({ nodes: ['n3'], duration: 3600 }, 'w');
    s.settle();
    assert.equal(s.status(a).account, 'grp', 'a listed member of the group');
    assert.equal(s.status(b).account, 'grp', 'by primary gid');
    assert.match(s.status(c).message!, /user w is a member of no account/);
    s.invariant();

    const bad = new Books([lab(10)]);
    bad.accounts.set('lab', { account: { ...lab(10), status: { period: 'Total', charged: 99 } }, statusRevision: 5, problem: 'status.charged 99 is not the sum of its members\' charges (0)' });
    const d = bad.add({ nodes: ['n1'], duration: 3600 });
    const acts = bad.step();
    assert.match(bad.status(d).message!, /account lab's ledger cannot be read \(status.charged 99/);
    assert.ok(acts.every((x) => !x.ledger), 'nothing written over it');
  });

  it('monthly: a new month starts from nothing charged; what is encumbered carries over', () => {
    const s = new Books([lab(10, { allocation: { units: 10, period: 'Monthly' } })]);
    s.now = Date.parse('2026-03-31T22:00:00Z');
    const a = s.add({ nodes: ['n1'], duration: 3600 });
    const b = s.add({ nodes: ['n2'], duration: 4 * 3600 });
    s.settle();
    s.now += H;
    s.settle();
    assert.deepEqual([s.ledger().period, s.ledger().charged, s.ledger().encumbered], ['2026-03', 1, 4]);
    s.now += 2 * H; // April
    s.settle();
    s.invariant();
    s.now += 2 * H;
    s.settle();
    assert.deepEqual([s.ledger().period, s.ledger().charged, s.ledger().encumbered, s.ledger().available], ['2026-04', 4, 0, 6]);
    assert.equal(s.status(b).period, '2026-04');
    void a;
    s.invariant();
  });

  it('a deleted booking\'s reserve is released, in a transaction that sees it gone', () => {
    const s = new Books([lab(10)]);
    const a = s.add({ nodes: ['n1'], duration: 4 * 3600, start: new Date(s.now + H).toISOString() });
    s.settle();
    assert.equal(s.ledger().encumbered, 4);
    s.bookings.delete(a);
    const acts = s.step();
    const rel = acts.find((x) => x.key === a && x.ledger);
    assert.ok(rel && rel.specRevision === 0, 'released by an action comparing the spec absent');
    s.settle();
    assert.equal(s.ledger().encumbered, 0);
    s.invariant();
  });

  it('random histories keep the ledger invariant at every step (property)', () => {
    const accountOps = fc.oneof(
      { weight: 6, arbitrary: opArb },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('alloc' as const), units: fc.integer({ min: 0, max: 4 }) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('month' as const) }) },
    );
    fc.assert(
      fc.property(fc.array(accountOps, { minLength: 10, maxLength: 60, size: 'medium' }), fc.constantFrom<'Refuse' | 'Queue'>('Refuse', 'Queue'), fc.constantFrom<'Held' | 'Reserved'>('Held', 'Reserved'), (ops, whenShort, charge) => {
        const s = new Books([account('lab', { members: { users: ['u'] }, allocation: { units: 2, period: 'Monthly' }, whenShort, charge, memberCaps: { u: 1.5 } })]);
        s.config = { ...DEFAULT_CONFIG, rates: { nodeLabels: [{ selector: { rack: 'r1' }, rate: 2.5 }] } };
        for (const op of ops) {
          if (op.t === 'alloc') {
            const av = s.accounts.get('lab')!;
            s.accounts.set('lab', { ...av, account: { ...av.account, spec: { ...av.account.spec, allocation: { units: op.units, period: 'Monthly' } } } });
          } else if (op.t === 'month') s.now += 31 * 24 * H;
          else s.apply(op as Op);
          s.step();
          const st = s.ledger();
          if (st) for (const v of [st.available, st.encumbered, st.charged]) assert.ok(v === undefined || v >= 0);
          // Sum of usage records of the period = charged; allocation = available + encumbered + charged.
          s.invariant();
          // Every booking that holds nodes is paid for.
          for (const v of s.bookings.values()) {
            if (v.booking.status?.phase === 'Active') assert.ok(st?.encumbrances?.[v.key] || !v.booking.status.account, `${v.key} is Active without a reserve`);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
