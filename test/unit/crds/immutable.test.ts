// Fields fixed once a booking has started: immutableChanges(old, new) names each changed one by
// its path; a booking that has not begun may change anything.
import assert from 'node:assert/strict';
import type { Booking } from '../../../crds/api/index.js';
import { hasBegun, immutableChanges } from '../../../crds/api/index.js';

const T = Date.parse('2026-03-02T08:00:00Z');
const bk = (spec: Partial<Booking['spec']>, status?: Booking['status']): Booking => ({
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'b', namespace: 'alice' }, spec: { user: 'alice', nodes: ['n1'], duration: 3600, ...spec }, ...(status ? { status } : {}),
});
const activeSt: Booking['status'] = { phase: 'Active', nodes: ['n1'], startTime: new Date(T - 60_000).toISOString(), endTime: new Date(T + 3_600_000).toISOString() };

describe('crds immutable fields once a booking has started', () => {
  const cases: { name: string; to: Partial<Booking['spec']>; paths: string[] }[] = [
    { name: 'another user', to: { user: 'bob' }, paths: ['spec.user'] },
    { name: 'other nodes', to: { nodes: ['n2'] }, paths: ['spec.nodes'] },
    { name: 'the same nodes in another order', to: { nodes: ['n1'] }, paths: [] },
    { name: 'a count instead of nodes', to: { nodes: undefined, count: 2 }, paths: ['spec.nodes', 'spec.count'] },
    { name: 'a nodeSelector', to: { nodeSelector: { gpu: 'a100' } }, paths: ['spec.nodeSelector'] },
    { name: 'a start', to: { start: new Date(T).toISOString() }, paths: ['spec.start'] },
    { name: 'another pool (its limits and rates were the admitted one\'s)', to: { pool: 'gpu' }, paths: ['spec.pool'] },
    { name: 'a longer duration (extend)', to: { duration: 7200 }, paths: [] },
    { name: 'cancelled', to: { cancelled: true }, paths: [] },
  ];
  for (const c of cases) {
    it(`Active, ${c.name}: ${c.paths.join(', ') || 'allowed'}`, () => {
      const problems = immutableChanges(bk({}, activeSt), bk(c.to));
      assert.deepEqual(problems.map((p) => p.split(':')[0]), c.paths);
      for (const p of problems) assert.match(p, /: field is immutable once the booking has started \(it is .*, the change gives .*\); to change it, book anew$/);
    });
  }
  it('names both values', () => {
    assert.deepEqual(immutableChanges(bk({}, activeSt), bk({ user: 'bob' })), ['spec.user: field is immutable once the booking has started (it is "alice", the change gives "bob"); to change it, book anew']);
  });
  it('a Pending booking may change anything, unless its planned start has come (by `now`)', () => {
    const pending: Booking['status'] = { phase: 'Pending', nodes: ['n1'], startTime: new Date(T - 1000).toISOString() };
    assert.deepEqual(immutableChanges(bk({}, pending), bk({ user: 'bob' })), []);
    assert.deepEqual(immutableChanges(bk({}, pending), bk({ user: 'bob' }), T).length, 1);
    assert.equal(hasBegun(bk({}, pending), T - 2000), false);
    assert.equal(hasBegun(bk({})), false);
  });
});
