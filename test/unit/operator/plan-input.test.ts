// One planner input (operator/src/reconcile/plan-input.ts): the server-side dry run plans what a
// whole pass of the reconciler plans, from the same cache. They drifted once: the dry run had no
// bookingUid (a scoped pass's view of uids across the state) and an empty power history.
import assert from 'node:assert/strict';
import { keys, logger, type Store } from '../../../crds/api/index.js';
import { Reconciler } from '../../../operator/src/reconcile/reconciler.js';
import { DryRunServer } from '../../../operator/src/dryrun/server.js';
import type { PlanInput } from '../../../operator/src/plan/index.js';

describe('planner input: the dry run plans what the reconciler plans', () => {
  const now = Date.parse('2030-01-01T12:00:00Z');
  const log = logger('test', 'silent');
  const invalid: unknown[] = [];
  const store = { recordEvent: async (e: unknown) => void invalid.push(e) } as unknown as Store; // nothing else here talks to etcd
  const groups = (name: string) => (name === 'lab' ? { name: 'lab', gid: 2000, members: ['carol', 'alice'] } : undefined);
  const rec = new Reconciler({ store, fence: { key: 'k', createRevision: 1 }, log, groups });
  const dry = new DryRunServer({ store, cache: rec.cache, log, id: 'test', groups });
  const v1 = 'kiwi.dev/v1alpha1';
  rec.cache.applyLocal(10, [
    { key: keys.spec({ kind: 'Node', name: 'n1' }), value: { apiVersion: v1, kind: 'Node', metadata: { name: 'n1' }, spec: {} } },
    { key: keys.status({ kind: 'Node', name: 'n1' }), value: { phase: 'Ready', power: { lastOffTime: new Date(now - 10_000).toISOString() } } },
    { key: keys.spec({ kind: 'Node', name: 'n2' }), value: { apiVersion: v1, kind: 'Node', metadata: { name: 'n2' }, spec: {} } },
    { key: keys.status({ kind: 'Node', name: 'n2' }), value: { phase: 'Ready', power: { lastOnTime: new Date(now - 20_000).toISOString() } } },
    { key: keys.spec({ kind: 'Pool', name: 'p' }), value: { apiVersion: v1, kind: 'Pool', metadata: { name: 'p' }, spec: { nodeSelector: 'gpu=a100', allowGroups: ['lab'] } } },
    { key: keys.spec({ kind: 'Booking', namespace: 'alice', name: 'a' }), value: { apiVersion: v1, kind: 'Booking', metadata: { name: 'a', namespace: 'alice' }, spec: { nodes: ['n1'], duration: 600 } } },
  ]);
  const plain = (i: PlanInput) => ({ ...i, bookingUid: undefined, groups: undefined, users: undefined });

  it('the same bookings, nodes, calendars, config, pools, accounts and power history; the same uids across the state', () => {
    assert.deepEqual(invalid, [], 'every object is valid');
    const r = rec.planInput(now);
    const d = dry.planInput('carol', now);
    assert.deepEqual(plain(d), plain(r));
    assert.equal(r.bookings.length, 1);
    assert.equal(r.pools?.length, 1, 'the pool is in the input');
    assert.deepEqual(d.power?.recentOff, [now - 10_000], 'the power history reaches the dry run');
    assert.deepEqual(d.power?.recentOn, [now - 20_000]);
    const uid = r.bookingUid!('alice/a');
    assert.match(uid ?? '', /^10-[0-9a-f]{16}$/, 'the uid etcd gives the key');
    assert.equal(d.bookingUid!('alice/a'), uid);
    assert.equal(d.bookingUid!('alice/none'), undefined);
  });

  it('the groups of the bookings\' users, and the dry run\'s own user beside them', () => {
    assert.deepEqual([...rec.planInput(now).groups!], [['alice', ['lab']]]);
    assert.deepEqual(new Map(dry.planInput('carol', now).groups!), new Map([['carol', ['lab']], ['alice', ['lab']]]));
  });
});
