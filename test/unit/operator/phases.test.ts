// The planner's phases one by one, and the rules they state: a begun slot is never moved, a
// record says when the user really held the node, fields fixed at admission stay fixed, and a
// filter's answer becomes a refusal or a wait in one place (verdict).
import assert from 'node:assert/strict';
import { newPass } from '../../../operator/src/plan/pass.js';
import { held } from '../../../operator/src/plan/phases/held.js';
import { readiness } from '../../../operator/src/plan/phases/nodes.js';
import { begunSlot, lifecycle } from '../../../operator/src/plan/phases/lifecycle.js';
import { placement } from '../../../operator/src/plan/phases/placement.js';
import { PHASES, planSteps, reject, verdict, wait, worst, type Phase } from '../../../operator/src/plan/index.js';
import { T0, H, MIN, iso, booking, node, entry, active, run, input } from './fixtures.js';

const drain = (g: Generator<void, void, void>) => {
  for (let r = g.next(); !r.done; r = g.next());
};
/** A Pending booking whose planned slot [s, e) on n1 is in the calendar. */
const planned = (key: string, s: number, e: number, o: { generation?: number; createRevision?: number; spec?: object } = {}) =>
  booking(key, { nodes: ['n1'], duration: (e - s) / 1000, ...o.spec }, { generation: o.generation, createRevision: o.createRevision, status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(s), endTime: iso(e), observedGeneration: 1 } });

describe('operator plan phases: status codes and verdict', () => {
  it('Reject refuses a booking being admitted and makes an admitted one wait; Wait always waits', () => {
    assert.equal(verdict(reject('X', 'no'), true), 'Reject');
    assert.equal(verdict(reject('X', 'no'), false), 'Wait');
    assert.equal(verdict(wait('X', 'later'), true), 'Wait');
  });
  it('worst: any Reject, else any Wait, else fits', () => {
    assert.equal(worst([undefined, wait('A', 'a'), reject('B', 'b')])!.plugin, 'B');
    assert.equal(worst([undefined, wait('A', 'a')])!.plugin, 'A');
    assert.equal(worst([undefined]), undefined);
  });
});

describe('operator plan phases: held and readiness', () => {
  it('held: a live booking\'s entries, an orphan\'s, and an older uid\'s', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    const s = newPass(input({ bookings: [a.view], entries: [...a.entries, ['n2', entry('gone/x', T0, T0 + H)], ['n3', entry('alice/a', T0 + H, T0 + 2 * H, 'old-uid')]] }));
    drain(held(s));
    assert.deepEqual([...s.held.get('alice/a')!.keys()], ['n1']);
    assert.deepEqual(s.orphans.get('gone/x')!.map((o) => [...o.nodes]), [['n2']]);
    assert.deepEqual([...s.staleKeys.get('alice/a')!], ['n3']);
  });
  it('readiness: a node whose heartbeat is gone is NotReady before any booking is planned', () => {
    const s = newPass(input({ nodes: [node('n1', { status: { phase: 'Ready' } })] }));
    drain(readiness(s));
    assert.equal(s.nodes.get('n1')!.node.status!.phase, 'NotReady');
    assert.equal(s.nodeActions.get('n1')!.transition, 'NotReady');
  });
});

describe('operator plan phases: a begun slot is never moved', () => {
  it('begunSlot: a Pending booking whose entry started is seen as the Active booking it is', () => {
    const b = planned('bob/b', T0 - 5 * MIN, T0 + 55 * MIN);
    const s = newPass(input({ bookings: [b], entries: [['n1', entry('bob/b', T0 - 5 * MIN, T0 + 55 * MIN)]] }));
    drain(held(s));
    const v = begunSlot(s, s.byKey.get('bob/b')!)!;
    assert.deepEqual([v.booking.status!.phase, v.booking.status!.startTime, v.booking.status!.endTime], ['Active', iso(T0 - 5 * MIN), iso(T0 + 55 * MIN)]);
    assert.equal(begunSlot(s, planned('bob/c', T0 + MIN, T0 + H)), undefined, 'not held: not begun');
  });
  it('an edit while the slot had begun (no operator) does not re-plan it from now: it starts where it began', () => {
    const b = planned('bob/b', T0 - 5 * MIN, T0 + 55 * MIN, { generation: 2, spec: { duration: 1800 } });
    const x = run({ bookings: [b], entries: [['n1', entry('bob/b', T0 - 5 * MIN, T0 + 55 * MIN)]] }).b.get('bob/b')!;
    assert.deepEqual([x.status!.phase, x.status!.startTime, x.status!.endTime], ['Active', iso(T0 - 5 * MIN), iso(T0 + 25 * MIN)]);
    assert.deepEqual(x.calendar, [{ node: 'n1', entries: [entry('bob/b', T0 - 5 * MIN, T0 + 25 * MIN)] }]);
    assert.deepEqual(x.events.map((e) => e.reason), ['Started', 'Shortened']);
  });
  it('an earlier-queued booking that can now use the node does not push a begun slot back', () => {
    const q = booking('alice/q', { nodes: ['n1'], duration: 3600 }, { createRevision: 1, status: { phase: 'Pending', reason: 'Queued', message: 'waits: node n1 is NotReady', nodes: ['n1'], observedGeneration: 1 } });
    const b = planned('bob/b', T0 - 5 * MIN, T0 + 55 * MIN, { createRevision: 2 });
    const { b: acts } = run({ bookings: [q, b], entries: [['n1', entry('bob/b', T0 - 5 * MIN, T0 + 55 * MIN)]] });
    const bs = acts.get('bob/b')!;
    assert.deepEqual([bs.status!.phase, bs.status!.startTime], ['Active', iso(T0 - 5 * MIN)]);
    assert.deepEqual(bs.calendar, [], 'its entry stays where the daemon saw it');
    assert.equal(acts.get('alice/q')!.status!.startTime, iso(T0 + 55 * MIN), 'the earlier one queues after it');
  });
  it('a begun slot whose nodes were edited keeps its nodes, and the change is refused', () => {
    const b = planned('bob/b', T0 - 5 * MIN, T0 + 55 * MIN, { generation: 2, spec: { nodes: ['n2'] } });
    const x = run({ bookings: [b], entries: [['n1', entry('bob/b', T0 - 5 * MIN, T0 + 55 * MIN)]] }).b.get('bob/b')!;
    assert.deepEqual([x.status!.phase, x.status!.nodes, x.status!.startTime], ['Active', ['n1'], iso(T0 - 5 * MIN)]);
    assert.deepEqual(x.calendar, []);
    assert.match(x.status!.conditions!.find((c) => c.type === 'SpecRefused')!.message!, /^spec.nodes: field is immutable/);
  });
  it('a begun slot cancelled meanwhile ends now, and its record says it was held from its start', () => {
    const b = planned('bob/b', T0 - 5 * MIN, T0 + 55 * MIN, { generation: 2, spec: { cancelled: true } });
    const x = run({ bookings: [b], entries: [['n1', entry('bob/b', T0 - 5 * MIN, T0 + 55 * MIN)]] }).b.get('bob/b')!;
    assert.deepEqual([x.status!.phase, x.status!.reason, x.status!.startTime, x.status!.endTime], ['Expired', 'Cancelled', iso(T0 - 5 * MIN), iso(T0)]);
    assert.deepEqual(x.calendar, [{ node: 'n1', entries: [] }]);
  });
  it('placement never sees a begun slot: lifecycle plans it, before the queue', () => {
    const b = planned('bob/b', T0 - 5 * MIN, T0 + 55 * MIN);
    const s = newPass(input({ bookings: [b], entries: [['n1', entry('bob/b', T0 - 5 * MIN, T0 + 55 * MIN)]] }));
    drain(held(s));
    drain(readiness(s));
    drain(lifecycle(s));
    assert.deepEqual(s.queue, []);
    assert.equal(s.desired.get('bob/b')!.status.phase, 'Active');
  });
});

describe('operator plan phases: records say when the user held the node', () => {
  it('shortening an Active booking to an end already past expires it with the real end (now)', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    a.view.booking.spec = { ...a.view.booking.spec, duration: 1800 }; // ends T0 - 30m: already past
    a.view.booking.metadata.generation = 2;
    const x = run({ bookings: [a.view], entries: a.entries }).b.get('alice/a')!;
    assert.deepEqual([x.status!.phase, x.status!.reason, x.status!.startTime, x.status!.endTime], ['Expired', 'TimeLimit', iso(T0 - H), iso(T0)]);
  });
  it('an Active booking ending on time keeps its end', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 - MIN);
    const x = run({ bookings: [a.view], entries: a.entries }).b.get('alice/a')!;
    assert.equal(x.status!.endTime, iso(T0 - MIN));
  });
});

describe('operator plan phases: fields fixed at admission (written raw, past kiwictl)', () => {
  const cases: [string, object, string][] = [
    ['another user', { user: 'mallory' }, 'spec.user'],
    ['other nodes', { nodes: ['n2'] }, 'spec.nodes'],
    ['a count instead', { nodes: undefined, count: 2 }, 'spec.count'],
    ['a moved start', { start: iso(T0 - 30 * MIN) }, 'spec.start'],
  ];
  for (const [what, spec, path] of cases) {
    it(`an Active booking given ${what} keeps its slot; the change is refused naming ${path}`, () => {
      const a = active('alice/a', ['n1'], T0 - H, T0 + H);
      a.view.booking.spec = { ...a.view.booking.spec, ...spec };
      a.view.booking.metadata.generation = 2;
      const x = run({ bookings: [a.view], entries: a.entries }).b.get('alice/a')!;
      assert.deepEqual([x.status!.phase, x.status!.nodes, x.status!.endTime, x.status!.observedGeneration], ['Active', ['n1'], iso(T0 + H), 2]);
      assert.deepEqual(x.calendar, []);
      assert.equal(x.events[0].reason, 'SpecRefused');
      assert.ok(x.status!.conditions!.find((c) => c.type === 'SpecRefused')!.message!.startsWith(`${path}: field is immutable`));
    });
  }
  it('putting the field back clears the refusal', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    a.view.booking.status!.conditions = [{ type: 'SpecRefused', status: 'True', reason: 'FieldImmutable', message: 'x', lastTransitionTime: iso(T0) }];
    a.view.booking.spec = { ...a.view.booking.spec, duration: 3 * 3600 };
    a.view.booking.metadata.generation = 3;
    const x = run({ bookings: [a.view], entries: a.entries }).b.get('alice/a')!;
    assert.equal(x.status!.endTime, iso(T0 + 2 * H));
    assert.equal(x.status!.conditions, undefined);
  });
});

describe('operator plan phases: the driver', () => {
  it('is its list of phases; a phase can be added without touching the others', () => {
    assert.deepEqual(PHASES.map((p) => p.name), ['held', 'readiness', 'powerState', 'lifecycle', 'heal', 'idle', 'settle', 'pools', 'placement', 'waitingFor', 'budget', 'diff', 'power', 'ledger', 'drained', 'wake']);
    const seen: string[] = [];
    const spy: Phase = { name: 'spy', *run(s) { seen.push(...s.desired.keys()); } };
    const after = PHASES.findIndex((p) => p.name === 'placement') + 1;
    const phases = [...PHASES.slice(0, after), spy, ...PHASES.slice(after)];
    const g = planSteps(input({ bookings: [booking('alice/a', { nodes: ['n1'], duration: 60 })] }), phases);
    for (let r = g.next(); !r.done; r = g.next());
    assert.deepEqual(seen, ['alice/a']);
  });
  it('placement alone over a pass whose lifecycle ran: queued bookings get a slot', () => {
    const s = newPass(input({ bookings: [booking('alice/a', { nodes: ['n1'], duration: 60 })] }));
    for (const p of [held, readiness, lifecycle, placement]) drain(p(s));
    assert.equal(s.desired.get('alice/a')!.status.phase, 'Active');
  });
});
