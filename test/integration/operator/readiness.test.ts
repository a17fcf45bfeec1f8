// A NotReady judged on a stale view of the heartbeat (the operator's watch lagging behind a
// paused etcd member while the daemon's beats land through the others) must not be written:
// the write compares the heartbeat key's mod_revision it judged, so a beat that landed meanwhile
// wins and the node stays Ready. A heartbeat really stopped, or its key gone, is still NotReady.
// Real etcd, the operator's reconcile shell in-process; the lagging watch is the cache's watch
// cancelled (what a stalled stream delivers: nothing).
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { keys, logger, type Store } from '../../../crds/api/index.js';
import { heartbeatValue } from '../../../crds/api/heartbeat.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { Election } from '../../../operator/src/election/election.js';
import { Reconciler } from '../../../operator/src/reconcile/index.js';
import { mkNode } from './helpers.js';

const log = logger('test-operator', 'silent');
const TTL = 1; // seconds: the cache calls a value unchanged for 1.33 s stale

describe('operator readiness: a NotReady compares the heartbeat it judged (real etcd)', function () {
  this.timeout(30_000);
  let etcd: TestEtcd;
  let store: Store;
  let client: Etcd3;
  const beat = (n: string) => client.put(keys.heartbeat(n)).value(JSON.stringify(heartbeatValue(Date.now(), 'test', TTL))).exec();
  const phase = async (n: string) => (await store.get({ kind: 'Node', name: n }))?.status?.phase;

  before(async () => {
    etcd = await startEtcd();
    store = etcd.store();
    client = etcd.client();
  });
  after(async () => etcd?.stop());

  it('keeps a node Ready when a beat landed after its value was judged stale; writes NotReady when none did, or the key is gone', async () => {
    for (const n of ['hb1', 'hb2', 'hb3']) {
      await store.create(mkNode(n));
      await beat(n);
    }
    const el = new Election(etcd.client(), store, { id: 'a', ttlSeconds: 5, log });
    const lead = await el.campaign();
    const rec = new Reconciler({ store, fence: { key: lead.key, createRevision: lead.createRevision }, log });
    try {
      await rec.cache.start();
      await rec.pass(new Set(['resync']));
      for (const n of ['hb1', 'hb2', 'hb3']) assert.equal(await phase(n), 'Ready');

      // The watch stalls; hb1's daemon beats on (through another member), hb2's stops, hb3's key goes.
      await (rec.cache as unknown as { lw: { cancelWatchers(): Promise<void> } }).lw.cancelWatchers();
      await beat('hb1');
      await client.delete().key(keys.heartbeat('hb3')).exec();
      await waitFor(() => ['hb1', 'hb2', 'hb3'].every((n) => rec.cache.nodes().get(n)?.heartbeat === false), { what: 'the cache to judge every heartbeat stale (its watch delivers nothing)' });
      const beating = setInterval(() => void beat('hb1').catch(() => undefined), (TTL * 1000) / 3);
      try {
        const conflicts = rec.stats.conflicts;
        await rec.pass(new Set(['heartbeat:hb1', 'heartbeat:hb2', 'heartbeat:hb3']));
        assert.equal(await phase('hb1'), 'Ready', 'a beat that landed after the judgement wins over the NotReady');
        assert.ok(rec.stats.conflicts > conflicts, 'the NotReady of hb1 lost its compare');
        assert.equal(rec.cache.nodes().get('hb1')?.heartbeat, true, 'the lost compare re-read the heartbeat: hb1 is alive again in the cache');
        // The others went in the same transaction (independent node writes are packed) and are
        // planned again; their keys have not moved, so their NotReady holds.
        await waitFor(async () => {
          await rec.pass(new Set(['heartbeat:hb1', 'heartbeat:hb2', 'heartbeat:hb3']));
          return (await phase('hb2')) === 'NotReady' && (await phase('hb3')) === 'NotReady';
        }, { what: 'hb2 (its value unchanged) and hb3 (its key deleted) NotReady' });
        // Still no watch: each time the cache judges hb1 stale, its NotReady loses to the beat that landed.
        await waitFor(() => rec.cache.nodes().get('hb1')?.heartbeat === false, { what: 'hb1 judged stale again' });
        await rec.pass(new Set(['heartbeat:hb1']));
        assert.equal(await phase('hb1'), 'Ready', 'a beating node is never written NotReady, however far the watch lags');
      } finally {
        clearInterval(beating);
      }
    } finally {
      await rec.stop();
      await el.resign();
    }
  });
});
