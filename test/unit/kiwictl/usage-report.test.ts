// kiwictl usage's pure part (kiwictl/src/cmd/usage/report.ts): balances rolled to the current
// period, usage grouped by user, account, pool and node over a period, sreport-style
// utilization, CSV quoting. (How fast a year of records is read and grouped: bench/accounting.ts.)
import assert from 'node:assert/strict';
import type { Account, Booking, UsageRecord } from '../../../crds/api/index.js';
import { accountRows, toCsv, usageRows, utilization } from '../../../kiwictl/src/cmd/usage/report.js';

const H = 3_600_000;
const T = Date.parse('2026-11-01T00:00:00Z');
const rec = (user: string, account: string | undefined, nodes: string[], start: number, hours: number, units: number, pool?: string): UsageRecord => ({
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'UsageRecord', metadata: { name: `b.${start}`, namespace: user },
  spec: { booking: { name: 'b', uid: 'u', createRevision: 1 }, user, nodes, startTime: new Date(start).toISOString(), endTime: new Date(start + hours * H).toISOString(), nodeSeconds: nodes.length * hours * 3600, reason: 'TimeLimit', filedAt: new Date(start + hours * H).toISOString(), ...(account ? { account, units, period: '2026-11' } : {}), ...(pool ? { pool } : {}) },
});

describe('kiwictl usage report', () => {
  const records = [rec('alice', 'lab', ['n1', 'n2'], T, 2, 4.001, 'gpu'), rec('bob', 'lab', ['n1'], T + 3 * H, 1, 1), rec('alice', 'other', ['n3'], T + 5 * H, 1, 2), rec('carol', undefined, ['n2'], T + 6 * H, 1, 0), rec('alice', 'lab', ['n1'], T - 5 * H, 1, 9)];

  it('groups node-hours and units by the dimensions asked, within the period (by the end of use)', () => {
    const rows = usageRows(records, ['account', 'user'], T, T + 24 * H);
    assert.deepEqual(rows.map((r) => [r.group.account, r.group.user, r.bookings, r.nodeHours, r.units]), [
      ['lab', 'alice', 1, 4, 4.001],
      ['other', 'alice', 1, 1, 2],
      ['lab', 'bob', 1, 1, 1],
      ['-', 'carol', 1, 1, 0],
    ]);
    const byPool = usageRows(records, ['pool'], T, T + 24 * H);
    assert.deepEqual(byPool.map((r) => [r.group.pool, r.units]), [['gpu', 4.001], ['-', 3]]);
  });

  it('by node, a record counts on each of its nodes, its units shared out so that the parts add up', () => {
    const rows = usageRows(records, ['node'], T, T + 24 * H);
    const n1 = rows.find((r) => r.group.node === 'n1')!;
    const n2 = rows.find((r) => r.group.node === 'n2')!;
    assert.equal(n1.nodeHours, 3);
    assert.equal(n1.bookings, 2);
    assert.equal(Math.round((n1.units + n2.units + rows.find((r) => r.group.node === 'n3')!.units) * 1000), 7001);
  });

  it('balances are the ledgers rolled to the current period; an unreadable one says so', () => {
    const a: Account = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name: 'lab' }, spec: { members: { users: ['alice'], groups: ['phd'] }, allocation: { units: 10, period: 'Monthly' } }, status: { period: '2026-10', charged: 3, members: { alice: { charged: 3, encumbered: 2 } }, encumbered: 2, encumbrances: { 'alice/x': { uid: '1', user: 'alice', units: 2 } } } };
    const bad: Account = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name: 'bad' }, spec: {}, status: { period: 'Total', charged: 4 } };
    const rows = accountRows([bad, a], T + H);
    assert.deepEqual(rows.map((r) => r.account), ['bad', 'lab']);
    assert.deepEqual(rows[1], { account: 'lab', period: '2026-11', allocation: 10, available: 8, encumbered: 2, charged: 0, members: ['alice', '@phd'] });
    assert.match(rows[0].problem!, /not the sum of its members/);
  });

  it('utilization: held node-hours within the period against what the nodes could give', () => {
    const active: Booking = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'a', namespace: 'dan' }, spec: { nodes: ['n3'] }, status: { phase: 'Active', nodes: ['n3'], startTime: new Date(T + 22 * H).toISOString(), endTime: new Date(T + 30 * H).toISOString() } };
    const u = utilization(records, [active], 4, T, T + 24 * H, T + 24 * H);
    // 4 + 1 + 1 + 1 held in the day, 2 of the active one's; the one that ended before the period counts nothing.
    assert.deepEqual([u.totalNodeHours, u.allocatedNodeHours, u.idleNodeHours, u.allocatedPercent], [96, 9, 87, 9.4]);
  });

  it('CSV quotes what needs it', () => {
    assert.equal(toCsv(['a', 'b'], [['x,y', 'say "hi"'], [1, 2]]), 'a,b\n"x,y","say ""hi"""\n1,2\n');
  });
});
