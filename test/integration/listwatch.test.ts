// The one list-then-watch (crds/api/listwatch.ts) against a real etcd: keys and prefixes read
// at one revision, then every change after it once and in order; a watch whose revision was
// compacted away lists again, and a list that fails then is retried until etcd answers (the
// operator's cache used to log the failed re-snapshot and stay without a watch for good).
import assert from 'node:assert/strict';
import type { IKeyValue } from 'etcd3';
import { ListWatch, type Store, type WatchEvent } from '../../crds/api/index.js';
import { useEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';

describe('list-then-watch (real etcd)', function () {
  this.timeout(20_000);
  const real = useEtcd();

  it('lists keys and prefixes at one revision, then delivers each later change once, in order', async () => {
    const c = real.etcd.client();
    await c.put('/lw1/one').value('a');
    await c.put('/lw1/p/x').value('b');
    await c.put('/lw1/other').value('not listed');
    const lists: { kvs: string[][]; rev: number }[] = [];
    const events: string[] = [];
    const lw = new ListWatch(real.store, {
      what: 'test list',
      list: [{ key: '/lw1/one' }, { prefix: '/lw1/p/' }],
      onList: (kvs, rev) => lists.push({ kvs: kvs.map((k) => k.map((kv) => `${kv.key}=${kv.value}`)), rev }),
      onEvents: (evs) => evs.forEach((e) => events.push(`${e.deleted ? 'del' : 'put'} ${e.kv.key}${e.deleted ? '' : `=${e.kv.value}`}`)),
    });
    await lw.start();
    try {
      assert.deepEqual(lists.map((l) => l.kvs), [[['/lw1/one=a'], ['/lw1/p/x=b']]]);
      const head = Number((await c.get('/lw1/one').exec()).header.revision);
      assert.equal(lists[0].rev, head);
      await c.put('/lw1/p/y').value('c');
      await c.put('/lw1/other').value('ignored');
      await c.delete().key('/lw1/one').exec();
      await waitFor(() => events.length >= 2, { what: 'two events' });
      assert.deepEqual(events, ['put /lw1/p/y=c', 'del /lw1/one']);
      assert.ok(lw.revision > head);
    } finally {
      await lw.stop();
    }
  });

  it('lists again when its watch was compacted away, retrying a list that fails until it succeeds', async () => {
    const c = real.etcd.client();
    await c.put('/lw2/a').value('1');
    let failing = 0;
    const flaky = Object.create(real.store) as Store;
    flaky.txn = (async (...args: Parameters<Store['txn']>) => {
      if (failing > 0) {
        failing--;
        throw new Error('etcd did not answer (test)');
      }
      return real.store.txn(...args);
    }) as Store['txn'];
    const lists: string[][] = [];
    const events: WatchEvent[] = [];
    const failures: number[] = [];
    let broken = 0;
    const lw = new ListWatch(flaky, {
      what: 'test list',
      list: [{ prefix: '/lw2/' }],
      onList: (kvs: IKeyValue[][]) => lists.push(kvs[0].map((kv) => kv.key.toString())),
      onEvents: (evs) => events.push(...evs),
      onBroken: () => broken++,
      onListFailed: (_err, ms) => failures.push(ms),
    });
    await lw.start();
    try {
      const staleFrom = lw.revision;
      const internals = lw as unknown as { cancelWatchers(): Promise<void>; watchFrom(rev: number): Promise<void> };
      await internals.cancelWatchers(); // what it missed meanwhile is compacted away
      await c.put('/lw2/b').value('2');
      await c.delete().key('/lw2/a').exec();
      const head = Number((await c.get('x').exec()).header.revision);
      await c.kv.compact({ revision: head, physical: true });
      failing = 2;
      await internals.watchFrom(staleFrom + 1);
      await waitFor(() => lists.length === 2, { what: 'a second list after the compaction' });
      assert.equal(broken, 1, 'the compacted watch was reported');
      assert.deepEqual(failures, [200, 400], 'two failed lists, retried with backoff');
      assert.deepEqual(lists, [['/lw2/a'], ['/lw2/b']]);
      assert.equal(events.length, 0, 'what the list holds is not replayed as events');
      await c.put('/lw2/c').value('3');
      await waitFor(() => events.length === 1, { what: 'a change after the second list' });
      assert.equal(events[0].kv.key.toString(), '/lw2/c');
    } finally {
      await lw.stop();
    }
  });
});
