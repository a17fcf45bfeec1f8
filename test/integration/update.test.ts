// guaranteedUpdate against a real etcd: concurrent read-modify-writes of one object compose
// (each re-reads and re-applies on a lost compare-and-swap), for a spec and for a status.
import assert from 'node:assert/strict';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import { guaranteedUpdate, guaranteedUpdateStatus, NotFoundError, type Node, type Store } from '../../crds/api/index.js';

describe('guaranteedUpdate (real etcd)', () => {
  let etcd: TestEtcd;
  let stores: Store[];
  const ref = { kind: 'Node' as const, name: 'g1' };
  before(async () => {
    etcd = await startEtcd();
    stores = Array.from({ length: 4 }, () => etcd.store()); // separate connections, as separate clients
    const n: Node = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'g1', labels: { n: '0' } }, spec: { address: '127.0.0.1' } };
    await stores[0].create(n);
  });
  after(async () => etcd?.stop());

  it('twenty concurrent increments of a label add up to twenty, each from the same start', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => guaranteedUpdate(stores[i % 4], ref, (n) => {
      n.metadata.labels = { n: String(Number(n.metadata.labels!.n) + 1) };
      return true;
    })));
    assert.ok(rs.every((r) => r.changed));
    assert.equal((await stores[0].mustGet(ref)).metadata.labels!.n, '20');
  });

  it('a mutate that returns false writes nothing; a missing object is NotFound', async () => {
    const before = await stores[0].mustGet(ref);
    const r = await guaranteedUpdate(stores[0], ref, () => false);
    assert.equal(r.changed, false);
    assert.equal((await stores[0].mustGet(ref)).metadata.resourceVersion, before.metadata.resourceVersion);
    await assert.rejects(guaranteedUpdate(stores[0], { kind: 'Node', name: 'nope' }, () => true), NotFoundError);
  });

  it('a retried write does not take another writer\'s identical change for its own (two increments from one state make two)', async () => {
    const start = Number((await stores[0].mustGet(ref)).metadata.labels!.n);
    const inc = (n: Node) => {
      n.metadata.labels = { n: String(Number(n.metadata.labels!.n) + 1) };
      return true;
    };
    // The first attempt of A's compare-and-swap fails as a lost connection does (never reaching
    // etcd), after B wrote the very value A was about to write; A's store retries the call.
    const kv = stores[0].etcd.kv;
    const txn = kv.txn.bind(kv);
    let injected = false;
    kv.txn = (async (req: Parameters<typeof txn>[0]) => {
      if (!injected && req.compare?.length) {
        injected = true;
        await guaranteedUpdate(stores[1], ref, inc);
        throw new Error('14 UNAVAILABLE: connection dropped (injected)');
      }
      return txn(req);
    }) as typeof kv.txn;
    try {
      await guaranteedUpdate(stores[0], ref, inc);
    } finally {
      kv.txn = txn;
    }
    assert.ok(injected);
    assert.equal((await stores[0].mustGet(ref)).metadata.labels!.n, String(start + 2));
  });

  it('statuses compose the same way', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => guaranteedUpdateStatus(stores[i % 4], ref, (st) => ({ ...st, message: String(Number(st?.message ?? 0) + 1) }))));
    assert.equal((await stores[0].mustGet(ref)).status!.message, '10');
  });
});
