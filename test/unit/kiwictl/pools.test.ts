// kiwictl's pure pool pieces: describe pool's summary (nodes, limits, holders), info's sections
// by pool, alloc --pool, and the pending reason get bookings and alloc show.
import assert from 'node:assert/strict';
import type { Booking, Node, Pool } from '../../../crds/api/index.js';
import { limitsText, poolSummary } from '../../../kiwictl/src/cmd/describe/pool.js';
import { poolSections, type InfoRow } from '../../../kiwictl/src/cmd/info/rows.js';
import { allocRequest, bookingFor } from '../../../kiwictl/src/cmd/alloc/spec.js';
import { heldBack } from '../../../kiwictl/src/printers/format.js';

const NOW = Date.parse('2026-03-02T08:00:00Z');
const pool = (name: string, spec: Pool['spec']): Pool => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name }, spec });
const node = (name: string, labels?: Record<string, string>): Node => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name, ...(labels ? { labels } : {}) } });
const bk = (ns: string, name: string, spec: Partial<Booking['spec']>, status: Booking['status']): Booking => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: ns }, spec: { count: 1, ...spec } as Booking['spec'], status });
const iso = (t: number) => new Date(t).toISOString();

describe('kiwictl pools', () => {
  const gpu = pool('gpu', { default: true, nodeSelector: 'gpu=a100', timeZone: 'Europe/Berlin', limits: { maxDuration: 14400, perUser: { nodes: 8, waiting: 3 }, schedule: [{ days: ['Mon', 'Fri'], start: '09:00', end: '18:00', perUserNodes: 2 }] } });
  const cpu = pool('cpu', { nodeSelector: '!gpu' });
  const nodes = [node('g10', { gpu: 'a100' }), node('g2', { gpu: 'a100' }), node('c1')];

  it('describe pool: nodes in natural order, limits in words, who holds what now in this pool only', () => {
    const H = 3_600_000;
    const bookings = [
      bk('alice', 'run', {}, { phase: 'Active', nodes: ['g2'], startTime: iso(NOW - H), endTime: iso(NOW + H) }),
      bk('alice', 'next', {}, { phase: 'Pending', nodes: ['g2'], startTime: iso(NOW + H), endTime: iso(NOW + 3 * H) }),
      bk('alice', 'waits', {}, { phase: 'Pending', reason: 'Queued', pendingReason: 'PoolMaxNodesPerUser' }),
      bk('bob', 'cpu', { pool: 'cpu' }, { phase: 'Active', nodes: ['c1'], startTime: iso(NOW - H), endTime: iso(NOW + H) }),
      bk('carol', 'old', {}, { phase: 'Expired', reason: 'TimeLimit' }),
    ];
    const out = poolSummary(gpu, [gpu, cpu], nodes, bookings, NOW);
    assert.equal(out.split('\n')[0], 'Nodes:              g2, g10 (2)');
    assert.equal(out.split('\n')[1], 'Limits:             maxDuration 4h; per user: 8 nodes, 3 waiting; Mon,Fri 09:00-18:00 Europe/Berlin: 2 nodes per user');
    assert.match(out, /\n  USER\s+NODES NOW\s+BOOKINGS HELD\s+WAITING\s+NODE-HOURS AHEAD\n  alice\s+1\s+2\s+2\s+3\s*\n$/);
    assert.match(poolSummary(cpu, [gpu, cpu], nodes, [], NOW), /Limits:\s+<none>\nHeld now:\n  <nobody>\n$/);
  });

  it('limitsText names every limit', () => {
    assert.equal(limitsText(pool('p', { limits: { defaultDuration: 1800, maxNodes: 2, maxStartAhead: 86400, extendWithin: 3600, maxExtend: 7200, perGroup: { bookings: 4, nodeHours: 10 } } })), 'defaultDuration 30m; maxNodes 2; maxStartAhead 1d; extendWithin 1h; maxExtend 2h; per group: 4 bookings held, 10 node-hours ahead');
  });

  it('info: a section per pool (a node in several is in each), then the nodes in none', () => {
    const rows: InfoRow[] = [{ node: 'c1', state: 'free', waiting: 0, labels: {} }, { node: 'g2', state: 'booked', waiting: 1, labels: { gpu: 'a100' } }, { node: 'x1', state: 'free', waiting: 0, labels: { gpu: 'h100' } }];
    const all = pool('all', {});
    const s = poolSections(rows, [gpu, all, pool('none', { nodeSelector: 'nothing' })]);
    assert.deepEqual(s.map((x) => [x.title, x.rows.map((r) => r.node)]), [
      ['POOL all: Open, FIFO, 3 node(s), 2 free', ['c1', 'g2', 'x1']],
      ['POOL gpu (default): Open, FIFO, 1 node(s), 0 free', ['g2']],
      ['POOL none: Open, FIFO, 0 node(s), 0 free', []],
    ]);
    assert.deepEqual(rows.map((r) => r.pools), [['all'], ['gpu', 'all'], ['all']]);
    assert.deepEqual(poolSections(rows, [gpu]).map((x) => x.title), ['POOL gpu (default): Open, FIFO, 1 node(s), 0 free', 'IN NO POOL: 2 node(s)']);
  });

  it('alloc --pool names the pool in spec.pool; a bad name is refused before anything is read', () => {
    const r = allocRequest({ count: '1', pool: 'gpu' }, NOW);
    assert.equal(bookingFor(r, 'alice', 'bk-1').spec.pool, 'gpu');
    assert.equal(bookingFor(allocRequest({ count: '1' }, NOW), 'alice', 'bk-1').spec.pool, undefined);
    assert.throws(() => allocRequest({ count: '1', pool: 'GPU pool' }, NOW), /--pool GPU pool: not a pool name \(kiwictl get pools lists them\)/);
  });

  it('the pending reason: what held a planned start back, or why it waits; nothing for other waits', () => {
    assert.equal(heldBack({ status: { pendingReason: 'PoolMaxNodesPerUser', message: 'starts 2026-03-02T09:00:00Z, after a/b (user a) on n1 until 2026-03-02T09:00:00Z (held back by PoolMaxNodesPerUser: pool gpu allows 2 node(s) per user; alice holds 2)' } }), 'PoolMaxNodesPerUser: pool gpu allows 2 node(s) per user; alice holds 2');
    assert.equal(heldBack({ status: { pendingReason: 'PoolClosed', message: 'waits: PoolClosed: pool gpu is closed' } }), 'PoolClosed: pool gpu is closed');
    assert.equal(heldBack({ status: { message: 'waits: node n1 is NotReady' } }), '');
  });
});
