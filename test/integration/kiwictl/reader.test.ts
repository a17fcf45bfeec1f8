// kiwictl's read path (client/wire.ts + client/reader.ts: a hand-written gRPC/protobuf client)
// must read exactly what the Store (etcd3) reads: same objects, statuses, resourceVersions,
// events, at sizes that need multi-byte varints and with non-ASCII text. Real etcd, no mocks.
import assert from 'node:assert/strict';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { parseSelector, UnavailableError, type Node, type Store } from '../../../crds/api/index.js';
import { EtcdReader } from '../../../kiwictl/src/client/reader.js';
import { ObjectWatch } from '../../../kiwictl/src/client/watch.js';
import { waitFor } from '../../helpers/wait.js';

describe('kiwictl reader (wire client) agrees with the Store (real etcd)', function () {
  this.timeout(30_000);
  let etcd: TestEtcd;
  let store: Store;
  let reader: EtcdReader;

  before(async () => {
    etcd = await startEtcd();
    store = etcd.store();
    reader = new EtcdReader([etcd.endpoint], 3000);
    // 300 nodes push revisions past two varint bytes; a 40 KB annotation needs a 3-byte length.
    for (let i = 0; i < 300; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const n: Node = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: `n${i + j}`, labels: { rack: `r${(i + j) % 3}` } }, spec: { address: `10.0.0.${(i + j) % 250}` } };
          return store.create(n);
        }),
      );
    }
    await store.create({
      apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node',
      metadata: { name: 'big', annotations: { note: 'ü€𝄞 '.repeat(4000) + 'x'.repeat(20_000) } },
      spec: { address: '10.9.9.9' },
    });
    for (let i = 0; i < 300; i += 7) await store.updateStatus({ kind: 'Node', name: `n${i}` }, { phase: 'Ready', message: `naïve ✓ ${i}` });
    await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'bk1', namespace: 'alice' }, spec: { user: 'alice', nodes: ['n1'], duration: 60, queue: true } });
    await store.recordEvent({ time: '2026-01-01T00:00:00Z', kind: 'Booking', namespace: 'alice', name: 'bk1', type: 'Normal', reason: 'Started', message: 'é', source: 'test' });
  });
  after(async () => etcd?.stop());

  it('lists the same objects as Store.list, with status and resourceVersion', async () => {
    assert.deepEqual(await reader.list('Node'), await store.list('Node'));
    const sel = parseSelector('rack=r1');
    assert.deepEqual(await reader.list('Node', { selector: sel }), await store.list('Node', { selector: sel }));
    assert.deepEqual(await reader.list('Booking', { namespace: 'alice' }), await store.list('Booking', { namespace: 'alice' }));
    assert.deepEqual(await reader.list('Booking', { namespace: 'bob' }), []);
  });

  it('gets one object, or undefined, as Store.get does', async () => {
    assert.deepEqual(await reader.get({ kind: 'Node', name: 'big' }), await store.get({ kind: 'Node', name: 'big' }));
    assert.deepEqual(await reader.get({ kind: 'Node', name: 'n7' }), await store.get({ kind: 'Node', name: 'n7' }));
    assert.equal(await reader.get({ kind: 'Node', name: 'nope' }), undefined);
  });

  it('lists events as Store.listEvents does', async () => {
    const ref = { kind: 'Booking' as const, namespace: 'alice', name: 'bk1' };
    assert.deepEqual(await reader.listEvents(ref), await store.listEvents(ref));
  });

  it('reports an unreachable endpoint as UnavailableError, and a second endpoint is tried', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(new EtcdReader([dead], 1000).list('Node'), (e: Error) => e instanceof UnavailableError && e.message.includes(dead));
    assert.equal((await new EtcdReader([dead, etcd.endpoint], 1000).list('Node')).length, 301);
  });
  it('a watch of one node sees its spec and status changes, resumes after etcd restarts, and sees the change made meanwhile', async () => {
    const ref = { kind: 'Node' as const, name: 'n7' };
    const seen: (Node | undefined)[] = [];
    const errors: Error[] = [];
    const w = new ObjectWatch(reader, ref, { onObject: (n) => seen.push(n), onInvalid: (e) => errors.push(e), onError: (e) => errors.push(e) });
    await w.start();
    try {
      assert.deepEqual(seen, [await store.get(ref)]);
      await store.updateStatus({ kind: 'Node', name: 'n8' }, { phase: 'Ready' });
      await store.updateStatus(ref, { phase: 'NotReady', message: 'test' });
      await waitFor(async () => seen.length >= 2, { timeoutMs: 5000, what: 'the status write seen' });
      assert.equal(seen.length, 2, 'the write to n8 was not reported');
      assert.deepEqual(seen[1], await store.get(ref));
      await etcd.kill();
      await waitFor(async () => errors.length > 0, { timeoutMs: 5000, what: 'the broken watch reported' });
      await etcd.restart();
      const n = (await store.get(ref))!;
      await store.update({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, moved: 'yes' } } });
      await waitFor(async () => seen.at(-1)?.metadata.labels?.moved === 'yes', { timeoutMs: 15_000, what: 'the change after the restart seen' });
      assert.ok(errors.every((e) => !/unreadable|invalid/i.test(e.message)), errors.map((e) => e.message).join('; '));
    } finally {
      w.stop();
    }
  });
});
