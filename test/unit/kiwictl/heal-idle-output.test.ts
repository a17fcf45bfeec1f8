// kiwictl shows what healing and idle release did: `get bookings` puts Degraded and IdleWarning
// beside the phase and says what replaced what (or when the idle end comes) in MESSAGE;
// `describe` lists the replacements and the conditions.
import assert from 'node:assert/strict';
import { printObjects } from '../../../kiwictl/src/printers/index.js';
import { describeObject } from '../../../kiwictl/src/printers/describe.js';
import { kindInfo } from '../../../crds/api/kinds.js';

const now = new Date('2026-05-01T12:00:00Z');
const healed = {
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'b1', namespace: 'alice' }, spec: { count: 1, nodeSelector: { gpu: 'a100' }, duration: 7200 },
  status: {
    phase: 'Active', reason: 'Started', nodes: ['n3'], startTime: '2026-05-01T11:00:00Z', endTime: '2026-05-01T13:00:00Z', message: 'on n3 until 2026-05-01T13:00:00Z (n1 replaced by n3)',
    replacements: [{ node: 'n1', by: 'n3', time: '2026-05-01T11:30:00Z', reason: 'HeartbeatLost' }],
    conditions: [{ type: 'Degraded', status: 'True', reason: 'Replaced', message: 'node n1 stopped heartbeating at 2026-05-01T11:27:00Z: replaced by node n3', lastTransitionTime: '2026-05-01T11:30:00Z' }],
  },
};
const idle = {
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'b2', namespace: 'bob' }, spec: { nodes: ['n2'], duration: 7200, idleRelease: true },
  status: {
    phase: 'Active', reason: 'Started', nodes: ['n2'], startTime: '2026-05-01T11:00:00Z', endTime: '2026-05-01T13:00:00Z', message: 'on n2 until x',
    conditions: [{ type: 'IdleWarning', status: 'True', reason: 'Idle', message: 'its user has been idle on all its nodes since 2026-05-01T11:30:00Z; it ends at 2026-05-01T12:05:00Z (reason Idle) unless they use one of them', lastTransitionTime: '2026-05-01T11:55:00Z' }],
  },
};
const back = { ...idle, metadata: { name: 'b3', namespace: 'bob' }, status: { ...idle.status, conditions: [{ ...idle.status.conditions[0], status: 'False', reason: 'Active' }] } };

describe('kiwictl shows healing and idle release', () => {
  it('get bookings: Active,Degraded with what replaced what; Active,IdleWarning with the end; a taken-back warning shows nothing', async () => {
    const text = await printObjects([healed, idle, back], { format: 'table', kind: kindInfo('Booking'), allNamespaces: true, now });
    const [head, l1, l2, l3] = text.trimEnd().split('\n');
    assert.match(head, /PHASE/);
    assert.match(l1, /Active,Degraded .* node n1 stopped heartbeating at 2026-05-01T11:27:00Z: replaced by node n3$/);
    assert.match(l2, /Active,IdleWarning .* its user has been idle on all its nodes since 2026-05-01T11:30:00Z; it ends at 2026-05-01T12:05:00Z/);
    assert.match(l3, /^bob\s+b3\s+bob\s+Active\s/);
    assert.doesNotMatch(l3, /IdleWarning|idle/);
  });
  it('describe: the replacements and the conditions', () => {
    const text = describeObject(healed, [], now);
    assert.match(text, /Replacements:\n    -\n      Node:\s+n1\n      By:\s+n3\n      Time:\s+2026-05-01T11:30:00Z\n      Reason:\s+HeartbeatLost\n/);
    assert.match(text, /Degraded\s+True\s+Replaced\s+30m ago\s+node n1 stopped heartbeating at 2026-05-01T11:27:00Z: replaced by node n3/);
  });
});

import { allocRequest, bookingFor } from '../../../kiwictl/src/cmd/alloc/spec.js';

describe('kiwictl alloc: --idle-release and --on-node-failure', () => {
  const NOW = Date.parse('2026-05-01T12:00:00Z');
  it('sets spec.idleRelease either way (unset: the cluster default) and spec.onNodeFailure for named nodes', () => {
    assert.equal(bookingFor(allocRequest({ nodelist: 'n1', idleRelease: true }, NOW), 'alice', 'b').spec.idleRelease, true);
    assert.equal(bookingFor(allocRequest({ nodelist: 'n1', idleRelease: false }, NOW), 'alice', 'b').spec.idleRelease, false);
    assert.equal('idleRelease' in bookingFor(allocRequest({ nodelist: 'n1' }, NOW), 'alice', 'b').spec, false);
    assert.equal(bookingFor(allocRequest({ nodelist: 'n1', onNodeFailure: 'end' }, NOW), 'alice', 'b').spec.onNodeFailure, 'End');
  });
  it('refuses a bad --on-node-failure, and one with --count, naming the fix', () => {
    assert.throws(() => allocRequest({ nodelist: 'n1', onNodeFailure: 'retry' }, NOW), /--on-node-failure retry: give wait \(keep the slot until the node is back\) or end/);
    assert.throws(() => allocRequest({ count: '2', onNodeFailure: 'end' }, NOW), /--on-node-failure is for named nodes \(-w\); with --count a failed node is replaced by a free matching one/);
  });
});
