// The systemd units in manifests/systemd: the real `systemd-analyze verify` finds nothing to say
// about them (with their credential drop-ins), and `systemd-analyze security --offline=yes` rates
// the daemon at most 5 and the operator at most 2. systemd need not run: both work offline on a
// temp root holding the units, stub programs and the distribution's own units (sysinit.target...).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distScript, ensureBuilt } from '../../helpers/build.js';

const UNITS = { 'kiwi-node-daemon.service': 5, 'kiwi-operator.service': 2, 'kiwi-web.service': 2 };

describe('systemd units (manifests/systemd)', function () {
  this.timeout(60_000);
  let root = '';
  const analyze = (...args: string[]) => spawnSync('systemd-analyze', args, { encoding: 'utf8' });

  before(function () {
    if (analyze('--version').status !== 0) {
      console.log('      skipped: systemd-analyze is missing (scripts/install-deps.sh installs the systemd package as root)');
      this.skip();
    }
    root = mkdtempSync(join(tmpdir(), 'kiwitest-systemd-'));
    cpSync('/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    cpSync('manifests/systemd', join(root, 'etc/systemd/system'), { recursive: true });
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    for (const p of ['kiwi-node-daemon', 'kiwi-operator', 'kiwi-web']) writeFileSync(join(root, 'usr/bin', p), '#!/bin/sh\n', { mode: 0o755 });
  });
  after(() => root && rmSync(root, { recursive: true, force: true }));

  for (const [unit, max] of Object.entries(UNITS)) {
    it(`${unit}: systemd-analyze verify, with its etcd-auth and etcd-tls drop-ins, says nothing`, () => {
      const r = analyze('verify', `--root=${root}`, `/etc/systemd/system/${unit}`);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', r.stderr);
      // the drop-ins are really read: a bad key in one is reported
      const dropIn = join(root, `etc/systemd/system/${unit}.d/etcd-auth.conf`);
      const good = readFileSync(dropIn, 'utf8');
      writeFileSync(dropIn, good + 'NoSuchSetting=1\n');
      try {
        assert.match(analyze('verify', `--root=${root}`, `/etc/systemd/system/${unit}`).stderr, /Unknown key 'NoSuchSetting'/);
      } finally {
        writeFileSync(dropIn, good);
      }
    });

    it(`${unit}: systemd-analyze security --offline=yes rates it at most ${max}`, () => {
      const r = analyze('security', '--offline=yes', `--root=${root}`, `--threshold=${max * 10}`, unit);
      const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
      assert.ok(m, r.stdout + r.stderr);
      console.log(`      ${unit}: exposure ${m[1]}`);
      assert.ok(Number(m[1]) <= max, `exposure ${m[1]} is above ${max}`);
      assert.equal(r.status, 0, 'above the threshold');
    });
  }

  it('credentials reach the programs through LoadCredential=, under the env names they read', () => {
    for (const unit of Object.keys(UNITS)) {
      const auth = readFileSync(`manifests/systemd/${unit}.d/etcd-auth.conf`, 'utf8');
      assert.match(auth, /^LoadCredential=etcd-credentials:\/etc\/kiwi\/credentials\/\S+\.yaml$/m);
      assert.match(auth, /^Environment=KIWI_ETCD_PASSWORD_FILE=%d\/etcd-credentials$/m);
      const tls = readFileSync(`manifests/systemd/${unit}.d/etcd-tls.conf`, 'utf8');
      for (const k of ['ca', 'cert', 'key']) assert.match(tls, new RegExp(`^LoadCredential=etcd-${k}:/etc/kiwi/etcd-tls/`, 'm'));
      assert.match(tls, /KIWI_ETCD_CA=%d\/etcd-ca KIWI_ETCD_CERT=%d\/etcd-cert KIWI_ETCD_KEY=%d\/etcd-key/);
    }
    // the names the programs read: each program's own --help lists an option's variable as (env: NAME)
    ensureBuilt();
    for (const p of ['kiwi-operator', 'kiwi-node-daemon', 'kiwi-web'] as const) {
      const help = spawnSync(process.execPath, [distScript(p), '--help'], { encoding: 'utf8' }).stdout.replace(/\s+/g, ' '); // help wraps lines
      for (const v of ['KIWI_ETCD_PASSWORD_FILE', 'KIWI_ETCD_CA', 'KIWI_ETCD_CERT', 'KIWI_ETCD_KEY']) assert.ok(help.includes(`(env: ${v})`), `${p} --help names no option read from ${v}`);
    }
  });
});
