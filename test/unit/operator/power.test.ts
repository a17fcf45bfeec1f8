// Power saving: the pure decisions (operator/src/power/decide.ts) and what the planner makes of
// them (phases powerState and power, and boot time in placement).
import assert from 'node:assert/strict';
import { DEFAULT_POWER, type NodeStatus, type PowerSettings } from '../../../crds/api/index.js';
import { decide, observe, readyAt, type PowerContext, type PowerNode } from '../../../operator/src/power/decide.js';
import { plan, type PlanInput } from '../../../operator/src/plan/index.js';
import { booking, entry, input, iso, node, nodeActions, bookingActions, T0, MIN, H } from './fixtures.js';

const ON: PowerSettings = { ...DEFAULT_POWER, enabled: true, idleTime: 1800, bootTime: 300, resumeTimeout: 900, commands: { powerOff: ['/bin/off'], powerOn: ['/bin/on'], timeout: 60 }, action: 'commands' };
const ctx = (p: Partial<PowerContext> = {}): PowerContext => ({ settings: ON, now: T0, recentOff: [], recentOn: [], ...p });
const pn = (name: string, status: NodeStatus, p: Partial<PowerNode> = {}): PowerNode => ({ name, status, heartbeat: status.phase === 'Ready', draining: false, canWake: true, canPowerOff: true, entries: [], ...p });
const idleSince = (t: number): NodeStatus => ({ phase: 'Ready', power: { idleSince: iso(t) } });

describe('power saving decisions', () => {
  it('powers off a node idle for idleTime with nothing ahead, and counts the cycle', () => {
    const [d] = decide(ctx(), [pn('n1', idleSince(T0 - 30 * MIN))]);
    assert.equal(d.command, 'off');
    assert.equal(d.status?.phase, 'PoweringOff');
    assert.equal(d.status?.power?.cycles, 1);
    assert.equal(d.status?.power?.lastOffTime, iso(T0));
    assert.equal(d.status?.power?.idleSince, undefined);
    assert.match(d.event!.message, /idle since 2026-03-02T07:30:00.000Z and no booking begins within 2100s/);
  });

  it('keeps a node on that has been idle less than idleTime, and looks again when it has', () => {
    const [d] = decide(ctx(), [pn('n1', idleSince(T0 - 10 * MIN))]);
    assert.equal(d.command, undefined);
    assert.equal(d.wakeAt, T0 + 20 * MIN);
  });

  it('records when a node became idle, and forgets it when a booking holds it', () => {
    const [d] = decide(ctx(), [pn('n1', { phase: 'Ready' })]);
    assert.equal(d.status?.power?.idleSince, iso(T0));
    const [b] = decide(ctx(), [pn('n1', idleSince(T0 - H), { entries: [entry('a/b', T0 - MIN, T0 + H)] })]);
    assert.equal(b.status?.power, undefined);
    assert.equal(b.command, undefined);
  });

  it('does not power off when an entry begins within idleTime + bootTime', () => {
    const soon = entry('a/b', T0 + 34 * MIN, T0 + H); // 34 min < 30 + 5
    assert.deepEqual(decide(ctx(), [pn('n1', idleSince(T0 - H), { entries: [soon] })]), []);
    const later = entry('a/b', T0 + 36 * MIN, T0 + H);
    assert.equal(decide(ctx(), [pn('n1', idleSince(T0 - H), { entries: [later] })])[0].command, 'off');
  });

  it('leaves alone what is excluded, draining, cannot be woken or powered off, or when power saving is off', () => {
    const st = idleSince(T0 - H);
    const cases: [PowerSettings, Partial<PowerNode>][] = [
      [{ ...ON, enabled: false }, {}],
      [{ ...ON, exclude: [{ key: 'role', op: 'in', values: ['login'] }] }, { labels: { role: 'login' } }],
      [ON, { draining: true }],
      [ON, { canWake: false }],
      [ON, { canPowerOff: false }],
    ];
    for (const [settings, p] of cases) assert.deepEqual(decide(ctx({ settings }), [pn('n1', st, p)]), [], JSON.stringify(p));
  });

  it('wakes an Off node bootTime before its next planned start, not sooner', () => {
    const off: NodeStatus = { phase: 'Off', power: { lastOffTime: iso(T0 - H) } };
    const e = entry('a/b', T0 + 10 * MIN, T0 + H);
    const [early] = decide(ctx(), [pn('n1', off, { entries: [e] })]);
    assert.equal(early.command, undefined);
    assert.equal(early.wakeAt, T0 + 5 * MIN);
    const [d] = decide(ctx({ now: T0 + 5 * MIN }), [pn('n1', off, { entries: [e] })]);
    assert.equal(d.command, 'on');
    assert.equal(d.status?.phase, 'Resuming');
    assert.equal(d.status?.power?.lastOnTime, iso(T0 + 5 * MIN));
    assert.match(d.event!.message, /its next booking a\/b starts 2026-03-02T08:10:00.000Z/);
    assert.equal(d.wakeAt, T0 + 5 * MIN + 15 * MIN, 'looks again at its resume timeout');
  });

  it('wakes every Off node at once when power saving is turned off; none with nothing booked otherwise', () => {
    const off: NodeStatus = { phase: 'Off' };
    assert.deepEqual(decide(ctx(), [pn('n1', off)]), []);
    assert.equal(decide(ctx({ settings: { ...ON, enabled: false } }), [pn('n1', off)])[0].command, 'on');
  });

  it('keeps to the rates over a sliding minute, most urgent wake first, and looks again when the window frees', () => {
    const settings = { ...ON, resumeRate: 2, suspendRate: 1 };
    const offs = ['a', 'b', 'c'].map((n, i) => pn(n, { phase: 'Off' }, { entries: [entry(`u/${n}`, T0 + (3 - i) * MIN, T0 + H)] }));
    const ds = decide(ctx({ settings, recentOn: [T0 - 50_000] }), offs);
    assert.deepEqual(ds.filter((d) => d.command === 'on').map((d) => d.name), ['c']); // 1 of 2 left this minute; c starts first
    assert.deepEqual(ds.filter((d) => !d.command).map((d) => [d.name, d.wakeAt]), [['b', T0 + 10_000], ['a', T0 + 10_000]]);
    const idle = ['x', 'y'].map((n) => pn(n, idleSince(T0 - H)));
    const ds2 = decide(ctx({ settings }), idle);
    assert.deepEqual(ds2.map((d) => [d.name, d.command, d.wakeAt]), [['x', 'off', T0 + 15 * MIN], ['y', undefined, T0 + MIN]]);
  });

  it('keeps keepIdle idle nodes on (the most recently idle), and wakes spare ones when fewer are warm', () => {
    const settings = { ...ON, keepIdle: 2 };
    const idle = [pn('a', idleSince(T0 - 3 * H)), pn('b', idleSince(T0 - 2 * H)), pn('c', idleSince(T0 - H))];
    assert.deepEqual(decide(ctx({ settings }), idle).filter((d) => d.command).map((d) => [d.name, d.command]), [['a', 'off']]);
    const fewer = [pn('a', idleSince(T0 - 3 * H)), pn('x', { phase: 'Off' }), pn('y', { phase: 'Off' }), pn('z', { phase: 'Off' })];
    const ds = decide(ctx({ settings: { ...ON, keepIdle: 3 } }), fewer);
    assert.deepEqual(ds.filter((d) => d.command).map((d) => [d.name, d.command]), [['x', 'on'], ['y', 'on']]);
    assert.match(ds.find((d) => d.name === 'x')!.event!.message, /fewer than keepIdle \(3\) idle nodes are on/);
    const coming = [pn('a', idleSince(T0 - 3 * H)), pn('r', { phase: 'Resuming', power: { lastOnTime: iso(T0) } }), pn('x', { phase: 'Off' })];
    assert.deepEqual(decide(ctx({ settings: { ...ON, keepIdle: 2 } }), coming).filter((d) => d.command), [], 'a node coming up counts as warm');
    // A scoped pass sees a part: the warm count is the cluster's, from the shell.
    assert.deepEqual(decide(ctx({ settings, warm: 40 }), [pn('a', idleSince(T0 - 3 * H))]).map((d) => d.command), ['off']);
    assert.deepEqual(decide(ctx({ settings, warm: 2 }), [pn('a', idleSince(T0 - 3 * H))]).filter((d) => d.command), []);
    assert.deepEqual(decide(ctx({ settings, warm: 5 }), [pn('x', { phase: 'Off' })]), [], 'no spare woken when the cluster has enough warm');
  });

  it('follows the heartbeat through the cycle: Off, Ready again, NotReady after the resume timeout', () => {
    const going: NodeStatus = { phase: 'PoweringOff', power: { lastOffTime: iso(T0 - MIN) } };
    assert.equal(observe(ctx(), pn('n1', going, { heartbeat: false })).status?.phase, 'Off');
    assert.equal(observe(ctx(), pn('n1', going, { heartbeat: true })).wakeAt, T0 - MIN + 900_000);
    const stuck = observe(ctx({ now: T0 + 15 * MIN }), pn('n1', going, { heartbeat: true }));
    assert.equal(stuck.status?.phase, 'Ready');
    assert.equal(stuck.event?.reason, 'PowerOffFailed');
    const off = observe(ctx(), pn('n1', { phase: 'Off' }, { heartbeat: false }));
    assert.equal(off.status, undefined);
    const resuming: NodeStatus = { phase: 'Resuming', power: { lastOnTime: iso(T0) } };
    const up = observe(ctx({ now: T0 + 4 * MIN }), pn('n1', resuming, { heartbeat: true }));
    assert.equal(up.status?.phase, 'Ready');
    assert.equal(up.status?.conditions?.[0].reason, 'Resumed');
    assert.equal(observe(ctx({ now: T0 + 14 * MIN }), pn('n1', resuming, { heartbeat: false })).wakeAt, T0 + 15 * MIN);
    const late = observe(ctx({ now: T0 + 15 * MIN }), pn('n1', resuming, { heartbeat: false }));
    assert.equal(late.status?.phase, 'NotReady');
    assert.equal(late.event?.type, 'Warning');
    assert.equal(late.event?.reason, 'ResumeTimeout');
  });

  it('says when a node that is off can be up', () => {
    assert.equal(readyAt(ON, { phase: 'Ready' }, T0), undefined);
    assert.equal(readyAt(ON, { phase: 'Off' }, T0), T0 + 5 * MIN);
    assert.equal(readyAt(ON, { phase: 'Resuming', power: { lastOnTime: iso(T0 - 2 * MIN) } }, T0), T0 + 3 * MIN);
    assert.equal(readyAt(ON, { phase: 'PoweringOff', power: { lastOffTime: iso(T0 - MIN) } }, T0), T0 + 9 * MIN);
  });
});

describe('the planner with power saving', () => {
  const powered = (p: Parameters<typeof input>[0], settings = ON): PlanInput => ({ ...input(p), power: { settings, recentOff: [], recentOn: [] } });

  it('places a booking on an Off node at now + bootTime, so its start is exact, and wakes the node at once', () => {
    const r = plan(powered({ nodes: [node('n1', { status: { phase: 'Off' } })], bookings: [booking('alice/b1', { nodes: ['n1'], duration: 3600 })] }));
    const b = bookingActions(r).get('alice/b1')!;
    assert.equal(b.status?.phase, 'Pending');
    assert.equal(b.status?.startTime, iso(T0 + 5 * MIN));
    const n = nodeActions(r).get('n1')!;
    assert.equal(n.power, 'on');
    assert.equal(n.status.phase, 'Resuming');
  });

  it('prefers a node that is up over one that would have to boot', () => {
    const r = plan(powered({ nodes: [node('n1', { status: { phase: 'Off' } }), node('n2', { status: { phase: 'Ready' }, heartbeat: true })], bookings: [booking('alice/b1', { count: 1, duration: 3600 })] }));
    const b = bookingActions(r).get('alice/b1')!;
    assert.equal(b.status?.phase, 'Active');
    assert.deepEqual(b.status?.nodes, ['n2']);
  });

  it('refuses a reservation that starts before an Off node can be up, naming why', () => {
    const r = plan(powered({ nodes: [node('n1', { status: { phase: 'Off' } })], bookings: [booking('alice/b1', { nodes: ['n1'], start: iso(T0 + 2 * MIN), duration: 3600 })] }));
    assert.match(bookingActions(r).get('alice/b1')!.status!.message!, /node n1 is Off \(power saving\) and cannot be up before 2026-03-02T08:05:00Z/);
  });

  it('powers off an idle Ready node with nothing ahead, and not one with a booking soon', () => {
    const idle = { phase: 'Ready' as const, power: { idleSince: iso(T0 - H) } };
    const r = plan(powered({ nodes: [node('n1', { status: idle, heartbeat: true }), node('n2', { status: idle, heartbeat: true })], bookings: [booking('a/b', { nodes: ['n2'], start: iso(T0 + 20 * MIN), duration: 2400 })] }));
    const acts = nodeActions(r);
    assert.equal(acts.get('n1')?.power, 'off');
    assert.equal(bookingActions(r).get('a/b')?.status?.phase, 'Pending');
    assert.equal(acts.get('n2'), undefined);
  });

  it('treats an Off node as bookable, not as NotReady, and a woken one that never heartbeats as NotReady', () => {
    const r = plan(powered({ nodes: [node('n1', { status: { phase: 'Off' } })] }));
    assert.equal(nodeActions(r).get('n1'), undefined);
    const late = plan(powered({ now: T0 + 16 * MIN, nodes: [node('n1', { status: { phase: 'Resuming', power: { lastOnTime: iso(T0) } } })] }));
    assert.equal(nodeActions(late).get('n1')?.status.phase, 'NotReady');
  });

  it('tells a queued booking planned on a node that did not come up in time: it waits, naming the node NotReady', () => {
    const v = booking('alice/r1', { nodes: ['n1'], duration: 3600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(T0 + 20 * MIN), endTime: iso(T0 + 80 * MIN), observedGeneration: 1 } });
    const r = plan(powered({ now: T0 + 16 * MIN, nodes: [node('n1', { status: { phase: 'Resuming', power: { lastOnTime: iso(T0) } } })], bookings: [v], entries: [['n1', entry('alice/r1', T0 + 20 * MIN, T0 + 80 * MIN)]] }));
    assert.equal(nodeActions(r).get('n1')?.status.phase, 'NotReady');
    assert.match(bookingActions(r).get('alice/r1')!.status!.message!, /waits: node n1 is NotReady/);
  });

  it('gives the time of each node-level power look in nodeWakes and nextWake', () => {
    const r = plan(powered({ nodes: [node('n1', { status: { phase: 'Off' } })], bookings: [booking('a/b', { nodes: ['n1'], start: iso(T0 + H), duration: 3600 })] }));
    assert.equal(r.nodeWakes?.get('n1'), T0 + H - 5 * MIN);
    assert.equal(r.nextWake, T0 + H - 5 * MIN);
  });
});
