// kiwictl node install / uninstall / install-pam end to end into a temporary root directory:
// the files land, the installed copy of the daemon really runs (and registers its Node with a
// real etcd), a second install changes nothing, and uninstall leaves the PAM file byte for
// byte as it was.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, fakeRoot, kiwictl, PAM_SSHD } from './cli.js';
import { asUser } from './booking-helpers.js';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';

describe('kiwictl node install (into a temporary root)', function () {
  this.timeout(60_000);
  let root: string;
  let etcd: TestEtcd;
  let user: TestUser;
  before(async function () {
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: installing the PAM module needs root-owned files)');
      this.skip();
    }
    await ensureBuilt();
    root = fakeRoot();
    etcd = await startEtcd();
    user = ensureUser('inst-user');
  });
  after(async () => {
    if (root) rmSync(root, { recursive: true, force: true });
    await etcd?.stop();
  });

  it('installs the daemon, its unit, settings, the PAM helper and the PAM check', async () => {
    const r = await kiwictl(['node', 'install', '--root', root, '--endpoints', etcd.endpoint, '--node-name', 'inst1', '--pam']);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['usr/bin/kiwi-node-daemon', 'usr/bin/kiwictl', 'usr/lib/kiwi/dist/kiwi-node-daemon.js', 'usr/lib/kiwi/pam_kiwi.so', 'usr/lib/kiwi/share/node-daemon/pam/pam_kiwi.c', 'etc/systemd/system/kiwi-node-daemon.service', 'etc/kiwi/kiwi.env', 'var/lib/kiwi/installed-files.json'])
      assert.ok(existsSync(join(root, f)), `${f} missing`);
    assert.equal(statSync(join(root, 'usr/lib/kiwi/pam_kiwi.so')).mode & 0o777, 0o644);
    assert.match(readFileSync(join(root, 'etc/kiwi/kiwi.env'), 'utf8'), new RegExp(`^KIWI_ENDPOINTS=${etcd.endpoint}$`, 'm'));
    assert.match(readFileSync(join(root, 'etc/kiwi/kiwi.env'), 'utf8'), /^KIWI_NODE_NAME=inst1$/m);
    assert.match(readFileSync(join(root, 'etc/systemd/system/kiwi-node-daemon.service'), 'utf8'), /ExecStart=\/usr\/bin\/kiwi-node-daemon/);
    const pam = readFileSync(join(root, 'etc/pam.d/sshd'), 'utf8');
    assert.match(pam, /# BEGIN kiwi[^\n]*\naccount \[success=1 default=ignore\] pam_succeed_if.so quiet uid eq 0\naccount required \/usr\/lib\/kiwi\/pam_kiwi.so\n# END kiwi\naccount {4}required {5}pam_nologin.so\n/);
    assert.equal(readFileSync(join(root, 'etc/pam.d/sshd.kiwi-backup'), 'utf8'), PAM_SSHD);
    assert.match(r.stdout, /next: systemctl daemon-reload/);
  });

  it('the installed copy of the daemon runs on its own and registers its Node', async () => {
    const state = mkdtempSync(join(tmpdir(), 'kiwitest-inst-state-'));
    const p = spawn(process.execPath, [join(root, 'usr/lib/kiwi/dist/kiwi-node-daemon.js'), '--node-name', 'inst1', '--endpoints', etcd.endpoint, '--state-dir', state, '--no-pam', '--lease-ttl', '2'], {
      cwd: tmpdir(), // not the checkout: it must need nothing from it
      env: { PATH: process.env.PATH!, KIWI_TEST: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    p.stderr!.on('data', (d) => (log += d));
    try {
      const store = etcd.store();
      const n = await waitFor(async () => {
        const x = await store.get({ kind: 'Node', name: 'inst1' });
        return x?.status?.capacity ? x : undefined;
      }, { timeoutMs: 15_000, what: `Node inst1 registered with its capacity (daemon log: ${log.slice(-500)})` });
      assert.ok(n.status!.capacity!.cpus! >= 1, 'CPUs detected');
    } finally {
      await stopProc(p);
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('a second install changes nothing', async () => {
    const before = readFileSync(join(root, 'etc/pam.d/sshd'), 'utf8');
    const r = await kiwictl(['node', 'install', '--root', root, '--endpoints', etcd.endpoint, '--node-name', 'inst1', '--pam']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nothing changed/);
    assert.match(r.stdout, /has the Kiwi check already/);
    assert.equal(readFileSync(join(root, 'etc/pam.d/sshd'), 'utf8'), before);
  });

  it('refuses bad input with a clear error and writes nothing', async () => {
    const other = fakeRoot();
    try {
      let r = await kiwictl(['node', 'install', '--root', other], { env: { KIWI_ENDPOINTS: '' } });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /needs the etcd endpoints/);
      r = await kiwictl(['node', 'install', '--root', other, '--endpoints', 'http://x:1', '--node-name', 'a b']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /"a b": only letters, digits/);
      assert.equal(existsSync(join(other, 'usr/lib/kiwi')), false, 'nothing written');
      writeFileSync(join(other, 'etc/pam.d/sshd'), '#%PAM-1.0\n@include common-auth\n');
      r = await kiwictl(['node', 'install-pam', '--root', other]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /has no account stack/);
      r = await kiwictl(['node', 'install-pam', '--root', other, '--timeout', '0;rm']);
      assert.equal(r.code, 2);
      // A user is not root: on the real system the verbs refuse (exit 7) before touching anything.
      r = await asUser(user, ['node', 'install', '--endpoints', 'http://127.0.0.1:1'], {});
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.stderr, /run it as root/);
      r = await asUser(user, ['node', 'uninstall-pam'], {});
      assert.equal(r.code, 7, r.stderr);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('uninstall removes every file it installed and restores the PAM file exactly', async () => {
    const r = await kiwictl(['node', 'uninstall', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(root, 'etc/pam.d/sshd'), 'utf8'), PAM_SSHD);
    for (const f of ['usr/bin/kiwi-node-daemon', 'usr/bin/kiwictl', 'usr/lib/kiwi', 'etc/systemd/system/kiwi-node-daemon.service', 'etc/kiwi', 'var/lib/kiwi/installed-files.json'])
      assert.equal(existsSync(join(root, f)), false, `${f} left behind`);
    const again = await kiwictl(['node', 'uninstall', '--root', root]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /not installed here/);
  });
});
