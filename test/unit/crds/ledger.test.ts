// The ledger's pure core (crds/api/ledger.ts): rates, costs, periods, decoding stored ledgers
// as hostile input, and the invariant checker catching each way a ledger can be wrong.
import assert from 'node:assert/strict';
import type { Account, Rates } from '../../../crds/api/index.js';
import { applyLedgerChange, checkLedger, costMilli, decodeLedger, emptyLedger, encodeLedger, periodOf, rateMilli, toMilli } from '../../../crds/api/index.js';

const rates: Rates = { default: 1, pools: { cheap: 0.5 }, nodeLabels: [{ selector: { gpu: 'a100' }, rate: 4 }, { selector: { gpu: 'a100', big: 'yes' }, rate: 9 }] };
const acct = (status: Account['status'], units = 10): Account => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name: 'lab' }, spec: { allocation: { units } }, status });

describe('ledger: rates, costs, periods', () => {
  it('a pool rate goes before label rules, the first matching rule before the default', () => {
    assert.equal(rateMilli(rates, { gpu: 'a100' }, 'cheap'), 500);
    assert.equal(rateMilli(rates, { gpu: 'a100', big: 'yes' }), 4000, 'the first rule that matches wins');
    assert.equal(rateMilli(rates, { gpu: 'v100' }, 'other'), 1000);
    assert.equal(rateMilli(undefined, {}), 1000, 'no rates: every node costs 1');
  });

  it('costs are exact, rounded up to a thousandth', () => {
    assert.equal(costMilli([1000, 4000], 3_600_000), 5000);
    assert.equal(costMilli([1000], 1), 1, 'a millisecond still costs a thousandth');
    assert.equal(costMilli([1_000_000_000], 366 * 86_400_000), 8_784_000_000_000, 'no float drift at the largest');
    assert.equal(costMilli([], 3_600_000), 0);
  });

  it('periods are UTC months and years', () => {
    const t = Date.parse('2026-12-31T23:59:59Z');
    assert.equal(periodOf('Monthly', t), '2026-12');
    assert.equal(periodOf('Monthly', t + 1000), '2027-01');
    assert.equal(periodOf('Yearly', t), '2026');
    assert.equal(periodOf(undefined, t), 'Total');
  });
});

describe('ledger: stored form and invariant', () => {
  const l1 = applyLedgerChange(applyLedgerChange(emptyLedger('Total'), { account: 'lab', period: 'Total', key: 'u/a', set: { uid: '1', user: 'u', milli: 3000 } }), { account: 'lab', period: 'Total', key: 'u/b', charge: { user: 'v', milli: 1500 } });

  it('round-trips through the stored form, and the invariant holds', () => {
    const st = encodeLedger(l1, 10_000);
    assert.deepEqual([st.allocation, st.available, st.encumbered, st.charged], [10, 5.5, 3, 1.5]);
    const d = decodeLedger(st, 'Total');
    assert.ok('ledger' in d);
    assert.deepEqual(encodeLedger(d.ledger, 10_000), st);
    assert.deepEqual(checkLedger(acct(st), [{ account: 'lab', period: 'Total', units: 1.5 }]), []);
  });

  it('an allocation cut below what is committed shows nothing available, never a negative', () => {
    const st = encodeLedger(l1, 1000);
    assert.deepEqual([st.allocation, st.available], [4.5, 0]);
    assert.deepEqual(checkLedger(acct(st, 1)), []);
  });

  it('catches totals that disagree with their parts, negatives, and records that do not add up', () => {
    const st = encodeLedger(l1, 10_000);
    assert.match(checkLedger(acct({ ...st, encumbered: 2 })).join(), /encumbered 2 is not the sum of its encumbrances 3/);
    assert.match(checkLedger(acct({ ...st, available: 9 })).join(), /allocation 10 != available 9 \+ encumbered 3 \+ charged 1.5/);
    assert.match(checkLedger(acct({ ...st, available: -1, allocation: 3.5 })).join(), /available is -1, negative/);
    assert.match(checkLedger(acct(st), [{ account: 'lab', period: 'Total', units: 1 }]).join(), /usage records of period Total charge 1, the ledger 1.5/);
    assert.match(checkLedger(acct(st), [{ account: 'lab', period: 'Total', units: 1.5 }, { account: 'lab', period: 'Total', units: 0.001 }]).join(), /charge 1.501/);
  });

  it('decodes a stored ledger as hostile input: the problem named, never a throw', () => {
    for (const [v, want] of [
      [[], /not an object/],
      [{ period: 7 }, /period/],
      [{ period: 'Total', encumbrances: { 'u/a': { uid: 1, user: 'u', units: 1 } } }, /encumbrances\["u\/a"\]/],
      [{ period: 'Total', encumbrances: { 'u/a': { uid: '1', user: 'u', units: -1 } } }, /encumbrances/],
      [{ period: 'Total', members: { u: { charged: 'lots' } } }, /members\["u"\]/],
      [{ period: 'Total', charged: 5, members: { u: { charged: 1 } } }, /not the sum of its members/],
      [{ period: 'Total', encumbrances: 'x' }, /not a map/],
    ] as const) {
      const d = decodeLedger(v, 'Total');
      assert.ok('problem' in d, JSON.stringify(v));
      assert.match(d.problem, want);
    }
    assert.ok('ledger' in decodeLedger(undefined, '2026-12'));
    assert.equal(toMilli(0.1) + toMilli(0.2), 300);
  });
});
