// Power saving end to end: the real operator powers a node with no booking ahead off after the
// idle time, and wakes it so that it is Ready at its next booking's planned start. Once with
// simulated nodes (wake-on-LAN: a magic packet to 127.0.0.1 boots one after its boot time), once
// with a real node daemon and admin commands that stop and start that daemon by its PID.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterConfig, KiwiEvent, Store } from '../../../crds/api/index.js';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureBuilt, distScript } from '../../helpers/build.js';
import { startOperator, mkBooking, mkNode, type OperatorProc } from '../../integration/operator/helpers.js';

const config = (power: NonNullable<ClusterConfig['spec']>['power']): ClusterConfig => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: { power } });
const phase = async (store: Store, n: string) => (await store.get({ kind: 'Node', name: n }))?.status?.phase;
const eventAt = (evs: KiwiEvent[], reason: string) => {
  const e = evs.find((x) => x.reason === reason);
  return e ? Date.parse(e.time) : undefined;
};

describe('power saving end to end', function () {
  this.timeout(120_000);
  let etcd: TestEtcd;
  let op: OperatorProc;
  let store: Store;
  beforeEach(async () => {
    ensureBuilt();
    etcd = await startEtcd();
    store = etcd.store();
  });
  afterEach(async () => {
    await op?.stop();
    await etcd?.stop();
  });

  it('simulated nodes: powered off after the idle time, woken by wake-on-LAN and Ready at the planned start', async () => {
    const wolPort = await freePort();
    await store.create(config({ enabled: true, idleTime: 2, bootTime: 4, resumeTimeout: 30, action: 'wakeOnLan' }));
    op = startOperator(etcd.endpoint, { id: 'power-sim', leaseTtl: 1, logLevel: 'info' });
    const sim = spawn(process.execPath, [distScript('kiwi-node-daemon'), '--simulate', '3', '--node-name', 'pw', '--endpoints', etcd.endpoint, '--lease-ttl', '1', '--metrics-addr', 'none', '--simulate-wol-port', String(wolPort), '--simulate-boot-time', '2'], { stdio: 'ignore' });
    try {
      // No booking ahead: every node goes Off on its own, and Off is not NotReady.
      await waitFor(async () => (await store.list('Node')).filter((n) => n.status?.phase === 'Off').length === 3, { timeoutMs: 30_000, what: 'all 3 simulated nodes Off' });
      const n1 = (await store.get({ kind: 'Node', name: 'pw-1' }))!;
      assert.equal(n1.status?.power?.cycles, 1);
      assert.equal(n1.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'PoweredOff');
      const offEvents = await store.listEvents({ kind: 'Node', name: 'pw-1' });
      assert.ok(!offEvents.some((e) => e.reason === 'NodeNotReady'), 'powered off on purpose is no alarm');

      // A reservation on pw-1 in 12 s: the node stays off until bootTime before it, then is Ready by then.
      const start = Math.ceil((Date.now() + 12_000) / 1000) * 1000;
      await store.create(mkBooking('kiwitest-pw', 'r1', { nodes: ['pw-1'], start: new Date(start).toISOString(), duration: 60 }));
      await waitFor(async () => (await store.get({ kind: 'Booking', namespace: 'kiwitest-pw', name: 'r1' }))?.status?.phase === 'Pending', { what: 'the reservation Pending' });
      assert.equal(await phase(store, 'pw-1'), 'Off', 'not woken sooner than it needs');
      await waitFor(async () => (await store.get({ kind: 'Booking', namespace: 'kiwitest-pw', name: 'r1' }))?.status?.phase === 'Active', { timeoutMs: 30_000, what: 'the reservation Active' });
      const evs = await store.listEvents({ kind: 'Node', name: 'pw-1' });
      const resuming = eventAt(evs, 'Resuming')!;
      const ready = eventAt(evs, 'Resumed')!;
      assert.ok(resuming >= start - 4000 - 1000 && resuming < start - 2000, `woken bootTime (4 s) before its start: ${start - resuming} ms before`);
      assert.ok(ready <= start, `Ready ${start - ready} ms before its planned start`);
      const b = (await store.get({ kind: 'Booking', namespace: 'kiwitest-pw', name: 'r1' }))!;
      assert.equal(Date.parse(b.status!.startTime!), start, 'started at the planned start');

      // A booking that wants pw-2 now: planned at now + bootTime (exact), woken at once, Ready by then.
      const asked = Date.now();
      await store.create(mkBooking('kiwitest-pw', 'q1', { nodes: ['pw-2'], duration: 60 }));
      const q = await waitFor(async () => {
        const x = await store.get({ kind: 'Booking', namespace: 'kiwitest-pw', name: 'q1' });
        return x?.status?.phase === 'Pending' && x.status.startTime ? x : undefined;
      }, { what: 'q1 Pending with a planned start' });
      const qStart = Date.parse(q.status!.startTime!);
      assert.ok(qStart - asked >= 3000 && qStart - asked < 8000, `planned ${qStart - asked} ms after it was asked: boot time included`);
      await waitFor(async () => (await store.get({ kind: 'Booking', namespace: 'kiwitest-pw', name: 'q1' }))?.status?.phase === 'Active', { timeoutMs: 30_000, what: 'q1 Active' });
      // The simulated node boots in 2 s, sooner than the 4 s bootTime: a queued booking then starts
      // when the node is up, as in any slot freed early; never later than shown.
      const q1 = (await store.get({ kind: 'Booking', namespace: 'kiwitest-pw', name: 'q1' }))!;
      const ready2 = eventAt(await store.listEvents({ kind: 'Node', name: 'pw-2' }), 'Resumed')!;
      assert.ok(ready2 <= qStart, `pw-2 Ready ${qStart - ready2} ms before q1's planned start`);
      assert.ok(Date.parse(q1.status!.startTime!) <= qStart && Date.parse(q1.status!.startTime!) >= ready2 - 1000, 'started once the node was up, not later than shown');
      assert.equal(await phase(store, 'pw-0'), 'Off', 'the node nothing needs stays off');
    } finally {
      await stopProc(sim);
    }
  });

  it('a real node daemon: powered off and on by admin commands that stop and start it by PID', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiwitest-power-e2e-'));
    let daemonPid: number | undefined;
    try {
      const pidFile = join(dir, 'daemon.pid');
      const ethtoolLog = join(dir, 'ethtool.log');
      // A stand-in ethtool: shows a card with wake-on-LAN off, records what it is told.
      const ethtool = join(dir, 'ethtool');
      writeFileSync(ethtool, `#!/bin/sh\necho "$@" >> ${ethtoolLog}\n[ "$1" = "-s" ] && exit 0\nprintf 'Settings for %s:\\n\\tSupports Wake-on: pumbg\\n\\tWake-on: d\\n' "$1"\n`);
      chmodSync(ethtool, 0o755);
      const daemonArgv = [process.execPath, distScript('kiwi-node-daemon'), '--endpoints', etcd.endpoint, '--node-name', 'pd1', '--address', '127.0.0.1', '--state-dir', join(dir, 'state'), '--lease-ttl', '1', '--metrics-addr', 'none', '--no-pam', '--only-users-matching', '^kiwitest-', '--ethtool', ethtool, '--wol-interface', 'kiwitest0'];
      const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const on = join(dir, 'power-on');
      writeFileSync(on, `#!/bin/sh\n# power-on NODE ADDRESS: start the node's daemon in the background\n[ "$1" = pd1 ] || exit 2\nKIWI_TEST=1 setsid ${daemonArgv.map(q).join(' ')} >> ${dir}/daemon.log 2>&1 < /dev/null &\necho $! > ${pidFile}\n`);
      const off = join(dir, 'power-off');
      writeFileSync(off, `#!/bin/sh\n# power-off NODE ADDRESS: stop the node's daemon\n[ "$1" = pd1 ] || exit 2\nkill -TERM "$(cat ${pidFile})"\n`);
      chmodSync(on, 0o755);
      chmodSync(off, 0o755);
      const pid = () => Number(readFileSync(pidFile, 'utf8'));

      await store.create(mkNode('pd1', { address: '127.0.0.1' }));
      await store.create(config({ enabled: true, idleTime: 3, bootTime: 6, resumeTimeout: 30, action: 'commands', commands: { powerOff: [off], powerOn: [on], timeout: 10 } }));
      const started = spawn('/bin/sh', [on, 'pd1', '127.0.0.1'], { stdio: 'ignore' });
      await new Promise((r) => started.once('exit', r));
      daemonPid = pid();
      await waitFor(async () => (await store.get({ kind: 'Node', name: 'pd1' }))?.status?.conditions?.find((c) => c.type === 'WakeOnLan')?.reason === 'Restored', { timeoutMs: 20_000, what: 'the daemon restored wake-on-LAN and says so in its Node' });
      assert.match(readFileSync(ethtoolLog, 'utf8'), /^-s kiwitest0 wol g$/m);

      op = startOperator(etcd.endpoint, { id: 'power-real', leaseTtl: 1, logLevel: 'info' });
      await waitFor(async () => (await phase(store, 'pd1')) === 'Off', { timeoutMs: 30_000, what: 'pd1 powered off (its daemon stopped) after the idle time' });
      await waitFor(() => !isAlive(daemonPid!), { what: 'the power-off command stopped the daemon' });

      const start = Math.ceil((Date.now() + 12_000) / 1000) * 1000;
      await store.create(mkBooking('kiwitest-pd', 'r1', { nodes: ['pd1'], start: new Date(start).toISOString(), duration: 60 }));
      await waitFor(async () => (await phase(store, 'pd1')) === 'Ready', { timeoutMs: 30_000, what: 'pd1 Ready again' });
      daemonPid = pid();
      assert.ok(isAlive(daemonPid), 'the power-on command started a daemon');
      const evs = await store.listEvents({ kind: 'Node', name: 'pd1' });
      assert.ok(eventAt(evs, 'Resumed')! <= start, 'Ready before the planned start');
      await waitFor(async () => (await store.get({ kind: 'Booking', namespace: 'kiwitest-pd', name: 'r1' }))?.status?.phase === 'Active', { timeoutMs: 30_000, what: 'r1 Active' });
      await waitFor(async () => (await store.get({ kind: 'Node', name: 'pd1' }))?.status?.booking?.name === 'r1', { what: 'the woken daemon to report the booking it holds' });
      assert.equal(readFileSync(ethtoolLog, 'utf8').match(/^-s kiwitest0 wol g$/gm)?.length, 2, 'wake-on-LAN restored at every start');
    } finally {
      if (daemonPid && isAlive(daemonPid)) {
        process.kill(daemonPid, 'SIGTERM');
        await waitFor(() => !isAlive(daemonPid!), { timeoutMs: 10_000, what: 'the test daemon to stop' }).catch(() => process.kill(daemonPid!, 'SIGKILL'));
      }
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    }
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

