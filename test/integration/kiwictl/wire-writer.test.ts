// The Store over kiwictl's wire client (client/wire-etcd.ts) instead of etcd3, as `apply`,
// `delete` and the compare-and-swap verbs use it: every write and its failure must be what the
// Store over etcd3 does. Two Stores on one real etcd, one over each client, doing the same
// things to twin objects; the answers compared field by field.
import assert from 'node:assert/strict';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { AlreadyExistsError, ConflictError, NotFoundError, Store, UnavailableError, type Booking, type Node } from '../../../crds/api/index.js';
import type { Etcd3 } from 'etcd3';
import { WireEtcd } from '../../../kiwictl/src/client/wire-etcd.js';

const node = (name: string, labels: Record<string, string> = {}): Node => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name, labels }, spec: { address: '10.0.0.1' } });
const booking = (name: string, ns: string): Booking => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: ns }, spec: { user: ns, nodes: ['w-a'], duration: 60, queue: true } });
/** What is the same for twins: all but the name, uid and revisions (each write moves the revision). */
const shape = (o: { metadata: Record<string, unknown> }) => {
  const { name: _n, uid: _u, resourceVersion: _r, creationTimestamp: _c, ...meta } = o.metadata;
  return { ...o, metadata: meta };
};

describe('kiwictl: the Store over the wire client writes as the Store over etcd3 (real etcd)', function () {
  this.timeout(30_000);
  let etcd: TestEtcd;
  let viaEtcd3: Store;
  let viaWire: Store;
  let wire: WireEtcd;

  before(async () => {
    etcd = await startEtcd();
    viaEtcd3 = etcd.store();
    wire = new WireEtcd([etcd.endpoint], 3000);
    viaWire = new Store(wire as unknown as Etcd3, { endpoints: [etcd.endpoint], retries: 0 });
  });
  after(async () => {
    wire?.close();
    await etcd?.stop();
  });

  it('create, get, update and a lost compare-and-swap: the same objects and the same errors', async () => {
    const a = await viaWire.create(node('w-a', { rack: 'r1' }));
    const b = await viaEtcd3.create(node('e-a', { rack: 'r1' }));
    assert.deepEqual(shape(a), shape(b));
    assert.equal(a.metadata.generation, 1);
    assert.deepEqual(await viaEtcd3.get({ kind: 'Node', name: 'w-a' }), a, 'what the wire Store wrote, read back through etcd3');
    await assert.rejects(viaWire.create(node('w-a')), AlreadyExistsError);
    const a2 = await viaWire.update({ ...a, metadata: { ...a.metadata, labels: { rack: 'r2' } } });
    assert.equal(a2.metadata.generation, 2);
    assert.ok(Number(a2.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
    await viaEtcd3.update({ ...b, metadata: { ...b.metadata, labels: { rack: 'r2' } } });
    // a and b are stale now: the same conflict, said the same way
    const e1 = await viaWire.update({ ...a, metadata: { ...a.metadata, labels: { rack: 'r3' } } }).catch((e) => e);
    const e2 = await viaEtcd3.update({ ...b, metadata: { ...b.metadata, labels: { rack: 'r3' } } }).catch((e) => e);
    assert.ok(e1 instanceof ConflictError, String(e1));
    assert.ok(e2 instanceof ConflictError, String(e2));
    const norm = (m: string) => m.replace(/[we]-a/g, 'X').replace(/\d+/g, 'N');
    assert.equal(norm(e1.message), norm(e2.message));
  });

  it('applyAll (created, unchanged, configured) and delete: the same actions, in one transaction', async () => {
    const objs = [booking('wb1', 'kiwitest-w'), booking('wb2', 'kiwitest-w')];
    const twins = [booking('eb1', 'kiwitest-w'), booking('eb2', 'kiwitest-w')];
    assert.deepEqual((await viaWire.applyAll(objs)).map((r) => r.action), ['created', 'created']);
    assert.deepEqual((await viaEtcd3.applyAll(twins)).map((r) => r.action), ['created', 'created']);
    assert.deepEqual((await viaWire.applyAll(objs)).map((r) => r.action), ['unchanged', 'unchanged']);
    const changed = [{ ...objs[0], spec: { ...objs[0].spec, duration: 120 } }, objs[1]];
    const r = await viaWire.applyAll(changed);
    assert.deepEqual(r.map((x) => x.action), ['configured', 'unchanged']);
    assert.deepEqual(await viaEtcd3.get({ kind: 'Booking', namespace: 'kiwitest-w', name: 'wb1' }), r[0].object);
    await viaWire.delete({ kind: 'Booking', namespace: 'kiwitest-w', name: 'wb1' });
    assert.equal(await viaEtcd3.get({ kind: 'Booking', namespace: 'kiwitest-w', name: 'wb1' }), undefined);
    const [n1, n2] = await Promise.all([viaWire.delete({ kind: 'Booking', namespace: 'kiwitest-w', name: 'wb1' }).catch((e) => e), viaEtcd3.delete({ kind: 'Booking', namespace: 'kiwitest-w', name: 'wb1' }).catch((e) => e)]);
    assert.ok(n1 instanceof NotFoundError, String(n1));
    assert.equal(n1.message, n2.message);
  });

  it('status writes, events and raw ranges read back the same through both', async () => {
    await viaWire.updateStatus({ kind: 'Node', name: 'w-a' }, { phase: 'Ready', message: 'naïve ✓' });
    assert.deepEqual(await viaWire.get({ kind: 'Node', name: 'w-a' }), await viaEtcd3.get({ kind: 'Node', name: 'w-a' }));
    await viaWire.recordEvent({ time: '2026-01-01T00:00:00Z', kind: 'Node', name: 'w-a', type: 'Normal', reason: 'Test', message: 'é', source: 'test' });
    assert.deepEqual(await viaWire.listEvents({ kind: 'Node', name: 'w-a' }), await viaEtcd3.listEvents({ kind: 'Node', name: 'w-a' }));
    assert.equal((await viaWire.listEvents({ kind: 'Node', name: 'w-a' })).length, 1);
    assert.deepEqual(await viaWire.list('Node'), await viaEtcd3.list('Node'));
  });

  it('an etcd that does not answer is UnavailableError, as through etcd3', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const w = new WireEtcd([dead], 500);
    try {
      const s = new Store(w as unknown as Etcd3, { endpoints: [dead], retries: 0 });
      await assert.rejects(s.create(node('w-dead')), (e: Error) => e instanceof UnavailableError && /did not answer \(14 UNAVAILABLE: .*ECONNREFUSED/.test(e.message));
    } finally {
      w.close();
    }
  });
});
