// The server-side dry run's pure answer: the planner's decision for a booking that is not
// written (last in line, or an existing booking's changed spec), or why the request is refused.
import assert from 'node:assert/strict';
import { dryRunAnswer } from '../../../operator/src/dryrun/answer.js';
import { parseDryRunRequestKey, dryRunKeys } from '../../../crds/api/dryrun.js';
import { active, input, node, T0, H, iso, booking } from './fixtures.js';

const req = (ns: string, name: string, spec: Record<string, unknown>) => ({
  booking: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: ns }, spec: { user: ns, ...spec } },
});

describe('server-side dry run: the answer (pure)', () => {
  it('a free node: Active now', () => {
    const a = dryRunAnswer(input({ now: T0, nodes: [node('n1')] }), 'bob', req('bob', 'probe', { nodes: ['n1'], duration: 600 }));
    assert.equal(a.error, undefined);
    assert.equal(a.status?.phase, 'Active');
    assert.deepEqual(a.status?.nodes, ['n1']);
  });
  it('a busy node: Pending, planned after the holder, naming it', () => {
    const held = active('alice/a1', ['n1'], T0 - H, T0 + H);
    const a = dryRunAnswer(input({ now: T0, nodes: [node('n1')], bookings: [held.view], entries: held.entries }), 'bob', req('bob', 'probe', { nodes: ['n1'], duration: 600 }));
    assert.equal(a.status?.phase, 'Pending');
    assert.equal(a.status?.startTime, iso(T0 + H));
    assert.equal(a.status?.waitingFor?.[0]?.booking, 'alice/a1');
  });
  it('goes last in line: behind a booking already waiting', () => {
    const held = active('alice/a1', ['n1'], T0 - H, T0 + H);
    const waiting = booking('carol/c1', { nodes: ['n1'], duration: 1800 }, { status: { phase: 'Pending', nodes: ['n1'], startTime: iso(T0 + H), endTime: iso(T0 + H + 30 * 60_000), observedGeneration: 1 } });
    const a = dryRunAnswer(input({ now: T0, nodes: [node('n1')], bookings: [held.view, waiting], entries: held.entries }), 'bob', req('bob', 'probe', { nodes: ['n1'], duration: 600 }));
    assert.equal(a.status?.phase, 'Pending');
    assert.equal(a.status?.startTime, iso(T0 + H + 30 * 60_000));
  });
  it('a refusal: a node that does not exist, queue: false on a busy node', () => {
    let a = dryRunAnswer(input({ now: T0, nodes: [node('n1')] }), 'bob', req('bob', 'probe', { nodes: ['nope'], duration: 600 }));
    assert.equal(a.status?.phase, 'Expired');
    assert.equal(a.status?.reason, 'Rejected');
    const held = active('alice/a1', ['n1'], T0 - H, T0 + H);
    a = dryRunAnswer(input({ now: T0, nodes: [node('n1')], bookings: [held.view], entries: held.entries }), 'bob', req('bob', 'probe', { nodes: ['n1'], duration: 600, queue: false }));
    assert.equal(a.status?.reason, 'Busy');
  });
  it('refuses a request in another user\'s name, or one that is no Booking', () => {
    assert.match(dryRunAnswer(input({ now: T0 }), 'bob', req('alice', 'x', { nodes: ['n1'] })).error!, /not in namespace bob/);
    assert.match(dryRunAnswer(input({ now: T0 }), 'bob', { nope: 1 }).error!, /holds no Booking/);
    assert.match(dryRunAnswer(input({ now: T0 }), 'bob', req('bob', 'x', { nodes: ['n1'], duration: 'soon' })).error!, /duration/);
  });
  it('request keys: the user and id from the key, answers and odd keys ignored', () => {
    assert.deepEqual(parseDryRunRequestKey(dryRunKeys.request('bob', 'abcdef0123456789')), { user: 'bob', id: 'abcdef0123456789' });
    assert.equal(parseDryRunRequestKey(dryRunKeys.answer('bob', 'abcdef0123456789')), undefined);
    assert.equal(parseDryRunRequestKey('/kiwi/dryrun/../x/abcdef01/request'), undefined);
  });
});
