// Secure by default. A name for 127.0.0.1 that is not a loopback address by its spelling
// (kiwitest-etcd-remote, added to /etc/hosts for the test and taken out after) stands for an
// etcd elsewhere; every process still binds and talks to 127.0.0.1 only. Against an etcd with
// authentication off, at that name:
// - kiwi-operator and kiwi-node-daemon refuse to start (exit 2, naming --insecure-no-auth);
//   with --insecure-no-auth the operator runs and warns;
// - kiwictl warns once per command; a password on its command line gets a warning;
// - kiwictl node install refuses (nothing written) unless --insecure-no-auth.
// Against an etcd with auth on, node install makes the node's etcd user and credential file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, keys } from '../../../crds/api/index.js';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureBuilt, fakeRoot, kiwictl, ROOT } from '../kiwictl/cli.js';
import { distScript } from '../../helpers/build.js';
import { startAuthCluster, type AuthCluster } from './helpers.js';

const HOSTS = '/etc/hosts';
const REMOTE = 'kiwitest-etcd-remote';
/** Runs a program to its end (or kills it after timeoutMs): exit code and output. */
function runToEnd(args: string[], env: Record<string, string>, timeoutMs = 15_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

describe('secure by default: a non-loopback etcd without authentication', function () {
  this.timeout(90_000);
  let etcd: TestEtcd;
  let remote: string;
  let hostsBackup: string | undefined;
  const dirs: string[] = [];

  before(async function () {
    // reason: it edits /etc/hosts and installs into root-owned temporary roots
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: adds a name to /etc/hosts, as root)');
      this.skip();
    }
    await ensureBuilt();
    hostsBackup = readFileSync(HOSTS, 'utf8');
    if (!hostsBackup.includes(REMOTE)) writeFileSync(HOSTS, `${hostsBackup.replace(/\n?$/, '\n')}127.0.0.1 ${REMOTE} # kiwi test (removed after)\n`);
    etcd = await startEtcd();
    remote = etcd.endpoint.replace('127.0.0.1', REMOTE);
    assert.ok((await fetch(`${remote}/health`)).ok, `${REMOTE} reaches the test etcd`);
  });
  after(async () => {
    if (hostsBackup !== undefined) writeFileSync(HOSTS, hostsBackup);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await etcd?.stop();
  });

  it('kiwi-operator refuses to start; with --insecure-no-auth it leads and warns', async () => {
    const r = await runToEnd([join(ROOT, 'bin/kiwi-operator'), '--endpoints', remote, '--metrics-addr', 'none', '--id', 'sec-a'], {});
    assert.equal(r.code, 2, r.out.slice(-2000));
    assert.match(r.out, /has authentication off: anyone who can reach it can rewrite a node's calendar.*--insecure-no-auth/);
    const c = etcd.client();
    assert.equal((await c.get(keys.election()).exec()).kvs.length, 0, 'it never campaigned');

    const p = spawn(process.execPath, [join(ROOT, 'bin/kiwi-operator'), '--endpoints', remote, '--metrics-addr', 'none', '--id', 'sec-b', '--insecure-no-auth', '--lease-ttl', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    p.stderr!.on('data', (d) => (log += d));
    try {
      await waitFor(async () => JSON.parse((await c.get(keys.election()).string()) ?? '{}').id === 'sec-b', { what: 'the operator leading with --insecure-no-auth' });
      const warn = log.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.level === 40 && /running anyway: --insecure-no-auth/.test(l.msg));
      assert.ok(warn, 'a pino warning at start');
    } finally {
      await stopProc(p, 'SIGTERM');
    }
  });

  it('kiwi-node-daemon refuses to start', async () => {
    const state = mkdtempSync(join(tmpdir(), 'kiwitest-state-'));
    dirs.push(state);
    const r = await runToEnd([distScript('kiwi-node-daemon'), '--endpoints', remote, '--node-name', 'sec-n1', '--state-dir', state, '--no-pam', '--metrics-addr', 'none'], { KIWI_TEST: '1' });
    assert.equal(r.code, 2, r.out.slice(-2000));
    assert.match(r.out, /--insecure-no-auth/);
    assert.equal(await etcd.store().get({ kind: 'Node', name: 'sec-n1' }), undefined, 'it registered nothing');
  });

  it('kiwictl warns once per command; a password on its command line gets a warning', async () => {
    const r = await kiwictl(['--endpoints', remote, 'get', 'nodes']);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('kiwictl: warning: no etcd credentials'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0], /its authentication is off, and anyone who can reach it can rewrite calendars/);
    const local = await kiwictl(['--endpoints', etcd.endpoint, 'get', 'nodes']);
    // (no operator runs here, so the staleness hint may show; no warning about auth may)
    assert.doesNotMatch(local.stderr, /etcd credentials|authentication is off/, `loopback: no auth warning, got ${local.stderr}`);
    const pw = await kiwictl(['--endpoints', etcd.endpoint, '--etcd-user', 'alice', '--etcd-password', 'secret', 'get', 'nodes']);
    assert.match(pw.stderr, /--etcd-password on a command line can be read by every local user .* use --etcd-password-file/);
  });

  it('node install refuses (writes nothing) unless --insecure-no-auth', async () => {
    const root = fakeRoot();
    dirs.push(root);
    const r = await kiwictl(['node', 'install', '--root', root, '--endpoints', remote, '--node-name', 'sec-n2', '--no-start']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /node install: etcd at .* has authentication off.*--insecure-no-auth/);
    assert.ok(!existsSync(join(root, 'etc/kiwi/kiwi.env')) && !existsSync(join(root, 'usr/lib/kiwi')), 'nothing written');
    const ok = await kiwictl(['node', 'install', '--root', root, '--endpoints', remote, '--node-name', 'sec-n2', '--no-start', '--insecure-no-auth']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /running anyway: --insecure-no-auth/);
    assert.match(readFileSync(join(root, 'etc/kiwi/kiwi.env'), 'utf8'), /^KIWI_INSECURE_NO_AUTH=1$/m);
  });
});

describe('secure by default: node install against an etcd with authentication on', function () {
  this.timeout(90_000);
  let c: AuthCluster;
  let root: string;
  before(async function () {
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: installs into a root-owned temporary root)');
      this.skip();
    }
    c = await startAuthCluster(async (k) => {
      const r = await k(['apply', '-f', '-'], { input: 'apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: sec-old}\nspec: {}\n' });
      if (r.code !== 0) throw new Error(r.stderr);
    });
    root = fakeRoot();
  });
  after(async () => {
    if (root) rmSync(root, { recursive: true, force: true });
    await c?.stop();
  });

  it('makes the node daemon\'s etcd user and credential file, named in kiwi.env; the user may write only its own node\'s keys', async () => {
    const r = await c.k(['node', 'install', '--root', root, '--endpoints', c.etcd.endpoint, '--node-name', 'sec-new', '--no-start']);
    assert.equal(r.code, 0, r.stderr);
    const file = join(root, 'etc/kiwi/credentials/kiwi-node-sec-new.yaml');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(readFileSync(join(root, 'etc/kiwi/kiwi.env'), 'utf8'), /^KIWI_ETCD_PASSWORD_FILE=\/etc\/kiwi\/credentials\/kiwi-node-sec-new\.yaml$/m);
    const pw = JSON.parse(/^password:\s*(.*)$/m.exec(readFileSync(file, 'utf8'))![1]);
    const etcd = connect({ endpoints: [c.etcd.endpoint], callTimeoutMs: 3000, auth: { username: 'kiwi-node-sec-new', password: pw } });
    try {
      await etcd.put(keys.heartbeat('sec-new')).value('{}').exec();
      await assert.rejects(etcd.put(keys.heartbeat('sec-old')).value('{}').exec(), /permission denied/i);
      // Registered by the install (as the admin): the node's own user reads its spec, never writes it.
      assert.match(r.stdout, /registered Node sec-new \(address sec-new/);
      const spec = await etcd.get(keys.spec({ kind: 'Node', name: 'sec-new' })).string();
      assert.equal(JSON.parse(spec!).spec.address, 'sec-new');
      await assert.rejects(etcd.put(keys.spec({ kind: 'Node', name: 'sec-new' })).value(spec!.replace('"address":"sec-new"', '"address":"evil"')).exec(), /permission denied/i);
    } finally {
      etcd.close();
    }
    const again = await c.k(['node', 'install', '--root', root, '--endpoints', c.etcd.endpoint, '--node-name', 'sec-new', '--no-start']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing changed/, 'a second install keeps the credentials');
    const un = await c.k(['node', 'uninstall', '--root', root, '--no-stop']);
    assert.equal(un.code, 0, un.stderr);
    assert.ok(!existsSync(file), 'uninstall removes the credential file');
  });

  it('without etcd root credentials it says what it needs', async () => {
    const r2 = fakeRoot();
    try {
      const r = await kiwictl(['node', 'install', '--root', r2, '--endpoints', c.etcd.endpoint, '--node-name', 'sec-x', '--no-start'], { env: { KIWI_CREDENTIALS_DIR: r2 } });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /needs etcd's root user/);
    } finally {
      rmSync(r2, { recursive: true, force: true });
    }
  });
});
