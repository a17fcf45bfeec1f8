// Calendar, window and transaction-chunking helpers, and the work queue: pure.
import assert from 'node:assert/strict';
import { earliestCommonSlot, earliestCountSlot, findOverlap, firstConflict, chunkGroup, groupActions, isValidCalendar, MAX_TXN_OPS, plan, type BookingAction } from '../../../operator/src/plan/index.js';
import { fitsWindow, nextWindowFit, windowIntervals } from '../../../crds/api/windows.js';
import { WorkQueue } from '../../../operator/src/reconcile/queue.js';
import { T0, H, MIN, entry, booking, input, active, node, iso } from './fixtures.js';

describe('operator calendar', () => {
  const cal = [entry('a/1', T0, T0 + H), entry('a/2', T0 + 2 * H, T0 + 3 * H)];
  const table: { name: string; start: number; dur: number; want: number }[] = [
    { name: 'free before the first', start: T0 - H, dur: H, want: T0 - H },
    { name: 'too long for the gap before', start: T0 - 30 * MIN, dur: H, want: T0 + H },
    { name: 'fits the gap', start: T0, dur: H, want: T0 + H },
    { name: 'too long for the gap', start: T0, dur: 2 * H, want: T0 + 3 * H },
  ];
  for (const c of table) {
    it(`earliest slot: ${c.name}`, () => assert.equal(earliestCommonSlot([{ name: 'n', entries: cal }], c.start, c.dur), c.want));
  }
  it('common slot across nodes and count slots', () => {
    const other = [entry('b/1', T0 + H, T0 + 2.5 * H)];
    assert.equal(earliestCommonSlot([{ name: 'x', entries: cal }, { name: 'y', entries: other }], T0, H), T0 + 3 * H);
    assert.deepEqual(earliestCountSlot([{ name: 'x', entries: cal }, { name: 'y', entries: other }, { name: 'z', entries: cal }], 2, T0, H), { start: T0 + H, nodes: ['x', 'z'] });
    assert.equal(earliestCountSlot([{ name: 'x', entries: cal }], 2, T0, H), undefined);
  });
  it('finds overlaps and conflicts, half-open', () => {
    assert.equal(findOverlap(cal), undefined);
    assert.ok(findOverlap([...cal, entry('c/1', T0 + H - 1, T0 + 2 * H)]));
    assert.equal(firstConflict(cal, T0 + H, T0 + 2 * H), undefined);
    assert.equal(firstConflict(cal, T0 + H, T0 + 2 * H + 1)!.booking, 'a/2');
  });
  it('windows: spanning midnight, 24:00, days', () => {
    const night = { start: '22:00', end: '06:00' };
    assert.deepEqual(windowIntervals(night, T0, T0 + H), [[Date.parse('2026-03-01T22:00:00Z'), Date.parse('2026-03-02T06:00:00Z')]].filter(([, e]) => e > T0));
    assert.ok(fitsWindow([night], Date.parse('2026-03-02T23:00:00Z'), Date.parse('2026-03-03T05:00:00Z')));
    assert.ok(!fitsWindow([night], Date.parse('2026-03-02T05:00:00Z'), Date.parse('2026-03-02T07:00:00Z')));
    assert.ok(fitsWindow([{ start: '12:00', end: '24:00' }], Date.parse('2026-03-02T13:00:00Z'), Date.parse('2026-03-03T00:00:00Z')));
    assert.equal(nextWindowFit([{ start: '09:00', end: '10:00', days: ['Sat'] }], T0, H), Date.parse('2026-03-07T09:00:00Z'));
    assert.equal(nextWindowFit([{ start: '09:00', end: '10:00' }], T0, 2 * H), undefined);
  });
});

describe('operator transactions', () => {
  it('groups by shared calendars and keeps every chunk valid under the op limit', () => {
    const bookings = Array.from({ length: 300 }, (_, i) => booking(`u${i}/b`, { nodes: ['n1'], duration: 60 }, { createRevision: i + 1 }));
    bookings.push(booking('solo/b', { nodes: ['n2'], duration: 60 }, { createRevision: 999 }));
    const inp = input({ bookings });
    const { actions } = plan(inp);
    const groups = groupActions(actions);
    assert.equal(groups.length, 2);
    const big = groups.find((g) => g.length === 300)!;
    const chunks = chunkGroup(big, inp.calendars);
    assert.ok(chunks.length >= 3);
    let cal: any[] = [];
    for (const c of chunks) {
      assert.ok(c.valid);
      const ops = c.actions.reduce((s, a) => s + 1 + a.events.length, 0) + c.calendars.size;
      assert.ok(ops <= MAX_TXN_OPS, `chunk of ${ops} ops`);
      cal = c.calendars.get('n1')!;
      assert.ok(isValidCalendar(cal));
    }
    assert.equal(cal.length, 300);
  });
  it('orders removals before the entries that take their place', () => {
    const chunks = chunkGroup(
      [
        { kind: 'booking', key: 'b/new', namespace: 'b', name: 'new', specRevision: 1, statusRevision: 0, calendar: [{ node: 'n1', entries: [entry('b/new', T0, T0 + H)] }], events: [], transition: 'Started' } as BookingAction,
        { kind: 'booking', key: 'a/old', namespace: 'a', name: 'old', specRevision: 1, statusRevision: 1, calendar: [{ node: 'n1', entries: [] }], events: [], transition: 'TimeLimit' } as BookingAction,
      ],
      new Map([['n1', { entries: [entry('a/old', T0 - H, T0 + H)], modRevision: 3 }]]),
      2,
    );
    assert.deepEqual(chunks.map((c) => [c.actions.map((a: any) => a.key), c.valid]), [[['a/old'], true], [['b/new'], true]]);
  });
});

describe('operator transactions: no revision shows two Active bookings on a node', () => {
  it('a start whose entry is already in the calendar goes with its predecessor\'s expiry, after it', () => {
    // 150 nodes, each: an Active booking ending now and the next one, planned for now, starting.
    const bookings = [];
    const entries: [string, any][] = [];
    for (let i = 0; i < 150; i++) {
      const n = `n${i}`;
      const a = active(`a${i}/x`, [n], T0 - H, T0);
      bookings.push(a.view);
      entries.push(...a.entries);
      bookings.push(booking(`b${i}/y`, { nodes: [n], duration: 3600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: [n], startTime: iso(T0), endTime: iso(T0 + H), observedGeneration: 1 } }));
      entries.push([n, entry(`b${i}/y`, T0, T0 + H)]);
    }
    const inp = input({ bookings, entries, nodes: Array.from({ length: 150 }, (_, i) => node(`n${i}`)) });
    const { actions } = plan(inp);
    assert.equal(actions.length, 300);
    const groups = groupActions(actions);
    assert.equal(groups.length, 150, 'one group per node: the expiry and the start');
    for (const g of groups) {
      const order = chunkGroup(g, inp.calendars).flatMap((c) => c.actions.map((a: any) => a.status?.phase));
      assert.deepEqual(order, ['Expired', 'Active']);
    }
  });
});

describe('operator work queue', () => {
  it('deduplicates, holds a key in flight, re-queues it if added meanwhile, backs off exponentially', async () => {
    const q = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 40 });
    q.add('a');
    q.add('a');
    q.add('b');
    assert.deepEqual(await q.getBatch(), ['a', 'b']);
    q.add('a');
    assert.equal(q.length, 0, 'a is in flight');
    q.done('a');
    q.done('b');
    assert.deepEqual(await q.getBatch(), ['a']);
    q.done('a');
    assert.deepEqual([1, 2, 3, 4, 5].map(() => { const d = q.backoff('x'); q.addRateLimited('x'); return d; }), [5, 10, 20, 40, 40]);
    assert.ok(q.isBackingOff('x'));
    q.forget('x');
    assert.equal(q.backoff('x'), 5);
    q.shutDown();
    assert.equal(await q.getBatch(), undefined);
  });
  it('addAfter keeps the earlier deadline of two (client-go): 1 s then 50 ms comes in 50 ms', async () => {
    const q = new WorkQueue();
    const t0 = Date.now();
    q.addAfter('k', 1000);
    q.addAfter('k', 50);
    q.addAfter('k', 2000); // later than what is waiting: no change
    assert.deepEqual(await q.getBatch(), ['k']);
    const took = Date.now() - t0;
    q.shutDown();
    assert.ok(took < 900, `came after ${took} ms: the later call won`);
  });
});
