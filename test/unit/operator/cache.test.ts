// The operator's cache as the planner sees it: a slice of a scope, and a slice refused when a
// booking of the scope changed after the scope was computed (it may name nodes outside it now).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { keys, logger, type Store } from '../../../crds/api/index.js';
import { ClusterCache } from '../../../operator/src/reconcile/cache.js';
import { booking } from './fixtures.js';

describe('operator cache: slices of a scope', () => {
  const cache = () => new ClusterCache(undefined as unknown as Store, () => undefined, logger('test', 'silent'));
  const put = (c: ClusterCache, rev: number, key: string, nodes: string[]) => {
    const [namespace, name] = key.split('/');
    const b = booking(key, { nodes }).booking;
    c.applyLocal(rev, [{ key: keys.spec({ kind: 'Booking', namespace, name }), value: { apiVersion: b.apiVersion, kind: b.kind, metadata: b.metadata, spec: b.spec } }]);
  };

  it('gives the bookings, nodes and calendars of the scope, and keeps the index in step', () => {
    const c = cache();
    put(c, 10, 'u/a', ['n1']);
    put(c, 11, 'u/b', ['n2']);
    const scope = c.index.components(['u/a'], [])![0];
    assert.deepEqual([...scope!.nodes], ['n1']);
    const s = c.slice(scope!, c.revision);
    assert.deepEqual(s?.bookings.map((v) => v.key), ['u/a']);
  });

  it('refuses a slice when one of its bookings changed after the scope was computed', () => {
    const c = cache();
    put(c, 10, 'u/a', ['n1']);
    const asOf = c.revision;
    const scope = c.index.components(['u/a'], [])![0];
    put(c, 12, 'u/a', ['n1', 'n9']); // now names n9, outside the scope
    assert.equal(c.slice(scope, asOf), undefined);
    assert.ok(c.slice(c.index.components(['u/a'], [])![0], c.revision), 'scoped anew, it slices');
  });
});

describe('operator cache: node readiness from the heartbeat value', () => {
  it('alive while the value changes by the cache\'s own clock; a same-revision sighting (a lease kept alive) does not help', () => {
    let now = 1_000_000;
    const changes: string[] = [];
    const c = new ClusterCache(undefined as unknown as Store, (ks) => changes.push(...ks), logger('test', 'silent'), { now: () => now });
    const beat = (rev: number) => c.applyLocal(rev, [{ key: keys.heartbeat('n1'), value: { time: 'x', daemonVersion: 'v', ttlSeconds: 2 } }]);
    c.applyLocal(10, [{ key: keys.spec({ kind: 'Node', name: 'n1' }), value: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n1' }, spec: {} } }]);
    assert.equal(c.nodes().get('n1')!.heartbeat, false);
    beat(11);
    assert.equal(c.nodes().get('n1')!.heartbeat, true);
    assert.deepEqual(changes.splice(0), [], 'applyLocal reports nothing; the watch path does');
    now += 1500;
    beat(12); // a refresh
    now += 1900;
    (c as any).expireHeartbeats();
    assert.equal(c.nodes().get('n1')!.heartbeat, true, 'refreshed 1.9 s ago, TTL 2 s');
    now += 600;
    (c as any).expireHeartbeats();
    assert.equal(c.nodes().get('n1')!.heartbeat, true, '2.5 s ago: within one beat period (0.67 s) past the TTL');
    beat(12); // the same revision again: what a kept-alive lease looks like
    now += 200; // 2.7 s: past the TTL and one beat period (0.67 s) of slack
    (c as any).expireHeartbeats();
    assert.equal(c.nodes().get('n1')!.heartbeat, false);
    assert.deepEqual(changes.splice(0), ['heartbeat:n1']);
    beat(13);
    assert.equal(c.nodes().get('n1')!.heartbeat, true, 'back when the value changes');
  });

  it('a deleted heartbeat key (a revoked lease) is stale once its last change is a TTL old; put again in time, the node never turns NotReady', () => {
    let now = 1_000_000;
    const changes: string[] = [];
    const c = new ClusterCache(undefined as unknown as Store, (ks) => changes.push(...ks), logger('test', 'silent'), { now: () => now });
    c.applyLocal(10, [{ key: keys.spec({ kind: 'Node', name: 'n1' }), value: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n1' }, spec: {} } }]);
    c.applyLocal(11, [{ key: keys.heartbeat('n1'), value: { time: 'x', daemonVersion: 'v', ttlSeconds: 3 } }]);
    now += 1000;
    c.applyLocal(12, [{ key: keys.heartbeat('n1'), value: undefined }]); // revoked (etcd-io/etcd#12528)
    (c as any).expireHeartbeats();
    assert.equal(c.nodes().get('n1')!.heartbeat, true, 'its value changed 1 s ago, TTL 3 s');
    now += 500;
    c.applyLocal(13, [{ key: keys.heartbeat('n1'), value: { time: 'y', daemonVersion: 'v', ttlSeconds: 3 } }]); // the daemon's new lease
    now += 2800;
    (c as any).expireHeartbeats();
    assert.equal(c.nodes().get('n1')!.heartbeat, true);
    assert.deepEqual(changes, []);
    c.applyLocal(14, [{ key: keys.heartbeat('n1'), value: undefined }]); // the daemon stopped
    now += 3100;
    (c as any).expireHeartbeats();
    assert.equal(c.nodes().get('n1')!.heartbeat, false, 'gone and unchanged for a TTL');
    assert.deepEqual(changes, ['heartbeat:n1']);
  });

  it('after a snapshot, a node whose status says Ready but whose heartbeat key is gone gets one TTL to put it again', async () => {
    let now = 1_000_000;
    const kv = (key: string, value: unknown, rev = 5) => ({ key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)), mod_revision: String(rev), create_revision: String(rev), version: '1' });
    const watcher = () => {
      const w = new EventEmitter();
      setImmediate(() => w.emit('connected'));
      return Object.assign(w, { cancel: async () => undefined });
    };
    const store = {
      txn: async () => ({ header: { revision: '20' }, responses: [
        [kv(keys.spec({ kind: 'Node', name: 'n1' }), { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n1' }, spec: {} }), kv(keys.spec({ kind: 'Node', name: 'n2' }), { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n2' }, spec: {} })],
        [kv(keys.status({ kind: 'Node', name: 'n1' }), { phase: 'Ready' }), kv(keys.status({ kind: 'Node', name: 'n2' }), { phase: 'NotReady' })],
        [], [],
      ].map((kvs) => ({ response_range: { kvs } })) }),
      etcd: { watch: () => ({ prefix: () => ({ startRevision: () => ({ watcher }) }) }) },
    } as unknown as Store;
    const changes: string[] = [];
    const c = new ClusterCache(store, (ks) => changes.push(...ks), logger('test', 'silent'), { now: () => now });
    await c.start();
    assert.equal(c.nodes().get('n1')!.heartbeat, true, 'Ready before, given a TTL');
    assert.equal(c.nodes().get('n2')!.heartbeat, false, 'NotReady before: no grace');
    now += 4100; // the default TTL (3 s) and one beat period
    (c as any).expireHeartbeats();
    assert.equal(c.nodes().get('n1')!.heartbeat, false, 'no heartbeat within the TTL');
    await c.stop();
  });
});
