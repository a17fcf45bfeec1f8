// The planner, pure: a fake now, exact reasons and actions.
import assert from 'node:assert/strict';
import { plan, planSteps, sameStored } from '../../../operator/src/plan/index.js';
import { T0, H, MIN, iso, booking, node, entry, active, run, input } from './fixtures.js';

describe('operator plan: admission', () => {
  const cases: { name: string; spec: any; nodes?: any[]; config?: any; uids?: Record<string, number>; passwd?: string; user?: string; message: RegExp }[] = [
    { name: 'root', user: 'root', spec: { nodes: ['n1'], duration: 60 }, message: /^user root may not book nodes: root is never touched$/ },
    { name: 'an alias of root (uid 0)', user: 'toor', spec: { nodes: ['n1'], duration: 60 }, uids: { toor: 0 }, message: /^user toor may not book nodes: toor has uid 0 \(root\)$/ },
    { name: 'below minUid', user: 'daemon', spec: { nodes: ['n1'], duration: 60 }, uids: { daemon: 2 }, message: /^user daemon may not book nodes: daemon has uid 2, below minUid 1000/ },
    { name: 'nobody', user: 'nobody', spec: { nodes: ['n1'], duration: 60 }, message: /^user nobody may not book nodes: nobody is nobody/ },
    { name: 'uid 65534 under another name', user: 'nfsnobody', spec: { nodes: ['n1'], duration: 60 }, uids: { nfsnobody: 65534 }, message: /^user nfsnobody may not book nodes: nfsnobody is nobody/ },
    { name: 'a bypass user', user: 'ops', spec: { nodes: ['n1'], duration: 60 }, config: { sshBypassUsers: ['ops'] }, message: /^user ops may not book nodes: ops is in sshBypassUsers$/ },
    { name: 'a name with two entries (uids 1500, 50)', user: 'mal', spec: { nodes: ['n1'], duration: 60 }, passwd: 'mal:x:1500:1500::/home/mal:/bin/sh\nmal:x:50:50::/:/bin/sh\n', message: /^user mal may not book nodes: the user database has 2 entries named mal with different uids \(1500, 50\)/ },
    { name: 'a name with two entries, the first a system uid', user: 'mal', spec: { nodes: ['n1'], duration: 60 }, passwd: 'mal:x:50:50::/:/bin/sh\nmal:x:1500:1500::/home/mal:/bin/sh\n', message: /^user mal may not book nodes: mal has uid 50, below minUid 1000/ },
    { name: 'a uid shared with another name', user: 'eve', spec: { nodes: ['n1'], duration: 60 }, passwd: 'alice:x:1001:1001::/home/alice:/bin/sh\neve:x:1001:1001::/home/eve:/bin/sh\n', message: /^user eve may not book nodes: uid 1001 of eve is also alice's/ },
    { name: 'unknown node', spec: { nodes: ['n9'], duration: 60 }, message: /^node n9 does not exist$/ },
    { name: 'cordoned node', spec: { nodes: ['n1'], duration: 60 }, nodes: [node('n1', { spec: { unschedulable: true } })], message: /^node n1 is cordoned \(spec.unschedulable\)$/ },
    { name: 'NotReady node', spec: { nodes: ['n1'], duration: 60 }, nodes: [node('n1', { status: { phase: 'NotReady' } })], message: /^node n1 is NotReady/ },
    { name: 'draining node', spec: { nodes: ['n1'], duration: 60 }, nodes: [node('n1', { status: { phase: 'Draining' }, drain: 'maintenance' })], message: /^node n1 is drained or draining$/ },
    { name: 'too long', spec: { nodes: ['n1'], duration: 7200 }, config: { maxDuration: 3600 }, message: /^duration 2h is longer than the cluster's maxDuration 1h$/ },
    { name: 'start in the past', spec: { nodes: ['n1'], start: iso(T0 - H), duration: 60 }, message: /^spec.start .* is in the past$/ },
    { name: 'bad duration', spec: { nodes: ['n1'], duration: 'soon' }, message: /^spec.duration: "soon" is not a duration/ },
    { name: 'a spec past the schema (nodes and count)', spec: { nodes: ['n1'], count: 2, duration: 60 }, message: /^invalid: / },
    { name: 'selector with too few nodes', spec: { nodeSelector: { gpu: 'a100' }, count: 2, duration: 60 }, nodes: [node('n1', { labels: { gpu: 'a100' } }), node('n2')], message: /^2 node\(s\) matching nodeSelector gpu=a100 asked, 1 match and 1 can be booked$/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}: Expired, reason Rejected, naming the rule`, () => {
      const u = c.user ?? 'alice';
      const { b } = run({ bookings: [booking(`${u}/bk`, { ...c.spec, user: u })], nodes: c.nodes, config: c.config, uids: c.uids, passwd: c.passwd });
      const a = b.get(`${u}/bk`)!;
      assert.equal(a.status?.phase, 'Expired');
      assert.equal(a.status?.reason, 'Rejected');
      assert.match(a.status!.message!, c.message);
      assert.equal(a.events[0].reason, 'Rejected');
      assert.equal(a.events[0].type, 'Warning');
      assert.deepEqual(a.calendar, []);
    });
  }
  it('a spec without spec.user is for the user of its namespace: entries name the namespace', () => {
    const v = booking('alice/bk', { nodes: ['n1'], duration: 60 });
    delete (v.booking.spec as any).user;
    const { b } = run({ bookings: [v] });
    assert.equal(b.get('alice/bk')!.status!.phase, 'Active');
    assert.equal(b.get('alice/bk')!.calendar[0].entries[0].user, 'alice');
  });
  it('refuses a spec.user other than its namespace, naming the rule and the fix; other bookings go on', () => {
    const { b } = run({ bookings: [booking('alice/bk', { nodes: ['n1'], duration: 60, user: 'bob' }), booking('bob/ok', { nodes: ['n2'], duration: 60 })] });
    const a = b.get('alice/bk')!;
    assert.equal(a.status!.reason, 'Rejected');
    assert.match(a.status!.message!, /spec\.user: "bob" is not the booking's namespace "alice".*write the booking in namespace "bob"/);
    assert.deepEqual(a.calendar, []);
    assert.equal(b.get('bob/ok')!.status!.phase, 'Active');
  });
  it('a booking the cache could not decode is Rejected under its key with the problem; an Active one ends', () => {
    const bad = booking('alice/bad', {});
    bad.invalid = '/kiwi/spec/bookings/alice/bad: is not JSON (Unexpected token)';
    const ran = active('alice/ran', ['n1'], T0 - H, T0 + H);
    ran.view.invalid = '/kiwi/spec/bookings/alice/ran: does not fit the schema: spec.nodes: must be an array';
    const { b } = run({ bookings: [bad, ran.view, booking('bob/ok', { nodes: ['n2'], duration: 60 })], entries: ran.entries });
    assert.equal(b.get('alice/bad')!.status!.reason, 'Rejected');
    assert.match(b.get('alice/bad')!.status!.message!, /alice\/bad: is not JSON/);
    assert.equal(b.get('alice/bad')!.events[0].name, 'bad');
    const r = b.get('alice/ran')!;
    assert.equal(r.status!.phase, 'Expired');
    assert.equal(r.status!.reason, 'Cancelled');
    assert.match(r.status!.message!, /not valid any more: .*spec\.nodes: must be an array/);
    assert.deepEqual(r.calendar, [{ node: 'n1', entries: [] }], 'its entries go, so the daemon cleans up');
    assert.equal(b.get('bob/ok')!.status!.phase, 'Active');
  });
  it('admits a user whose uid it cannot resolve', () => {
    const { b } = run({ bookings: [booking('alice/bk', { nodes: ['n1'], duration: 60 })], uids: {} });
    assert.equal(b.get('alice/bk')!.status?.phase, 'Active');
  });
});

describe('operator plan: placement', () => {
  it('starts a booking on a free node now, writing its entry', () => {
    const { b, result } = run({ bookings: [booking('alice/bk', { nodes: ['n1', 'n2'], duration: 3600 })] });
    const a = b.get('alice/bk')!;
    assert.deepEqual(a.status, { phase: 'Active', reason: 'Started', message: 'on n1, n2 until 2026-03-02T09:00:00Z', nodes: ['n1', 'n2'], startTime: iso(T0), endTime: iso(T0 + H), observedGeneration: 1 });
    assert.deepEqual(a.calendar, [{ node: 'n1', entries: [entry('alice/bk', T0, T0 + H)] }, { node: 'n2', entries: [entry('alice/bk', T0, T0 + H)] }]);
    assert.equal(a.events[0].reason, 'Started');
    assert.equal(result.nextWake, T0 + H);
  });

  it('queues behind the holder in arrival order, saying for whom it waits', () => {
    const { b } = run({
      bookings: [booking('alice/a', { nodes: ['n1'], duration: 3600 }, { createRevision: 1 }), booking('bob/b', { nodes: ['n1'], duration: 1800 }, { createRevision: 2 }), booking('carol/c', { nodes: ['n1'], duration: 60 }, { createRevision: 3 })],
    });
    assert.equal(b.get('alice/a')!.status?.phase, 'Active');
    const bb = b.get('bob/b')!.status!;
    assert.equal(bb.phase, 'Pending');
    assert.equal(bb.reason, 'Queued');
    assert.equal(bb.startTime, iso(T0 + H));
    assert.equal(bb.message, 'starts 2026-03-02T09:00:00Z, after alice/a (user alice) on n1 until 2026-03-02T09:00:00Z');
    assert.deepEqual(bb.waitingFor, [{ node: 'n1', booking: 'alice/a', user: 'alice', until: iso(T0 + H) }]);
    assert.equal(b.get('carol/c')!.status?.startTime, iso(T0 + H + 30 * MIN));
    assert.equal(b.get('bob/b')!.events[0].reason, 'Queued');
  });

  it('refuses what cannot start now with queue false: Busy, naming who holds which node until when', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    const { b } = run({ bookings: [a.view, booking('bob/b', { nodes: ['n1'], duration: 60, queue: false })], entries: a.entries });
    const s = b.get('bob/b')!.status!;
    assert.equal(s.phase, 'Expired');
    assert.equal(s.reason, 'Busy');
    assert.equal(s.message, 'cannot start now and queue is false: node n1 is held by alice/a (user alice) until 2026-03-02T09:00:00Z');
  });

  it('backfills a gap that delays no earlier booking, and not one that would', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    const { b } = run({
      bookings: [
        a.view,
        booking('bob/wide', { nodes: ['n1', 'n2'], duration: 3600 }, { createRevision: 1000 }), // waits for n1 until T0+1h
        booking('carol/short', { nodes: ['n2'], duration: 1800 }, { createRevision: 1001 }), // fits n2 before T0+1h
        booking('dave/long', { nodes: ['n2'], duration: 7200 }, { createRevision: 1002 }), // would delay bob: after him
      ],
      entries: a.entries,
    });
    assert.equal(b.get('bob/wide')!.status!.startTime, iso(T0 + H));
    assert.equal(b.get('carol/short')!.status!.phase, 'Active');
    assert.equal(b.get('dave/long')!.status!.startTime, iso(T0 + 2 * H));
  });

  it('picks count nodes by selector, the earliest free ones, preferring nodes it planned before', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    const nodes = [node('n1', { labels: { gpu: 'y' } }), node('n2', { labels: { gpu: 'y' } }), node('n3', { labels: { gpu: 'y' } }), node('n4')];
    const { b } = run({ bookings: [a.view, booking('bob/b', { nodeSelector: { gpu: 'y' }, count: 2, duration: 60 })], nodes, entries: a.entries });
    assert.deepEqual(b.get('bob/b')!.status!.nodes, ['n2', 'n3']);
    assert.equal(b.get('bob/b')!.status!.phase, 'Active');
  });

  it('reserves a fixed future start, and refuses one that conflicts, naming it', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    const { b } = run({
      bookings: [a.view, booking('bob/later', { nodes: ['n1'], start: iso(T0 + 2 * H), duration: 3600 }), booking('carol/clash', { nodes: ['n1'], start: iso(T0 + 30 * MIN), duration: 3600 })],
      entries: a.entries,
    });
    const s = b.get('bob/later')!.status!;
    assert.deepEqual([s.phase, s.reason, s.startTime, s.endTime], ['Pending', 'Scheduled', iso(T0 + 2 * H), iso(T0 + 3 * H)]);
    const c = b.get('carol/clash')!.status!;
    assert.equal(c.reason, 'Rejected');
    assert.equal(c.message, 'the slot 2026-03-02T08:30:00Z to 2026-03-02T09:30:00Z is not free: node n1 is booked by alice/a (user alice) from 2026-03-02T07:00:00Z to 2026-03-02T09:00:00Z');
  });

  it('starts a reservation when its time comes, and queued bookings plan around it', () => {
    const r = booking('bob/r', { nodes: ['n1'], start: iso(T0), duration: 3600 }, { status: { phase: 'Pending', reason: 'Scheduled', nodes: ['n1'], startTime: iso(T0), endTime: iso(T0 + H), observedGeneration: 1 }, createRevision: 5 });
    const q = booking('alice/q', { nodes: ['n1'], duration: 60 }, { createRevision: 1 });
    const { b } = run({ bookings: [r, q], entries: [['n1', entry('bob/r', T0, T0 + H)]] });
    assert.equal(b.get('bob/r')!.status!.phase, 'Active');
    assert.equal(b.get('bob/r')!.status!.startTime, iso(T0));
    assert.equal(b.get('alice/q')!.status!.startTime, iso(T0 + H), 'an earlier-arrived queued booking does not take a reserved slot');
  });

  it('moves waiting bookings up when a slot frees early (cancel), never moving an Active one', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H, { cancelled: true });
    const other = active('carol/c', ['n2'], T0 - H, T0 + 3 * H);
    const w = booking('bob/w', { nodes: ['n1'], duration: 3600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(T0 + H), endTime: iso(T0 + 2 * H), observedGeneration: 1 } });
    const { b } = run({ bookings: [a.view, other.view, w], entries: [...a.entries, ...other.entries, ['n1', entry('bob/w', T0 + H, T0 + 2 * H)]] });
    assert.equal(b.get('alice/a')!.status!.reason, 'Cancelled');
    assert.equal(b.get('alice/a')!.status!.endTime, iso(T0));
    assert.deepEqual(b.get('bob/w')!.status!.startTime, iso(T0));
    assert.equal(b.get('bob/w')!.status!.phase, 'Active');
    assert.equal(b.has('carol/c'), false, 'nothing to do for an undisturbed Active booking');
  });

  it('expires at the end: TimeLimit, entries removed', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0);
    const { b } = run({ bookings: [a.view], entries: a.entries });
    const x = b.get('alice/a')!;
    assert.deepEqual([x.status!.phase, x.status!.reason], ['Expired', 'TimeLimit']);
    assert.deepEqual(x.calendar, [{ node: 'n1', entries: [] }]);
  });

  it('expires with NodeLost when a node of an Active booking is deleted', () => {
    const a = active('alice/a', ['n1', 'n2'], T0 - H, T0 + H);
    const { b } = run({ bookings: [a.view], entries: a.entries, nodes: [node('n2')] });
    assert.deepEqual([b.get('alice/a')!.status!.reason, b.get('alice/a')!.status!.message], ['NodeLost', 'node n1 was deleted']);
  });

  it('removes the entries of a deleted booking and records Cancelled', () => {
    const { b } = run({ entries: [['n1', entry('alice/gone', T0 - H, T0 + H)]] });
    const x = b.get('alice/gone')!;
    assert.equal(x.specRevision, 0);
    assert.equal(x.status, undefined);
    assert.deepEqual(x.calendar, [{ node: 'n1', entries: [], onlyUid: 'uid-alice/gone' }]);
    assert.equal(x.events[0].reason, 'Cancelled');
  });

  it('is idempotent: planning what it planned gives no actions', () => {
    const i1 = input({ bookings: [booking('alice/a', { nodes: ['n1'], duration: 3600 }), booking('bob/b', { nodes: ['n1'], duration: 60 })] });
    const r1 = plan(i1);
    const bookings = i1.bookings.map((v) => ({ ...v, booking: { ...v.booking, status: (r1.actions.find((a) => a.kind === 'booking' && a.key === v.key) as any).status } }));
    const entries: [string, any][] = r1.actions.flatMap((a: any) => a.calendar.flatMap((c: any) => c.entries.map((e: any) => [c.node, e])));
    assert.deepEqual(run({ bookings, entries }).result.actions, []);
  });
});

describe('operator plan: extend and shrink', () => {
  const grow = (spec: any, others: any[] = [], extraEntries: any[] = [], config: any = {}) => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    a.view.booking.spec = { ...a.view.booking.spec, ...spec };
    a.view.booking.metadata.generation = 2;
    return run({ bookings: [a.view, ...others], entries: [...a.entries, ...extraEntries], config }).b;
  };
  it('extends when the calendar allows', () => {
    const x = grow({ duration: 3 * 3600 }).get('alice/a')!;
    assert.equal(x.status!.endTime, iso(T0 + 2 * H));
    assert.equal(x.status!.observedGeneration, 2);
    assert.equal(x.events[0].reason, 'Extended');
    assert.deepEqual(x.calendar, [{ node: 'n1', entries: [entry('alice/a', T0 - H, T0 + 2 * H)] }]);
  });
  it('refuses naming the conflicting booking, user and time; keeps the old end', () => {
    const w = booking('bob/w', { nodes: ['n1'], duration: 3600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(T0 + H), endTime: iso(T0 + 2 * H), observedGeneration: 1 } });
    const x = grow({ duration: 3 * 3600 }, [w], [['n1', entry('bob/w', T0 + H, T0 + 2 * H)]]).get('alice/a')!;
    assert.equal(x.status!.endTime, iso(T0 + H));
    assert.equal(x.status!.observedGeneration, 2);
    const why = 'node n1 is booked by bob/w (user bob) from 2026-03-02T09:00:00Z to 2026-03-02T10:00:00Z, before the asked end 2026-03-02T10:00:00Z';
    assert.equal(x.status!.message, `extend refused: ${why}; the booking still ends at 2026-03-02T09:00:00Z`);
    assert.deepEqual(x.status!.conditions, [{ type: 'ExtendRefused', status: 'True', reason: 'Conflict', message: why, lastTransitionTime: iso(T0).replace(/\.\d+Z$/, 'Z') }]);
    assert.deepEqual([x.events[0].reason, x.events[0].type], ['ExtendRefused', 'Warning']);
    assert.deepEqual(x.calendar, []);
  });
  it('an extend refused after the end passed ends the booking (TimeLimit, at its end) while its successor starts: never two Active on the node', () => {
    // found by the fault suite: the extend arrived while no operator led, after the end had passed
    const a = active('alice/a', ['n1'], T0 - H, T0 - MIN);
    a.view.booking.spec = { ...a.view.booking.spec, duration: 3 * 3600 };
    a.view.booking.metadata.generation = 2;
    const w = booking('bob/w', { nodes: ['n1'], duration: 3600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(T0 - MIN), endTime: iso(T0 + 59 * MIN), observedGeneration: 1 } });
    const b = run({ bookings: [a.view, w], entries: [...a.entries, ['n1', entry('bob/w', T0 - MIN, T0 + 59 * MIN)]] }).b;
    const x = b.get('alice/a')!;
    assert.deepEqual([x.status!.phase, x.status!.reason, x.status!.endTime], ['Expired', 'TimeLimit', iso(T0 - MIN)]);
    assert.equal(b.get('bob/w')!.status!.phase, 'Active');
  });
  it('refuses beyond maxDuration', () => {
    const x = grow({ duration: 5 * 3600 }, [], [], { maxDuration: 4 * 3600 }).get('alice/a')!;
    assert.equal(x.status!.conditions![0].reason, 'MaxDuration');
  });
  it('shrinks, and moves the queue up', () => {
    const w = booking('bob/w', { nodes: ['n1'], duration: 3600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(T0 + H), endTime: iso(T0 + 2 * H), observedGeneration: 1 } });
    const b = grow({ duration: 1.5 * 3600 }, [w], [['n1', entry('bob/w', T0 + H, T0 + 2 * H)]]);
    assert.equal(b.get('alice/a')!.status!.endTime, iso(T0 + 30 * MIN));
    assert.equal(b.get('alice/a')!.events[0].reason, 'Shortened');
    assert.equal(b.get('bob/w')!.status!.startTime, iso(T0 + 30 * MIN));
    assert.equal(b.get('bob/w')!.events[0].reason, 'Rescheduled');
  });
  it('shrinking into the past ends it now', () => {
    const x = grow({ duration: 1800 }).get('alice/a')!;
    assert.deepEqual([x.status!.phase, x.status!.reason], ['Expired', 'TimeLimit']);
  });
});

describe('operator plan: reservable windows', () => {
  const office = node('n1', { spec: { reservableWindows: [{ start: '09:00', end: '18:00' }] } });
  it('plans a queued booking at the window opening', () => {
    const { b } = run({ nodes: [office], bookings: [booking('alice/a', { nodes: ['n1'], duration: 3600 })] });
    const s = b.get('alice/a')!.status!;
    assert.deepEqual([s.phase, s.reason, s.startTime], ['Pending', 'Scheduled', iso(T0 + H)]);
    assert.equal(s.message, "starts 2026-03-02T09:00:00Z, when the nodes' reservable windows open");
  });
  it('refuses a booking longer than the window, naming it', () => {
    const { b } = run({ nodes: [office], bookings: [booking('alice/a', { nodes: ['n1'], duration: 10 * 3600 })] });
    assert.equal(b.get('alice/a')!.status!.message, 'node n1 is bookable only within 09:00-18:00 UTC; a 10h booking never fits inside one window');
  });
  it('refuses a reservation outside the window, naming it', () => {
    const { b } = run({ nodes: [office], bookings: [booking('alice/a', { nodes: ['n1'], start: iso(T0 + 9.5 * H), duration: 3600 })] });
    assert.match(b.get('alice/a')!.status!.message!, /node n1 is bookable only within 09:00-18:00 UTC; 2026-03-02T17:30:00Z to 2026-03-02T18:30:00Z does not fit one window/);
  });
  it('honours the time zone and the days', () => {
    const berlin = node('n1', { spec: { reservableWindows: [{ start: '09:00', end: '17:00', timeZone: 'Europe/Berlin', days: ['Tue'] }] } });
    const { b } = run({ nodes: [berlin], bookings: [booking('alice/a', { nodes: ['n1'], duration: 3600 })] });
    assert.equal(b.get('alice/a')!.status!.startTime, '2026-03-03T08:00:00.000Z'); // Tuesday 09:00 CET
  });
});

describe('operator plan: nodes', () => {
  it('NotReady when the heartbeat is gone, Ready when it is back, Drained when a draining node is free', () => {
    const { n } = run({
      nodes: [node('n1', { status: { phase: 'Ready', capacity: { cpus: 4 } } }), node('n2', { status: { phase: 'NotReady' }, heartbeat: true }), node('n3', { status: { phase: 'Draining' }, drain: 'maintenance' }), node('n4')],
    });
    assert.equal(n.get('n1')!.status.phase, 'NotReady');
    assert.deepEqual(n.get('n1')!.status.capacity, { cpus: 4 }, 'the daemon\'s fields are kept');
    assert.equal(n.get('n1')!.events[0].reason, 'NodeNotReady');
    assert.equal(n.get('n2')!.status.phase, 'Ready');
    assert.equal(n.get('n3')!.status.phase, 'Drained');
    assert.equal(n.has('n4'), false, 'a node that never had a daemon is left alone');
  });
  it('a NotReady write carries the heartbeat revision it was judged on (the writer compares it); a Ready write none', () => {
    const [name, v] = node('n1', { status: { phase: 'Ready' } });
    const { n } = run({ nodes: [[name, { ...v, heartbeatRevision: 41 }], node('n2', { status: { phase: 'NotReady' }, heartbeat: true }), node('n3', { status: { phase: 'Ready' } })] });
    assert.equal(n.get('n1')!.heartbeatRevision, 41);
    assert.equal(n.get('n3')!.heartbeatRevision, 0, 'no key seen: compared absent');
    assert.equal(n.get('n2')!.status.phase, 'Ready');
    assert.equal(n.get('n2')!.heartbeatRevision, undefined, 'a Ready write would lose to every beat for nothing');
  });
  it('a draining node stays Draining while a booking holds it, and its waiting bookings leave it', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    const w = booking('bob/w', { nodes: ['n1'], duration: 3600 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(T0 + H), endTime: iso(T0 + 2 * H), observedGeneration: 1 } });
    const { n, b } = run({ nodes: [node('n1', { status: { phase: 'Draining' }, drain: 'maintenance' })], bookings: [a.view, w], entries: [...a.entries, ['n1', entry('bob/w', T0 + H, T0 + 2 * H)]] });
    assert.equal(n.has('n1'), false);
    assert.deepEqual(b.get('bob/w')!.calendar, [{ node: 'n1', entries: [] }]);
    assert.equal(b.get('bob/w')!.status!.message, 'waits: node n1 is drained or draining');
  });
  it('a drain request (annotation) makes a node Draining; taking it back puts the node in service again', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    let { n } = run({ nodes: [node('n1', { status: { phase: 'Ready' }, heartbeat: true, drain: 'disk swap' })], bookings: [a.view], entries: a.entries });
    assert.equal(n.get('n1')!.status.phase, 'Draining');
    assert.equal(n.get('n1')!.status.message, 'draining: disk swap');
    assert.deepEqual(n.get('n1')!.events.map((e) => e.reason), ['Draining']);
    ({ n } = run({ nodes: [node('n1', { status: { phase: 'Drained', conditions: [{ type: 'Ready', status: 'True' }] }, heartbeat: true })] }));
    assert.equal(n.get('n1')!.status.phase, 'Ready');
    assert.deepEqual(n.get('n1')!.events.map((e) => e.reason), ['Undrained']);
    ({ n } = run({ nodes: [node('n1', { status: { phase: 'Drained' } })] }));
    assert.equal(n.get('n1')!.status.phase, undefined, 'a node that never had a daemon goes back to no phase');
  });
  it('a node the daemon drained after a failed cleanup stays Drained without a drain request', () => {
    const failed = { phase: 'Drained' as const, conditions: [{ type: 'Cleaned', status: 'False' as const, reason: 'CleanupFailed' }] };
    const { n } = run({ nodes: [node('n1', { status: failed, heartbeat: true })] });
    assert.equal(n.has('n1'), false);
  });
});

describe('operator plan: an Active booking keeps its admitted user', () => {
  it('refuses a changed spec.user (no way around admission): the entry stays alice\'s', () => {
    const a = active('alice/a', ['n1'], T0 - H, T0 + H);
    a.view.booking.spec = { ...a.view.booking.spec, user: 'root', duration: 3 * 3600 };
    a.view.booking.metadata.generation = 2;
    const x = run({ bookings: [a.view], entries: a.entries }).b.get('alice/a')!;
    assert.deepEqual(x.calendar, [], 'the calendar keeps alice\'s entry as it is');
    assert.equal(x.status!.phase, 'Active');
    assert.match(x.status!.conditions!.find((c) => c.type === 'SpecRefused')!.message!, /^spec.user: field is immutable/);
  });
});

describe('operator plan: back after being away', () => {
  it('keeps planned starts that came (the daemons went by the calendar): no second slot, no drift', () => {
    const pending = (key: string, s: number, e: number) =>
      booking(key, { nodes: ['n1'], duration: (e - s) / 1000 }, { status: { phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(s), endTime: iso(e), observedGeneration: 1 } });
    const a = active('alice/a', ['n1'], T0 - 2 * H, T0 - H);
    const b = pending('bob/b', T0 - H, T0);
    const c = pending('carol/c', T0, T0 + H);
    const { b: acts } = run({ now: T0 + 5 * MIN, bookings: [a.view, b, c], entries: [...a.entries, ['n1', entry('bob/b', T0 - H, T0)], ['n1', entry('carol/c', T0, T0 + H)]] });
    assert.equal(acts.get('alice/a')!.status!.reason, 'TimeLimit');
    const bs = acts.get('bob/b')!.status!;
    assert.deepEqual([bs.phase, bs.reason, bs.startTime, bs.endTime], ['Expired', 'TimeLimit', iso(T0 - H), iso(T0)]);
    assert.match(bs.message!, /passed while no operator was running/);
    const cs = acts.get('carol/c')!.status!;
    assert.deepEqual([cs.phase, cs.startTime, cs.endTime], ['Active', iso(T0), iso(T0 + H)]);
    assert.deepEqual(acts.get('carol/c')!.calendar, [], 'its entry stays where the daemon saw it');
  });
});

describe('operator plan: comparing statuses as stored', () => {
  it('treats a key set to undefined as absent, and nothing else as equal', () => {
    assert.ok(sameStored({ a: 1, b: undefined, c: [{ d: 'x' }] }, { c: [{ d: 'x' }], a: 1 }));
    assert.ok(!sameStored({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!sameStored({ a: [1, 2] }, { a: [2, 1] }));
    assert.ok(!sameStored({ a: [1] }, { a: { 0: 1 } }));
    assert.ok(!sameStored({ a: null }, {}));
    assert.ok(!sameStored({ a: '1' }, { a: 1 }));
  });
});

describe('operator plan: in steps', () => {
  it('pauses on the way through a large state and decides what plan() decides', () => {
    const bookings = Array.from({ length: 1200 }, (_, i) => booking(`u/b${i}`, { nodes: [`n${(i % 3) + 1}`], duration: 600 }, { createRevision: 100 + i }));
    const steps = planSteps(input({ bookings }));
    let pauses = 0;
    let r = steps.next();
    while (!r.done) {
      pauses++;
      r = steps.next();
    }
    assert.ok(pauses >= 4, `paused ${pauses} times`);
    assert.deepEqual(r.value, plan(input({ bookings })));
    assert.equal(r.value.actions.length, 1200);
  });
});
