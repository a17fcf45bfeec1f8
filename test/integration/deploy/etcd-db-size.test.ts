// etcd's database size against its quota, against a real etcd: the monitor's gauges match what
// etcd's Maintenance Status reports, it warns past 80% and not below; and the real operator,
// told its etcd's quota is small, serves the metrics and records one Warning event on the
// ClusterConfig.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { DbSizeMonitor } from '../../../crds/api/etcd-db-size.js';
import { CLUSTER_CONFIG_NAME } from '../../../crds/api/config.js';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureBuilt, distScript } from '../../helpers/build.js';

function capture() {
  const lines: any[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
  return { log, lines };
}

describe('etcd db size against its quota (real etcd)', function () {
  this.timeout(30_000);
  let etcd: TestEtcd;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => etcd?.stop());

  it('exports the size etcd reports and the quota, and does not warn below 80%', async () => {
    const registry = new Registry();
    const { log, lines } = capture();
    const m = new DbSizeMonitor({ etcd: etcd.client(), registry, log });
    const s = await m.check();
    const st = await etcd.client().maintenance.status();
    assert.equal(s.dbSize, Number(st.dbSize));
    assert.ok(s.dbSize > 0);
    const text = await registry.metrics();
    assert.match(text, new RegExp(`^kiwi_etcd_db_size_bytes ${s.dbSize}$`, 'm'));
    assert.match(text, /^kiwi_etcd_db_quota_bytes 2147483648$/m);
    assert.deepEqual(lines.filter((l) => l.level >= 40), []);
  });

  it('warns once past 80% of the quota, and calls onHigh at every check while above', async () => {
    const size = Number((await etcd.client().maintenance.status()).dbSize);
    const { log, lines } = capture();
    let high = 0;
    const m = new DbSizeMonitor({ etcd: etcd.client(), registry: new Registry(), log, quotaBytes: Math.floor(size / 0.9), onHigh: () => void high++ });
    await m.check();
    await m.check();
    const warns = lines.filter((l) => l.level === 40);
    assert.equal(warns.length, 1);
    assert.match(warns[0].msg, /^etcd's database is \d+ MiB, 90% of its \d+ MiB quota/);
    assert.equal(high, 2);
  });

  it('the operator serves the metrics and its leader records an EtcdDatabaseNearQuota event', async () => {
    ensureBuilt();
    const size = Number((await etcd.client().maintenance.status()).dbSize);
    const port = await freePort();
    const op = spawn(process.execPath, [distScript('kiwi-operator'), '--endpoints', etcd.endpoint, '--lease-ttl', '1', '--metrics-addr', `127.0.0.1:${port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // a quota just above today's size: 90% full
      env: { PATH: process.env.PATH!, KIWI_TEST: '1', KIWI_TEST_DB_SIZE_INTERVAL_MS: '200', KIWI_ETCD_QUOTA_BYTES: String(Math.floor(size / 0.9)) },
    });
    let err = '';
    op.stderr!.on('data', (d) => (err += d));
    try {
      const store = etcd.store();
      const events = await waitFor(async () => {
        const evs = await store.listEvents({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME });
        return evs.length ? evs : undefined;
      }, { timeoutMs: 15_000, what: 'the EtcdDatabaseNearQuota event' });
      assert.equal(events[0].type, 'Warning');
      assert.equal(events[0].reason, 'EtcdDatabaseNearQuota');
      assert.match(events[0].message, /% of its \d+ MiB quota/);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(text, /^kiwi_etcd_db_size_bytes \d+$/m);
      assert.match(text, new RegExp(`^kiwi_etcd_db_quota_bytes ${Math.floor(size / 0.9)}$`, 'm'));
      await waitFor(() => /"msg":"etcd's database is \d+ MiB, 9\d% of its/.test(err), { what: 'the warning log line' });
    } finally {
      await stopProc(op);
    }
  });

  it('the node daemon serves them too, and warns in its log past 80%', async () => {
    ensureBuilt();
    const size = Number((await etcd.client().maintenance.status()).dbSize);
    const port = await freePort();
    const stateDir = mkdtempSync(join(tmpdir(), 'kiwitest-state-'));
    const d = spawn(process.execPath, [distScript('kiwi-node-daemon'), '--endpoints', etcd.endpoint, '--node-name', 'kiwitest-dbsize', '--address', '127.0.0.1', '--state-dir', stateDir,
      '--no-pam', '--only-users-matching', '^kiwitest-', '--metrics-addr', `127.0.0.1:${port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH!, KIWI_TEST: '1', KIWI_ETCD_QUOTA_BYTES: String(Math.floor(size / 0.85)) },
    });
    let err = '';
    d.stderr!.on('data', (c) => (err += c));
    try {
      const text = await waitFor(async () => {
        const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /^kiwi_etcd_db_size_bytes [1-9]\d*$/m.test(t) ? t : undefined;
      }, { timeoutMs: 15_000, what: "the daemon's db-size metric" });
      assert.match(text, new RegExp(`^kiwi_etcd_db_quota_bytes ${Math.floor(size / 0.85)}$`, 'm'));
      await waitFor(() => /"level":40,[^\n]*etcd's database is \d+ MiB, 8\d% of its/.test(err), { what: "the daemon's warning" });
    } finally {
      await stopProc(d);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
