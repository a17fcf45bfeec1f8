// Backup and restore as docs/operations.md tells an administrator: `kiwictl admin backup FILE`
// against a running Kiwi, everything stopped, `etcdctl snapshot restore` into a fresh data dir,
// etcd started on it, the same operator and node daemon (with their state dirs) started again.
// Then the bookings, calendars and events are as they were, the operator goes on planning and
// ending bookings, and the daemon goes on enforcing, without cleaning up again what it cleaned.
// Real etcd, operator, daemon and kiwitest-* users.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { keys, Store, type Booking, type Calendar } from '../../../crds/api/index.js';
import { ETCD_SERVER_FLAGS } from '../../../crds/api/etcd-server.js';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { killAllOf, sleeper, livePids } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/wait.js';
import { binPath } from '../../helpers/build.js';
import { startDaemon, startOperator, putConfig, tempStateDir, removeDir, type RunningDaemon } from '../daemon/harness.js';
import { mkBooking } from '../../integration/operator/helpers.js';

const NODE = 'kiwitest-restore1';

describe('backup and restore (kiwictl admin backup, etcdctl snapshot restore)', function () {
  this.timeout(120_000);
  let etcd: TestEtcd;
  let restored: { proc: ChildProcess; endpoint: string; dataDir: string } | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let procs: (RunningDaemon | undefined)[] = [];
  const work = mkdtempSync(join(tmpdir(), 'kiwitest-backup-'));
  const stateDir = tempStateDir();

  before(function () {
    // reason: the daemon signals other users' processes, which needs root
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: restoring with a real daemon creates users and signals their processes, as root)');
      this.skip();
    }
    alice = ensureUser('rst-alice');
    bob = ensureUser('rst-bob');
  });
  after(async () => {
    await Promise.all(procs.map((p) => p?.stop('SIGKILL')));
    if (alice) await killAllOf(alice);
    if (bob) await killAllOf(bob);
    if (restored) await stopProc(restored.proc);
    await etcd?.stop();
    removeDir(stateDir);
    rmSync(work, { recursive: true, force: true });
  });

  const booking = (store: Store, ns: string, name: string) => store.get({ kind: 'Booking', namespace: ns, name }) as Promise<Booking | undefined>;
  const phase = (store: Store, ns: string, name: string, p: string) =>
    waitFor(async () => ((await booking(store, ns, name))?.status?.phase === p ? booking(store, ns, name) : undefined), { timeoutMs: 30_000, what: `${ns}/${name} ${p}` });
  const calendar = async (client: Etcd3) => JSON.parse((await client.get(keys.calendar(NODE)).string()) ?? 'null') as Calendar | null;

  it('restores bookings, calendars and events; the operator and the daemon carry on', async () => {
    etcd = await startEtcd();
    const store = etcd.store();
    await putConfig(store, { killWaitSeconds: 1, warnBefore: [] });
    let op = await startOperator(etcd.endpoint);
    let daemon = await startDaemon({ endpoint: etcd.endpoint, node: NODE, stateDir });
    procs.push(op, daemon);
    await waitFor(async () => (await store.get({ kind: 'Node', name: NODE }))?.status?.daemonVersion, { timeoutMs: 20_000, what: 'the daemon to register its Node' });

    // alice holds the node for long; bob had it before and was cleaned up at his end
    await store.create(mkBooking(bob.name, 'before', { nodes: [NODE], duration: 2 }));
    await phase(store, bob.name, 'before', 'Active');
    const bobOld = sleeper(bob);
    await waitFor(() => livePids(bob).includes(bobOld.pid!), { what: "bob's process" });
    await phase(store, bob.name, 'before', 'Expired');
    await waitFor(() => !livePids(bob).includes(bobOld.pid!), { timeoutMs: 15_000, what: "the daemon to end bob's process" });
    await store.create(mkBooking(alice.name, 'long', { nodes: [NODE], duration: 3600 }));
    const aliceActive = (await phase(store, alice.name, 'long', 'Active'))!;
    const calBefore = await calendar(etcd.client());
    assert.equal(calBefore?.entries.length, 1);

    // the backup, while everything runs
    const file = join(work, 'kiwi.db');
    const out = execFileSync(process.execPath, [binPath('kiwictl'), '--endpoints', etcd.endpoint, 'admin', 'backup', file], { encoding: 'utf8' });
    const m = /^snapshot of etcd at revision (\d+) written to (\S+) \((\d+) bytes, sha256 ([0-9a-f]{64})\)$/m.exec(out);
    assert.ok(m, out);
    assert.equal(m[2], file);
    assert.equal(Number(m[3]), statSync(file).size);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const status = JSON.parse(execFileSync('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } }));
    assert.equal(Number(m[1]), status.revision, 'the revision printed is the snapshot’s');

    // the disaster: everything stops, the old data dir is gone
    await op.stop();
    await daemon.stop();
    await etcd.stop();
    rmSync(etcd.dataDir, { recursive: true, force: true });

    // the restore (docs/operations.md): a fresh data dir, etcd started on it
    const [port, peer] = [await freePort(), await freePort()];
    const endpoint = `http://127.0.0.1:${port}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const dataDir = join(work, 'restored');
    execFileSync('etcdctl', ['snapshot', 'restore', file, '--data-dir', dataDir, '--name', 's1', '--initial-cluster', `s1=${peerUrl}`, '--initial-advertise-peer-urls', peerUrl], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'ignore' });
    const proc = spawn('etcd', ['--name', 's1', '--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint, '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `s1=${peerUrl}`, '--logger', 'zap', '--log-level', 'error', ...ETCD_SERVER_FLAGS], { stdio: 'ignore' });
    restored = { proc, endpoint, dataDir };
    await waitFor(async () => (await fetch(`${endpoint}/health`)).ok, { timeoutMs: 15_000, what: 'the restored etcd' });
    const client = new Etcd3({ hosts: endpoint });
    const store2 = new Store(client, { endpoints: [endpoint] });
    try {
      // as it was at the backup
      const a = (await booking(store2, alice.name, 'long'))!;
      assert.deepEqual(a.status, aliceActive.status);
      assert.equal((await booking(store2, bob.name, 'before'))?.status?.phase, 'Expired');
      assert.deepEqual(await calendar(client), calBefore);
      assert.deepEqual((await store2.listEvents({ kind: 'Booking', namespace: bob.name, name: 'before' })).map((e) => e.reason), ['Started', 'TimeLimit']);

      // bob is back on the machine (not booked, not enforced); the same daemon and operator come back
      const bobNew = sleeper(bob);
      const aliceProc = sleeper(alice);
      await waitFor(() => livePids(bob).includes(bobNew.pid!) && livePids(alice).includes(aliceProc.pid!), { what: 'the new processes' });
      const leaseOf = async () => (await client.getAll().prefix(keys.heartbeat(NODE)).exec()).kvs[0]?.lease;
      const oldLease = await leaseOf();
      op = await startOperator(endpoint);
      daemon = await startDaemon({ endpoint, node: NODE, stateDir });
      procs.push(op, daemon);
      // connected: its heartbeat is under a lease of its own (the restored one is the old daemon's)
      await waitFor(async () => { const l = await leaseOf(); return l && l !== oldLease; }, { timeoutMs: 20_000, what: 'the daemon to heartbeat into the restored etcd' });

      // the operator carries on: alice's booking ends when cancelled, the node's queue moves up
      await store2.create(mkBooking(bob.name, 'after', { nodes: [NODE], duration: 600 }));
      const waiting = (await phase(store2, bob.name, 'after', 'Pending'))!;
      assert.ok(waiting.status?.phase === 'Pending');
      const cur = (await booking(store2, alice.name, 'long'))!;
      await store2.update({ ...cur, spec: { ...cur.spec, cancelled: true } });
      await phase(store2, alice.name, 'long', 'Expired');
      // the daemon carries on: alice's process is ended at her booking's end
      await waitFor(() => !livePids(alice).includes(aliceProc.pid!), { timeoutMs: 15_000, what: "the daemon to end alice's process" });
      await phase(store2, bob.name, 'after', 'Active');
      // and bob's process, started after his old booking was cleaned up, was never cleaned again
      assert.ok(livePids(bob).includes(bobNew.pid!), "bob's new process was killed: the restored daemon cleaned up his old booking twice");
      assert.ok(!daemon.records().some((r) => typeof r.msg === 'string' && /clean/i.test(r.msg) && JSON.stringify(r).includes(`${bob.name}/before`)), 'the daemon cleaned up bob/before again');
    } finally {
      client.close();
    }
    assert.ok(existsSync(file));
  });
});
