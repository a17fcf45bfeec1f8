// Pools and their limits in the pure planner: exact reasons for every limit, refuse-now versus
// wait, both fair orders, and no Pool objects (or a pool without limits) planning as before.
import assert from 'node:assert/strict';
import type { Pool, PoolSpec } from '../../../crds/api/index.js';
import { plan } from '../../../operator/src/plan/index.js';
import { T0, H, MIN, iso, booking, node, active, input, bookingActions } from './fixtures.js';

const pool = (name: string, spec: PoolSpec = {}): Pool => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name }, spec });
const gpuNodes = () => [node('n1', { labels: { gpu: 'a100' } }), node('n2', { labels: { gpu: 'a100' } }), node('n3', { labels: { gpu: 'a100' } }), node('c1'), node('c2')];

function go(p: Parameters<typeof input>[0] & { pools?: Pool[]; groups?: Record<string, string[]> }) {
  const inp = { ...input(p), pools: p.pools, groups: p.groups ? new Map(Object.entries(p.groups)) : undefined };
  return bookingActions(plan(inp));
}

describe('operator plan: pools', () => {
  describe('no Pool objects: the old behaviour', () => {
    it('plans the same actions with pools absent, empty, or one default pool of every node without limits', () => {
      const a1 = active('bob/run', ['n1'], T0 - H, T0 + H);
      const mk = () => [a1.view, booking('alice/a', { nodes: ['n1'], duration: 3600 }), booking('alice/b', { count: 2, duration: 1800 }), booking('carol/c', { nodes: ['n2', 'n3'], duration: 600 }), booking('dave/d', { nodes: ['n1'], start: iso(T0 + 5 * H), duration: 60 })];
      const base = { nodes: gpuNodes(), entries: a1.entries };
      const bs = mk();
      const none = plan(input({ ...base, bookings: structuredClone(bs) }));
      const empty = plan({ ...input({ ...base, bookings: structuredClone(bs) }), pools: [] });
      const open = plan({ ...input({ ...base, bookings: structuredClone(bs) }), pools: [pool('all', { default: true })] });
      assert.deepEqual(empty, none);
      assert.deepEqual(open, none);
      assert.ok(none.actions.length >= 4);
    });
  });

  describe('membership', () => {
    it('a booking without spec.pool is in the default pool: only its nodes are candidates', () => {
      const b = go({ nodes: gpuNodes(), pools: [pool('cpu', { default: true, nodeSelector: '!gpu' }), pool('gpu', { nodeSelector: 'gpu=a100' })], bookings: [booking('alice/x', { count: 2, duration: 60 })] });
      assert.deepEqual(b.get('alice/x')!.status!.nodes, ['c1', 'c2']);
    });
    it('a booking naming a pool goes on its nodes; a node may be in several pools', () => {
      const b = go({ nodes: gpuNodes(), pools: [pool('all', { default: true }), pool('gpu', { nodeSelector: 'gpu=a100' })], bookings: [booking('alice/x', { count: 3, duration: 60, pool: 'gpu' }), booking('bob/y', { nodes: ['n1'], duration: 60 })] });
      assert.deepEqual(b.get('alice/x')!.status!.nodes, ['n1', 'n2', 'n3']);
      assert.equal(b.get('bob/y')!.status!.phase, 'Pending'); // n1 is in both pools
    });
    it('refuses a pinned node outside the pool, naming it', () => {
      const b = go({ nodes: gpuNodes(), pools: [pool('gpu', { default: true, nodeSelector: 'gpu=a100' })], bookings: [booking('alice/x', { nodes: ['c1'], duration: 60 })] });
      assert.equal(b.get('alice/x')!.status!.reason, 'Rejected');
      assert.equal(b.get('alice/x')!.status!.message, 'PoolMember: node c1 is not in pool gpu (nodeSelector "gpu=a100")');
    });
    it('counts only the pool\'s nodes as matching a selector', () => {
      const b = go({ nodes: gpuNodes(), pools: [pool('cpu', { default: true, nodeSelector: '!gpu' })], bookings: [booking('alice/x', { count: 3, duration: 60 })] });
      assert.equal(b.get('alice/x')!.status!.message, '3 node(s) matching nodeSelector (any) asked, 2 match and 2 can be booked');
    });
    it('refuses an unknown pool, and a booking naming none when no pool is the default', () => {
      const b = go({ pools: [pool('gpu'), pool('cpu')], bookings: [booking('alice/x', { nodes: ['n1'], duration: 60, pool: 'tpu' }), booking('alice/y', { nodes: ['n1'], duration: 60 })] });
      assert.equal(b.get('alice/x')!.status!.message, 'PoolNotFound: pool tpu does not exist (pools: cpu, gpu)');
      assert.equal(b.get('alice/y')!.status!.message, 'PoolNotFound: the booking names no pool and no pool is the default (pools: cpu, gpu); name one (spec.pool, kiwictl alloc --pool POOL)');
    });
    it('an admitted booking whose pool was deleted waits, saying so (never refused after the fact)', () => {
      const v = booking('alice/x', { nodes: ['n1'], duration: 60, pool: 'gone' }, { status: { phase: 'Pending', reason: 'Queued', message: 'x', observedGeneration: 1 } });
      const a = go({ pools: [pool('other', { default: true })], bookings: [v] }).get('alice/x')!;
      assert.equal(a.status!.phase, 'Pending');
      assert.equal(a.status!.pendingReason, 'PoolNotFound');
      assert.equal(a.status!.message, 'waits: PoolNotFound: pool gone does not exist (pools: other)');
    });
  });

  describe('open or closed, who may book', () => {
    it('a closed pool keeps its Active bookings and starts nothing new: PoolClosed', () => {
      const a = active('bob/run', ['n1'], T0 - H, T0 + H);
      const b = go({ pools: [pool('p', { default: true, state: 'Closed' })], bookings: [a.view, booking('alice/x', { nodes: ['n2'], duration: 60 })], entries: a.entries });
      assert.equal(b.get('bob/run'), undefined); // unchanged
      const x = b.get('alice/x')!;
      assert.equal(x.status!.phase, 'Pending');
      assert.equal(x.status!.pendingReason, 'PoolClosed');
      assert.equal(x.status!.message, 'waits: PoolClosed: pool p is closed: it starts nothing new until an admin opens it (spec.state: Open)');
      assert.deepEqual(x.calendar, []);
    });
    it('admits allowed users, members of allowed groups (groups as input) and admins; refuses others', () => {
      const p = pool('p', { default: true, allowUsers: ['alice'], allowGroups: ['students'] });
      const b = go({
        pools: [p], config: { admins: ['root2'] }, groups: { carol: ['students', 'x'], dave: ['staff'] },
        bookings: [booking('alice/a', { nodes: ['n1'], duration: 60 }), booking('carol/c', { nodes: ['n2'], duration: 60 }), booking('root2/r', { nodes: ['n3'], duration: 60 }), booking('dave/d', { nodes: ['n3'], duration: 60 })],
      });
      assert.equal(b.get('alice/a')!.status!.phase, 'Active');
      assert.equal(b.get('carol/c')!.status!.phase, 'Active');
      assert.equal(b.get('root2/r')!.status!.phase, 'Active');
      assert.equal(b.get('dave/d')!.status!.reason, 'Rejected');
      assert.equal(b.get('dave/d')!.status!.message, 'PoolAccess: pool p may be booked by users alice and members of students; dave is neither');
    });
  });

  describe('per booking', () => {
    const p = pool('gpu', { default: true, limits: { maxDuration: 4 * 3600, defaultDuration: 1800, maxNodes: 2, maxStartAhead: 86400 } });
    it('maxDuration: refused naming the value', () => {
      const a = go({ pools: [p], bookings: [booking('alice/x', { nodes: ['n1'], duration: 5 * 3600 })] }).get('alice/x')!;
      assert.equal(a.status!.reason, 'Rejected');
      assert.equal(a.status!.message, 'PoolMaxDuration: pool gpu allows bookings of at most 4h; this one asks 5h');
    });
    it('defaultDuration: a booking naming none lasts the pool\'s default', () => {
      const a = go({ pools: [p], bookings: [booking('alice/x', { nodes: ['n1'] })] }).get('alice/x')!;
      assert.equal(a.status!.endTime, iso(T0 + 30 * MIN));
    });
    it('maxNodes: refused naming the value', () => {
      const a = go({ pools: [p], bookings: [booking('alice/x', { count: 3, duration: 60 })] }).get('alice/x')!;
      assert.equal(a.status!.message, 'PoolMaxNodes: pool gpu allows 2 node(s) per booking; this one asks 3');
    });
    it('maxStartAhead: a fixed start too far ahead is refused', () => {
      const a = go({ pools: [p], bookings: [booking('alice/x', { nodes: ['n1'], start: iso(T0 + 2 * 86400_000), duration: 60 })] }).get('alice/x')!;
      assert.equal(a.status!.message, 'PoolMaxStartAhead: pool gpu allows starts at most 1d ahead; this one starts 2d ahead');
    });
    it('an admitted booking over a limit lowered later waits (never refused after the fact)', () => {
      const v = booking('alice/x', { nodes: ['n1'], duration: 5 * 3600 }, { status: { phase: 'Pending', reason: 'Queued', message: 'x', observedGeneration: 1 } });
      const a = go({ pools: [p], bookings: [v] }).get('alice/x')!;
      assert.equal(a.status!.phase, 'Pending');
      assert.equal(a.status!.pendingReason, 'PoolMaxDuration');
    });
  });

  describe('extend', () => {
    const p = pool('p', { default: true, limits: { extendWithin: 2 * 3600, maxExtend: 3600, maxDuration: 6 * 3600 } });
    const resized = (start: number, end: number, newDur: number) => {
      const a = active('alice/x', ['n1'], start, end);
      a.view.booking.spec.duration = newDur;
      a.view.booking.metadata.generation = 2;
      return go({ pools: [p], bookings: [a.view], entries: a.entries }).get('alice/x')!;
    };
    it('extendWithin: refused earlier than the last 2h, naming when it ends', () => {
      const a = resized(T0 - H, T0 + 4 * H, 5.5 * 3600);
      assert.equal(a.status!.endTime, iso(T0 + 4 * H));
      assert.match(a.status!.message!, /^extend refused: PoolExtendWithin: pool p allows extending only in the last 2h of a booking; this one ends in 4h; the booking still ends at /);
    });
    it('maxExtend: by at most 1h at once', () => {
      const a = resized(T0 - H, T0 + H, 4 * 3600);
      assert.match(a.status!.message!, /^extend refused: PoolMaxExtend: pool p allows extending by at most 1h at once; asked 2h;/);
    });
    it('maxDuration: an extension past it is refused; one within all three is applied', () => {
      assert.match(resized(T0 - 5 * H, T0 + H, 6.5 * 3600).status!.message!, /^extend refused: PoolMaxDuration: pool p allows bookings of at most 6h; extended it would last 6h30m;/);
      assert.equal(resized(T0 - H, T0 + H, 3 * 3600).status!.endTime, iso(T0 + 2 * H));
    });
  });

  describe('per user and per group', () => {
    it('nodes per user: a second booking waits until the first ends, its planned start exact, the reason named', () => {
      const p = pool('gpu', { default: true, limits: { perUser: { nodes: 2 } } });
      const b = go({ pools: [p], bookings: [booking('alice/a', { count: 2, duration: 3600 }), booking('alice/b', { nodes: ['n3'], duration: 600 }), booking('bob/c', { nodes: ['n3'], duration: 600 })] });
      assert.equal(b.get('alice/a')!.status!.phase, 'Active');
      const x = b.get('alice/b')!;
      assert.equal(x.status!.phase, 'Pending');
      assert.equal(x.status!.startTime, iso(T0 + H));
      assert.equal(x.status!.pendingReason, 'PoolMaxNodesPerUser');
      // bob's booking is after alice's on n3 in the queue, but backfills: it ends before hers starts
      assert.equal(b.get('bob/c')!.status!.phase, 'Active');
      const h = (t: number) => iso(t).replace('.000Z', 'Z');
      assert.equal(x.status!.message, `starts ${h(T0 + H)}, after bob/c (user bob) on n3 until ${h(T0 + 10 * MIN)} (held back by PoolMaxNodesPerUser: pool gpu allows 2 node(s) per user; alice holds 2)`);
    });
    it('nodes per user: one booking asking more than the limit ever allows is refused', () => {
      const p = pool('gpu', { default: true, limits: { perUser: { nodes: 2 }, schedule: [{ start: '09:00', end: '18:00', perUserNodes: 1 }] } });
      const a = go({ pools: [p], bookings: [booking('alice/a', { count: 3, duration: 60 })] }).get('alice/a')!;
      assert.equal(a.status!.reason, 'Rejected');
      assert.equal(a.status!.message, 'PoolMaxNodesPerUser: pool gpu allows at most 2 node(s) per user; this booking alone asks 3');
    });
    it('nodes per group: the members of a group together', () => {
      const p = pool('gpu', { default: true, allowGroups: ['lab'], limits: { perGroup: { nodes: 1 } } });
      const b = go({ pools: [p], groups: { alice: ['lab'], bob: ['lab'] }, bookings: [booking('alice/a', { nodes: ['n1'], duration: 3600 }), booking('bob/b', { nodes: ['n2'], duration: 600 })] });
      const x = b.get('bob/b')!;
      assert.equal(x.status!.startTime, iso(T0 + H));
      assert.equal(x.status!.pendingReason, 'PoolMaxNodesPerGroup');
      assert.match(x.status!.message!, /held back by PoolMaxNodesPerGroup: pool gpu allows 1 node\(s\) per group lab; the members of lab hold 1\)$/);
    });
    it('time of day: weekdays 09:00-18:00 Europe/Berlin at most 1 node per user, otherwise 3; a booking spanning 09:00 keeps to both', () => {
      // T0 is Monday 08:00 UTC = 09:00 in Berlin: the window is open.
      const p = pool('gpu', { default: true, timeZone: 'Europe/Berlin', limits: { perUser: { nodes: 3 }, schedule: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '09:00', end: '18:00', perUserNodes: 1 }] } });
      const b = go({ pools: [p], bookings: [booking('kiwitest-a/one', { nodes: ['n1'], duration: 3600 }), booking('kiwitest-a/two', { nodes: ['n2'], duration: 3600 })] });
      assert.equal(b.get('kiwitest-a/one')!.status!.phase, 'Active');
      const x = b.get('kiwitest-a/two')!;
      assert.equal(x.status!.startTime, iso(T0 + H));
      assert.equal(x.status!.message, `starts ${iso(T0 + H).replace('.000Z', 'Z')} (held back by PoolMaxNodesPerUser: pool gpu allows 1 node(s) per user weekdays 09:00-18:00 Europe/Berlin; kiwitest-a holds 1)`);
      // In the evening (19:00 Berlin) both start at once.
      const eve = go({ now: T0 + 10 * H, pools: [p], bookings: [booking('kiwitest-a/one', { nodes: ['n1'], duration: 3600 }), booking('kiwitest-a/two', { nodes: ['n2'], duration: 3600 })] });
      assert.equal(eve.get('kiwitest-a/two')!.status!.phase, 'Active');
      // A two-node booking at 08:00 Berlin on a Monday (07:00 UTC) would run into the window: it starts at 18:00 Berlin.
      const early = go({ now: T0 - H, pools: [p], bookings: [booking('kiwitest-a/two', { count: 2, duration: 2 * 3600 })] }).get('kiwitest-a/two')!;
      assert.equal(early.status!.startTime, iso(T0 + 9 * H));
      assert.match(early.status!.message!, /held back by PoolMaxNodesPerUser: pool gpu allows 1 node\(s\) per user weekdays 09:00-18:00 Europe\/Berlin; kiwitest-a holds 0\)$/);
    });
    it('bookings held per user: beyond it a booking waits unplanned', () => {
      const p = pool('gpu', { default: true, limits: { perUser: { bookings: 1 } } });
      const b = go({ pools: [p], bookings: [booking('alice/a', { nodes: ['n1'], duration: 60 }), booking('alice/b', { nodes: ['n2'], duration: 60 })] });
      const x = b.get('alice/b')!;
      assert.equal(x.status!.message, 'waits: PoolMaxBookingsPerUser: pool gpu allows 1 booking(s) held per user; alice holds 1');
      assert.deepEqual(x.calendar, []);
    });
    it('waiting per user: a new booking beyond it is refused (submit limit); those admitted stay', () => {
      const p = pool('gpu', { default: true, limits: { perUser: { waiting: 1 } } });
      const blocker = active('bob/run', ['n1'], T0 - H, T0 + H);
      const b = go({ pools: [p], entries: blocker.entries, bookings: [blocker.view, booking('alice/a', { nodes: ['n1'], duration: 60 }), booking('alice/b', { nodes: ['n1'], duration: 60 })] });
      assert.equal(b.get('alice/a')!.status!.phase, 'Pending');
      assert.equal(b.get('alice/b')!.status!.reason, 'Rejected');
      assert.equal(b.get('alice/b')!.status!.message, 'PoolMaxWaitingPerUser: pool gpu allows 1 waiting booking(s) per user; alice has 1');
    });
    it('node-hours ahead per user: waits beyond it, refused when one booking alone is more', () => {
      const p = pool('gpu', { default: true, limits: { perUser: { nodeHours: 3 } } });
      const b = go({ pools: [p], bookings: [booking('alice/a', { count: 2, duration: 3600 }), booking('alice/b', { nodes: ['n3'], duration: 2 * 3600 }), booking('alice/c', { count: 2, duration: 2 * 3600 })] });
      assert.equal(b.get('alice/a')!.status!.phase, 'Active');
      assert.equal(b.get('alice/b')!.status!.message, 'waits: PoolMaxNodeHoursPerUser: pool gpu allows 3 node-hours booked ahead per user; alice holds 2 and this booking asks 2');
      assert.equal(b.get('alice/c')!.status!.reason, 'Rejected');
      assert.equal(b.get('alice/c')!.status!.message, 'PoolMaxNodeHoursPerUser: pool gpu allows 3 node-hours booked ahead per user; this booking alone asks 4');
    });
    it('limits count only bookings of the same pool', () => {
      const pools = [pool('a', { default: true, limits: { perUser: { nodes: 1 } } }), pool('b', {})];
      const b = go({ pools, bookings: [booking('alice/x', { nodes: ['n1'], duration: 3600, pool: 'b' }), booking('alice/y', { nodes: ['n2'], duration: 3600 })] });
      assert.equal(b.get('alice/y')!.status!.phase, 'Active');
    });
  });

  describe('queue order', () => {
    // One node; alice queues three bookings, then bob and carol one each.
    const q = () => [booking('alice/1', { nodes: ['n1'], duration: 3600 }), booking('alice/2', { nodes: ['n1'], duration: 3600 }), booking('alice/3', { nodes: ['n1'], duration: 3600 }), booking('bob/1', { nodes: ['n1'], duration: 3600 }), booking('carol/1', { nodes: ['n1'], duration: 3600 })];
    const starts = (b: ReturnType<typeof go>) => Object.fromEntries([...b].map(([k, a]) => [k, (Date.parse(a.status!.startTime!) - T0) / H]));
    it('FIFO: arrival order', () => {
      assert.deepEqual(starts(go({ pools: [pool('p', { default: true })], bookings: q() })), { 'alice/1': 0, 'alice/2': 1, 'alice/3': 2, 'bob/1': 3, 'carol/1': 4 });
    });
    it('RoundRobin: every user\'s first booking before anyone\'s second; "after whom" exact', () => {
      const b = go({ pools: [pool('p', { default: true, order: 'RoundRobin' })], bookings: q() });
      assert.deepEqual(starts(b), { 'alice/1': 0, 'bob/1': 1, 'carol/1': 2, 'alice/2': 3, 'alice/3': 4 });
      assert.deepEqual(b.get('alice/2')!.status!.waitingFor, [{ node: 'n1', booking: 'carol/1', user: 'carol', until: iso(T0 + 3 * H) }]);
      assert.equal(b.get('alice/2')!.status!.message, `starts ${iso(T0 + 3 * H).replace('.000Z', 'Z')}, after carol/1 (user carol) on n1 until ${iso(T0 + 3 * H).replace('.000Z', 'Z')}`);
    });
    it('RoundRobin: what a user holds counts as their turn: a running user\'s next booking waits behind a later user\'s first', () => {
      const run = active('alice/0', ['n1'], T0 - H, T0 + H);
      const pending = (k: string, rev: number) => booking(k, { nodes: ['n1'], duration: 3600 }, { createRevision: rev, status: { phase: 'Pending', reason: 'Queued', message: 'x', observedGeneration: 1 } });
      const b = go({ pools: [pool('p', { default: true, order: 'RoundRobin' })], entries: run.entries, bookings: [run.view, pending('alice/1', 2), pending('alice/2', 3), booking('bob/1', { nodes: ['n1'], duration: 3600 }, { createRevision: 9 })] });
      assert.deepEqual(starts(b), { 'bob/1': 1, 'alice/1': 2, 'alice/2': 3 });
    });
    it('FairShare: the user with the least decayed use goes first; an Active booking keeps its slot', () => {
      // carol used 10 node-hours yesterday (half-life 1d: counts 5), bob 1 node-hour; alice runs now.
      const run = active('alice/0', ['n1'], T0 - H, T0 + H);
      const old = [
        booking('carol/old', { nodes: ['n2'], duration: 36000 }, { createRevision: 2, status: { phase: 'Expired', reason: 'TimeLimit', nodes: ['n2'], startTime: iso(T0 - 34 * H), endTime: iso(T0 - 24 * H), observedGeneration: 1 } }),
        booking('bob/old', { nodes: ['n2'], duration: 3600 }, { createRevision: 3, status: { phase: 'Expired', reason: 'TimeLimit', nodes: ['n2'], startTime: iso(T0 - 25 * H), endTime: iso(T0 - 24 * H), observedGeneration: 1 } }),
      ];
      const b = go({ pools: [pool('p', { default: true, order: 'FairShare', fairShareHalfLife: 86400 })], entries: run.entries, bookings: [run.view, ...old, ...q()] });
      // used: alice 1h (now), bob 0.5, carol 5. bob first (0.5), then alice (1), alice again (2) ... carol (5) last
      assert.deepEqual(starts(b), { 'bob/1': 1, 'alice/1': 2, 'alice/2': 3, 'alice/3': 4, 'carol/1': 5 });
    });
    it('backfill still delays no one: a short later booking takes only a gap', () => {
      const run = active('bob/0', ['n1'], T0 - H, T0 + H);
      const b = go({ pools: [pool('p', { default: true, order: 'RoundRobin' })], entries: run.entries, bookings: [run.view, booking('alice/big', { nodes: ['n1', 'n2'], duration: 3600 }), booking('carol/short', { nodes: ['n2'], duration: 1800 }), booking('carol/long', { nodes: ['n2'], duration: 3 * 3600 })] });
      assert.equal(b.get('alice/big')!.status!.startTime, iso(T0 + H));
      assert.equal(b.get('carol/short')!.status!.phase, 'Active');
      assert.equal(b.get('carol/long')!.status!.startTime, iso(T0 + 2 * H));
    });
  });
});
