// The daemon's simulated-node mode (kiwi-node-daemon --simulate N): one process registers N
// virtual nodes that heartbeat and hold bookings but enforce nothing on the host.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureBuilt, distScript } from '../../helpers/build.js';
import { startOperator, mkBooking, type OperatorProc } from '../../integration/operator/helpers.js';

describe('kiwi-node-daemon --simulate (virtual nodes)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let op: OperatorProc;
  before(async () => {
    ensureBuilt();
    etcd = await startEtcd();
    op = startOperator(etcd.endpoint, { id: 'sim-test', leaseTtl: 1, logLevel: 'warn' });
  });
  after(async () => {
    await op?.stop();
    await etcd?.stop();
  });

  it('registers N Ready nodes that take bookings, and they go NotReady when it stops', async () => {
    const store = etcd.store();
    const sim = spawn(process.execPath, [distScript('kiwi-node-daemon'), '--simulate', '50', '--node-name', 'vn', '--endpoints', etcd.endpoint, '--lease-ttl', '1', '--metrics-addr', 'none'], { stdio: 'ignore' });
    try {
      await waitFor(async () => (await store.list('Node')).filter((n) => n.status?.phase === 'Ready').length === 50, { timeoutMs: 20_000, what: '50 virtual nodes Ready' });
      const names = (await store.list('Node')).map((n) => n.metadata.name).sort();
      assert.equal(names[0], 'vn-00');
      assert.equal(names[49], 'vn-49');
      await store.create(mkBooking('kiwitest-sim', 'b1', { nodes: ['vn-07'], duration: 600 }));
      await waitFor(async () => (await store.get({ kind: 'Booking', namespace: 'kiwitest-sim', name: 'b1' }))?.status?.phase === 'Active', { what: 'a booking on a virtual node Active' });
    } finally {
      await stopProc(sim);
    }
    // its one lease is revoked on SIGTERM: every virtual node loses its heartbeat
    await waitFor(async () => (await store.list('Node')).every((n) => n.status?.phase === 'NotReady'), { timeoutMs: 15_000, what: 'all virtual nodes NotReady' });
  });
});
