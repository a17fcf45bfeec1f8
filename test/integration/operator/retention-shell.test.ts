// The retention controller's I/O against a real etcd, in-process with a fake clock: compaction
// behind a revision it sampled a history ago (and never for a new leader), old events and usage
// records deleted in batches while younger ones stay, and nothing written once deposed.
import assert from 'node:assert/strict';
import type { Store } from '../../../crds/api/index.js';
import { keys, logger } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { ClusterCache } from '../../../operator/src/reconcile/index.js';
import { RetentionController, KEYS_PER_TXN } from '../../../operator/src/retention/index.js';

describe('retention controller against a real etcd (in-process, fake clock)', function () {
  this.timeout(30_000);
  let etcd: TestEtcd;
  let store: Store;
  let cache: ClusterCache;
  let now = Date.parse('2026-06-01T12:00:00Z');
  const clock = { now: () => now };
  const log = logger('test', 'silent');
  let fence: { key: string; createRevision: number };

  before(async () => {
    etcd = await startEtcd();
    store = etcd.store();
    const r = await store.txn('lead', [], [{ request_put: { key: Buffer.from(keys.election()), value: Buffer.from('{"id":"t"}') } }]);
    fence = { key: keys.election(), createRevision: Number(r.header.revision) };
    cache = new ClusterCache(store, () => undefined, log);
    await cache.start();
  });
  after(async () => {
    await cache?.stop();
    await etcd?.stop();
  });

  const controller = (f = fence) => new RetentionController({ store, fence: f, cache, log, clock });
  const put = (k: string) => etcd.client().put(k).value('x').exec();
  const compacted = async (rev: number) => {
    try {
      await etcd.client().get('/any').revision(String(rev)).exec();
      return false;
    } catch (e) {
      assert.match((e as Error).message, /compacted/);
      return true;
    }
  };

  it('compacts to the revision it sampled a history ago, not sooner, never backwards', async () => {
    const c = controller();
    await put(keys.heartbeat('n1'));
    const r1 = cache.revision;
    assert.ok(r1 > 1);
    await c.compact(now, true, 60); // first sample: nothing is a history old yet
    assert.equal(c.stats.compactions, 0);
    for (let i = 0; i < 5; i++) await put(keys.heartbeat('n1'));
    now += 30_000;
    await c.compact(now, true, 60);
    assert.equal(c.stats.compactions, 0, 'half a history later: still nothing');
    now += 31_000;
    await c.compact(now, true, 60);
    assert.deepEqual([c.stats.compactions, c.stats.compactedTo], [1, r1]);
    assert.equal(await compacted(r1 - 1), true, 'history before the sampled revision is gone');
    assert.equal(await compacted(r1), false, 'the sampled revision itself is kept');
    await c.compact(now, true, 60);
    assert.equal(c.stats.compactions, 1, 'nothing new to compact');
  });

  it('does not compact when compactEtcd is off', async () => {
    const c = controller();
    await c.compact(now, false, 60);
    await put(keys.heartbeat('n1'));
    now += 61_000;
    await c.compact(now, false, 60);
    assert.equal(c.stats.compactions, 0);
  });

  it('deletes events and usage records past their retention in batches, and keeps the younger', async () => {
    const c = controller();
    const old = '2026-01-01T00:00:00Z';
    const young = '2026-06-01T11:59:00Z';
    const n = KEYS_PER_TXN + 30; // more than one transaction's worth
    for (let i = 0; i < n; i++) await put(keys.event({ kind: 'Booking', namespace: 'gone', name: `b${i}` }, `${old}-0000000${i}`));
    await put(keys.event({ kind: 'Node', name: 'n1' }, `${young}-00000001`));
    await put(keys.event({ kind: 'Node', name: 'n1' }, 'not-a-time'));
    await c.deleteOldEvents(Date.parse('2026-03-01T00:00:00Z'));
    const left = (await etcd.client().getAll().prefix(keys.eventsRoot()).keys()).sort();
    assert.deepEqual(left, [keys.event({ kind: 'Node', name: 'n1' }, `${young}-00000001`), keys.event({ kind: 'Node', name: 'n1' }, 'not-a-time')]);
    assert.equal(c.stats.eventsDeleted, n);

    for (let i = 0; i < 3; i++) await put(keys.usage(`2020-01-0${i + 1}T00:00:00.000Z`, 'alice', `b${i}.1`));
    await put(keys.usage('2026-05-01T00:00:00.000Z', 'alice', 'b9.1'));
    await c.deleteOldRecords(keys.usage('2021-01-01T00:00:00.000Z', '', ''));
    assert.deepEqual(await etcd.client().getAll().prefix(keys.usagePrefix()).keys(), [keys.usage('2026-05-01T00:00:00.000Z', 'alice', 'b9.1')]);
  });

  it('writes nothing once its fence is gone (a deposed leader)', async () => {
    let deposed = 0;
    const c = new RetentionController({ store, fence: { ...fence, createRevision: fence.createRevision + 1 }, cache, log, clock, onDeposed: () => deposed++ });
    await put(keys.event({ kind: 'Node', name: 'n2' }, '2020-01-01T00:00:00Z-00000001'));
    await c.deleteOldEvents(now);
    assert.equal(deposed, 1);
    assert.equal(c.stats.eventsDeleted, 0);
    assert.equal((await etcd.client().getAll().prefix(keys.eventPrefix({ kind: 'Node', name: 'n2' })).keys()).length, 1);
  });
});
