// Power saving's shell (operator/src/power/act.ts) against the real things: a UDP socket on
// 127.0.0.1 receives the wake-on-LAN packet, admin commands run as real processes (no shell,
// killed at their timeout), and a failure lands in a real etcd as a Warning event and the
// node's PowerAction condition.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DEFAULT_POWER, guaranteedUpdateStatus, logger, type PowerSettings, type Store } from '../../../crds/api/index.js';
import { PowerActor, runCommand, sendWakeOnLan } from '../../../operator/src/power/act.js';
import { magicPacket } from '../../../crds/api/wol.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { mkNode } from './helpers.js';

describe('power saving: acting (wake-on-LAN packet, admin commands, failures as events)', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kiwitest-power-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const script = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  it('sends the magic packet, 6 x 0xFF then the MAC 16 times, over UDP to the address and port given', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind({ address: '127.0.0.1', port: 0 }, r));
    const got = new Promise<Buffer>((r) => sock.once('message', r));
    try {
      await sendWakeOnLan('00:1A-2b:3C:4d:5E', '127.0.0.1', (sock.address() as AddressInfo).port);
      const msg = await got;
      assert.equal(msg.length, 102);
      assert.deepEqual([...msg.subarray(0, 6)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
      for (let i = 0; i < 16; i++) assert.deepEqual([...msg.subarray(6 + 6 * i, 12 + 6 * i)], [0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e], `repetition ${i}`);
      assert.deepEqual(msg, magicPacket('00:1a:2b:3c:4d:5e'));
    } finally {
      sock.close();
    }
    assert.throws(() => magicPacket('00:1a:2b:3c:4d'), /is not six hex pairs/);
  });

  it('runs a command without a shell, with the node name and address last, and kills it at its timeout', async () => {
    const out = join(dir, 'args');
    const rec = script('rec', `printf '%s\\n' "$@" > ${out}`);
    const ok = await runCommand([rec, '--chassis', 'power off'], ['n1', '10.0.0.1; rm -rf /'], 5000);
    assert.equal(ok.ok, true);
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), ['--chassis', 'power off', 'n1', '10.0.0.1; rm -rf /']); // one argument each, nothing interpreted
    const slow = script('slow', 'exec sleep 30');
    const t0 = Date.now();
    const r = await runCommand([slow], ['n1', 'a'], 300);
    assert.equal(r.ok, false);
    assert.match(r.message, /timed out after 0.3s and was killed/);
    assert.ok(Date.now() - t0 < 5000, 'killed at its timeout, not left to finish');
    const fails = await runCommand([script('fails', 'echo "BMC unreachable" >&2; exit 3')], ['n1', 'a'], 5000);
    assert.match(fails.message, /exited 3: BMC unreachable/);
    assert.match((await runCommand([join(dir, 'missing')], [], 1000)).message, /could not be run \(ENOENT\)/);
  });

  describe('outcomes in etcd', () => {
    let etcd: TestEtcd;
    let store: Store;
    before(async () => {
      etcd = await startEtcd();
      store = etcd.store();
      await store.create(mkNode('pn1', { address: 'pn1.lab' }));
    });
    after(async () => etcd?.stop());

    const actor = (settings: PowerSettings) => new PowerActor({ store, log: logger('test', 'silent'), settings: () => settings, node: () => mkNode('pn1', { address: 'pn1.lab' }) });
    const cond = async () => (await store.get({ kind: 'Node', name: 'pn1' }))?.status?.conditions?.find((c) => c.type === 'PowerAction');

    it('a failed power-off command is a Warning event and a False PowerAction condition naming the failure', async () => {
      const a = actor({ ...DEFAULT_POWER, enabled: true, action: 'commands', commands: { powerOff: [script('off-fails', 'echo "PDU says no" >&2; exit 1')], powerOn: ['/bin/true'], timeout: 5 } });
      a.act('pn1', 'off');
      await a.idle();
      const c = await cond();
      assert.equal(c?.status, 'False');
      assert.equal(c?.reason, 'PowerOffFailed');
      assert.match(c!.message!, /off-fails pn1 pn1\.lab exited 1: PDU says no/);
      const evs = await store.listEvents({ kind: 'Node', name: 'pn1' });
      const ev = evs.find((e) => e.reason === 'PowerOffFailed');
      assert.equal(ev?.type, 'Warning');
      assert.match(ev!.message, /power off of node pn1 failed/);
    });

    it('a command that hangs past its timeout fails the same way; one that works sets the condition True, no event', async () => {
      const hang = actor({ ...DEFAULT_POWER, enabled: true, action: 'commands', commands: { powerOff: ['/bin/true'], powerOn: [script('on-hangs', 'exec sleep 30')], timeout: 1 } });
      hang.act('pn1', 'on');
      await hang.idle();
      assert.match((await cond())!.message!, /timed out after 1s and was killed/);
      const before = (await store.listEvents({ kind: 'Node', name: 'pn1' })).length;
      const ok = actor({ ...DEFAULT_POWER, enabled: true, action: 'commands', commands: { powerOff: ['/bin/true'], powerOn: ['/bin/true'], timeout: 5 } });
      ok.act('pn1', 'on');
      await ok.idle();
      await waitFor(async () => (await cond())?.status === 'True', { what: 'PowerAction True' });
      assert.equal((await store.listEvents({ kind: 'Node', name: 'pn1' })).length, before);
    });

    it('a new leader carries out a decided power-on whose outcome was never recorded, and not one that was', async () => {
      const lastOnTime = new Date(Date.now() - 5000).toISOString();
      for (const n of ['pn2', 'pn3']) await store.create(mkNode(n, { address: `${n}.lab` }));
      await guaranteedUpdateStatus(store, { kind: 'Node', name: 'pn2' }, () => ({ phase: 'Resuming', power: { lastOnTime } }));
      const doneAt = new Date(Date.now() - 1000).toISOString();
      await guaranteedUpdateStatus(store, { kind: 'Node', name: 'pn3' }, () => ({ phase: 'Resuming', power: { lastOnTime }, conditions: [{ type: 'PowerAction', status: 'True', reason: 'PoweredOn', message: 'done', lastTransitionTime: doneAt }] }));
      const ran: string[] = [];
      const a = new PowerActor({ store, log: logger('test', 'silent'), settings: () => ({ ...DEFAULT_POWER, enabled: true, action: 'commands', commands: { powerOff: ['/bin/true'], powerOn: ['/bin/true'], timeout: 5 } }), node: (n) => mkNode(n), observe: (what) => ran.push(what) });
      a.resumeUnfinished(await Promise.all(['pn2', 'pn3'].map(async (n) => ({ node: (await store.get({ kind: 'Node', name: n }))! }))));
      await a.idle();
      assert.deepEqual(ran, ['on']);
      assert.equal((await store.get({ kind: 'Node', name: 'pn2' }))?.status?.conditions?.find((c) => c.type === 'PowerAction')?.status, 'True');
      assert.equal((await store.get({ kind: 'Node', name: 'pn3' }))?.status?.conditions?.find((c) => c.type === 'PowerAction')?.lastTransitionTime, doneAt);
    });

    it('wake-on-LAN without a MAC on the node is a failure that says what to set', async () => {
      const a = actor({ ...DEFAULT_POWER, enabled: true });
      a.act('pn1', 'on');
      await a.idle();
      assert.match((await cond())!.message!, /node pn1 has no spec\.wakeOnLan\.mac/);
    });
  });
});
