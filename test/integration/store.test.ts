// The store against a real etcd: CAS, status apart from spec, generation, apply, watch.
import assert from 'node:assert/strict';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';
import { ConflictError, AlreadyExistsError, NotFoundError, Informer, entryUid, keys, parseSelector, type Booking, type Node, type InformerEvent, type Store } from '../../crds/api/index.js';

const node = (name: string, labels?: Record<string, string>): Node => ({
  apiVersion: 'kiwi.dev/v1alpha1',
  kind: 'Node',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { address: '127.0.0.1', sshPort: 22 },
});
const booking = (ns: string, name: string, nodes: string[]): Booking => ({
  apiVersion: 'kiwi.dev/v1alpha1',
  kind: 'Booking',
  metadata: { name, namespace: ns },
  spec: { user: ns, nodes, duration: 3600, queue: true },
});

describe('store (real etcd)', () => {
  let etcd: TestEtcd;
  let store: Store;
  before(async () => {
    etcd = await startEtcd();
    store = etcd.store();
  });
  after(async () => etcd?.stop());

  it('creates with uid (etcd\'s: from the key\'s create revision), generation 1, creationTimestamp and resourceVersion = mod_revision', async () => {
    const created = await store.create(node('n1'));
    const kv = (await etcd.client().get(keys.spec({ kind: 'Node', name: 'n1' })).exec()).kvs[0];
    assert.equal(created.metadata.uid, entryUid(keys.spec({ kind: 'Node', name: 'n1' }), kv.create_revision));
    assert.equal((await store.get({ kind: 'Node', name: 'n1' }))!.metadata.uid, created.metadata.uid, 'every read derives the same');
    assert.notEqual(JSON.parse(kv.value.toString()).metadata.uid, created.metadata.uid, 'what is stored is only create()\'s nonce');
    assert.equal(created.metadata.generation, 1);
    const raw = await etcd.client().get(keys.spec({ kind: 'Node', name: 'n1' })).exec();
    assert.equal(created.metadata.resourceVersion, raw.kvs[0].mod_revision);
    assert.equal(JSON.parse(raw.kvs[0].value.toString()).metadata.resourceVersion, undefined, 'resourceVersion is not stored');
    await assert.rejects(store.create(node('n1')), AlreadyExistsError);
  });

  it('refuses an update with a stale resourceVersion (CAS); generation is the spec key\'s version (every write counts, labels too)', async () => {
    const a = await store.mustGet({ kind: 'Node', name: 'n1' });
    const b = structuredClone(a);
    a.spec!.sshPort = 2222;
    const a2 = await store.update(a);
    assert.equal(a2.metadata.generation, 2);
    b.spec!.sshPort = 2223;
    await assert.rejects(store.update(b), (e: Error) => e instanceof ConflictError && /changed by somebody else/.test(e.message));
    a2.metadata.labels = { rack: 'r1' };
    const a3 = await store.update(a2);
    assert.equal(a3.metadata.generation, 3, 'a label change is a write of the spec key too');
    assert.ok(Number(a3.metadata.resourceVersion) > Number(a2.metadata.resourceVersion));
    const kv = (await etcd.client().get(keys.spec({ kind: 'Node', name: 'n1' })).exec()).kvs[0];
    assert.equal(Number(kv.version), 3);
    assert.equal((await store.mustGet({ kind: 'Node', name: 'n1' })).metadata.generation, 3, 'read back: etcd\'s version');
    assert.equal(JSON.parse(kv.value.toString()).metadata.generation, undefined, 'generation is not stored');
  });

  it('writes status apart from spec: a status write keeps resourceVersion and generation', async () => {
    const before = await store.getStored({ kind: 'Node', name: 'n1' });
    const rev = await store.updateStatus({ kind: 'Node', name: 'n1' }, { phase: 'Ready' }, { expectedStatusRevision: 0 });
    const after = await store.getStored({ kind: 'Node', name: 'n1' });
    assert.equal(after!.object.status?.phase, 'Ready');
    assert.equal(after!.object.metadata.resourceVersion, before!.object.metadata.resourceVersion);
    assert.equal(after!.statusRevision, rev);
    await assert.rejects(store.updateStatus({ kind: 'Node', name: 'n1' }, { phase: 'NotReady' }, { expectedStatusRevision: 1 }), ConflictError);
    await assert.rejects(store.updateStatus({ kind: 'Node', name: 'nope' }, { phase: 'Ready' }), NotFoundError);
  });

  it('applies idempotently: created, unchanged, configured', async () => {
    const bk = booking('alice', 'bk1', ['n1']);
    assert.equal((await store.apply(bk)).action, 'created');
    const rev = (await store.get({ kind: 'Booking', namespace: 'alice', name: 'bk1' }))!.metadata.resourceVersion;
    assert.equal((await store.apply(structuredClone(bk))).action, 'unchanged');
    assert.equal((await store.get({ kind: 'Booking', namespace: 'alice', name: 'bk1' }))!.metadata.resourceVersion, rev);
    bk.spec.duration = 7200;
    const r = await store.apply(bk);
    assert.equal(r.action, 'configured');
    assert.equal(r.object.metadata.generation, 2);
  });

  it('lists by namespace and label selector', async () => {
    await store.create(node('n2', { gpu: 'a100' }));
    await store.create(booking('bob', 'bk1', ['n2']));
    assert.deepEqual((await store.list('Node', { selector: parseSelector('gpu=a100') })).map((n) => n.metadata.name), ['n2']);
    assert.deepEqual((await store.list('Node', { selector: parseSelector('!gpu') })).map((n) => n.metadata.name), ['n1']);
    assert.equal((await store.list('Booking', { namespace: 'alice' })).length, 1);
    assert.equal((await store.list('Booking')).length, 2);
  });

  it('deletes the spec (the status is its writer\'s, and never joins an object created again), with an optional resourceVersion precondition', async () => {
    const n = await store.create(node('n3'));
    await store.updateStatus({ kind: 'Node', name: 'n3' }, { phase: 'Ready' });
    await assert.rejects(store.delete({ kind: 'Node', name: 'n3' }, { resourceVersion: '1' }), ConflictError);
    await store.delete({ kind: 'Node', name: 'n3' }, { resourceVersion: n.metadata.resourceVersion });
    assert.equal(await store.get({ kind: 'Node', name: 'n3' }), undefined);
    await assert.rejects(store.delete({ kind: 'Node', name: 'n3' }), NotFoundError);
    const again = await store.create(node('n3'));
    assert.equal((await store.get({ kind: 'Node', name: 'n3' }))!.status, undefined, 'the old status is an earlier object\'s');
    assert.notEqual(again.metadata.uid, n.metadata.uid);
    await store.delete({ kind: 'Node', name: 'n3' });
  });

  it('informer: lists, then sees every later change with spec and status merged', async () => {
    const events: InformerEvent<Node>[] = [];
    const inf = new Informer(store, 'Node', { onEvent: (e) => events.push(e) });
    await inf.start();
    try {
      assert.deepEqual(inf.list().map((n) => n.metadata.name).sort(), ['n1', 'n2']);
      events.length = 0;
      await store.create(node('n4'));
      await store.updateStatus({ kind: 'Node', name: 'n4' }, { phase: 'Ready' });
      await store.delete({ kind: 'Node', name: 'n4' });
      await waitFor(() => events.some((e) => e.type === 'DELETED'), { what: 'DELETED event' });
      assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      assert.equal((events[1].object as Node).status?.phase, 'Ready');
    } finally {
      await inf.stop();
    }
  });

  it('informer: a status seen at start never goes backwards (spec and status listed at one revision)', async () => {
    await store.create(node('n5'));
    const ref = { kind: 'Node' as const, name: 'n5' };
    let n = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) await store.updateStatus(ref, { message: String(++n) });
    })();
    const backwards: string[] = [];
    // A list whose status read comes later than its spec read (a slow member, a busy client),
    // as a list by two range reads may: the one-transaction list never calls rawRange.
    const rawRange = store.rawRange.bind(store);
    store.rawRange = async (prefix: string, isPrefix?: boolean) => {
      if (prefix.startsWith(keys.statusPrefix('Node'))) await new Promise((r) => setTimeout(r, 30));
      return rawRange(prefix, isPrefix);
    };
    try {
      for (let i = 0; i < 10; i++) {
        let last = 0;
        let listed = 0;
        const seen = (o?: Node) => {
          const m = Number(o?.status?.message ?? 0);
          if (m < last) backwards.push(`informer ${i}: status ${last}, then ${m}`);
          last = Math.max(last, m);
        };
        const inf = new Informer(store, 'Node', { onEvent: (e) => e.object.metadata.name === 'n5' && seen(e.object), onSync: (items) => {
          seen(items.find((x) => x.metadata.name === 'n5'));
          listed = last;
        } });
        await inf.start();
        await waitFor(() => last >= listed + 3, { what: 'status writes after the list seen through the watch' });
        await inf.stop();
      }
    } finally {
      store.rawRange = rawRange;
      writing = false;
      await writer;
      await store.delete(ref);
    }
    assert.deepEqual(backwards, []);
  });

  it('informer: resumes after etcd restarts, and re-lists when its revision was compacted', async () => {
    const events: InformerEvent<Node>[] = [];
    let errors = 0;
    const inf = new Informer(store, 'Node', { onEvent: (e) => events.push(e), onError: () => errors++ });
    await inf.start();
    try {
      // Resume: etcd goes away and comes back; a change made afterwards is seen.
      await etcd.kill();
      await etcd.restart();
      await store.create(node('n5'));
      await waitFor(() => inf.get('n5'), { timeoutMs: 15_000, what: 'n5 after etcd restart' });

      // Compaction: a watch resuming from a revision etcd has compacted away is cancelled by
      // etcd; the informer must re-list by itself and report what changed meanwhile.
      const c = etcd.client();
      const staleFrom = inf.revision;
      await (inf as any).lw.cancelWatchers();
      await store.create(node('n6'));
      await store.delete({ kind: 'Node', name: 'n5' });
      const head = Number((await c.get('x').exec()).header.revision);
      await c.kv.compact({ revision: head, physical: true });
      events.length = 0;
      await (inf as any).lw.watchFrom(staleFrom + 1);
      await waitFor(() => inf.get('n6') && !inf.get('n5'), { what: 'cache matches after compaction' });
      assert.ok(errors >= 1, 'the compacted watch was reported');
      assert.ok(events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'n6'));
      assert.ok(events.some((e) => e.type === 'DELETED' && e.object.metadata.name === 'n5'));
    } finally {
      await inf.stop();
    }
  });
    describe('applyAll', () => {

    it('writes a batch in one transaction: one revision for all, and unchanged objects are not written', async () => {
      const r = await store.applyAll([node('a1'), node('a2'), booking('alice', 'b1', ['a1'])]);
      assert.deepEqual(r.map((x) => x.action), ['created', 'created', 'created']);
      assert.equal(new Set(r.map((x) => x.object.metadata.resourceVersion)).size, 1, 'one transaction');
      const rev = Number((await etcd.client().get('x').exec()).header.revision);
      const again = await store.applyAll([node('a1'), { ...node('a2'), spec: { address: '10.0.0.2', sshPort: 22 } }]);
      assert.deepEqual(again.map((x) => x.action), ['unchanged', 'configured']);
      assert.equal(Number((await etcd.client().get('x').exec()).header.revision), rev + 1);
    });

    it('writes nothing when one object of the batch lost a race', async () => {
      const stale = (await store.get({ kind: 'Node', name: 'a1' }))!;
      const fresh = structuredClone(stale);
      fresh.spec!.sshPort = 2022;
      await store.update(fresh);
      const rev = Number((await etcd.client().get('x').exec()).header.revision);
      stale.spec!.sshPort = 2023; // carries the old resourceVersion: a precondition that no longer holds
      await assert.rejects(store.applyAll([node('a3'), stale]), ConflictError);
      assert.equal(Number((await etcd.client().get('x').exec()).header.revision), rev, 'nothing written, not even a3');
      assert.equal(await store.get({ kind: 'Node', name: 'a3' }), undefined);
    });

    it('refuses an object given twice', async () => {
      await assert.rejects(store.applyAll([node('a4'), node('a4')]), /given twice in one apply/);
    });
  });
});
