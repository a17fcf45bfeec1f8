// The PAM login gate end to end: real etcd, the real kiwi-node-daemon (bundled from
// node-daemon/src/main.ts), a real sshd on 127.0.0.1 with its own PAM service
// (/etc/pam.d/kiwitest-sshd, stack edited by installPam), key authentication, pamtester on
// /etc/pam.d/kiwitest-pam, and real kiwitest-pam-* users.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keys, type CalendarEntry, type ClusterConfig, type Store } from '../../../crds/api/index.js';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureUser, deleteUser, type TestUser } from '../../helpers/users.js';
import { authorize, clientKey, pamtester, removePamService, ssh, sshdAvailable, startSshd, writePamService, type TestSshd } from '../../helpers/sshd.js';
import { installHelper, installPam } from '../../../node-daemon/src/pam/install.js';

const NODE = 'kiwitest-pam-n1';
const SSHD_SERVICE = 'kiwitest-sshd';
const PAMTESTER_SERVICE = 'kiwitest-pam';
const HELPER_TIMEOUT_S = 1;

// Debian bookworm's stock /etc/pam.d/sshd (comments taken out): note `pam_env user_readenv=1`
// in the session stack, which puts the user's ~/.pam_environment into the PAM environment before
// Kiwi's session hook (appended last by installPam) runs. installPam puts Kiwi's account lines in
// front of the account stack, as it does on a node.
const BASE = `# Kiwi e2e test service (removed by the test)
@include common-auth
account    required     pam_nologin.so
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session    required     pam_loginuid.so
session    optional     pam_keyinit.so force revoke
@include common-session
session    optional     pam_motd.so  motd=/run/motd.dynamic
session    optional     pam_motd.so noupdate
session    optional     pam_mail.so standard noenv # [1]
session    required     pam_limits.so
session    required     pam_env.so # [1]
session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so open
@include common-password
`;

/** Writes the node's calendar as the operator does: {node, entries} at keys.calendar(node). */
async function putCalendar(store: Store, node: string, entries: CalendarEntry[]): Promise<void> {
  await store.etcd.put(keys.calendar(node)).value(JSON.stringify({ node, entries: [...entries].sort((x, y) => x.start - y.start) }));
}

async function putConfig(store: Store, spec: ClusterConfig['spec']): Promise<void> {
  const ref = { kind: 'ClusterConfig' as const, name: 'default' };
  const cur = await store.get(ref);
  if (!cur) await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec });
  else await store.update({ ...cur, spec });
}

let seq = 0;
/** A calendar entry; its uid names the booking cgroup (e2e-<pid>-<n>, removed in after()). */
function entry(user: string, start: number, end: number): CalendarEntry {
  seq++;
  return { booking: `${user}/bk-${process.pid}-${seq}`, uid: `e2e-${process.pid}-${seq}`, user, start, end };
}

describe('PAM login gate (e2e: real sshd, pamtester, etcd, daemon)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let store: Store;
  let sshd: TestSshd;
  let dir: string;
  let key: string;
  let alice: TestUser, bob: TestUser, admin: TestUser;
  let daemon: { proc: ChildProcess; logs: string[] } | undefined;
  let modulePath: string;
  const sock = () => join(dir, 'run', 'pam.sock');
  const stateDir = () => join(dir, 'state');
  const bypassFile = () => join(stateDir(), 'pam-bypass');
  const login = (u: TestUser) => ssh(sshd.port, key, u.name);
  const acct = (user: string) => pamtester(PAMTESTER_SERVICE, user);

  const allDaemons: ChildProcess[] = [];
  async function startDaemon(): Promise<void> {
    await stopDaemon();
    // The daemon's own sources through tsx: the same program as the bundle in dist/, without
    // depending on a build of the whole repository being current.
    const args = ['--import', 'tsx', 'node-daemon/src/main.ts', '--endpoints', etcd.endpoint, '--node-name', NODE, '--address', '127.0.0.1', '--state-dir', stateDir(), '--pam-socket', sock(), '--only-users-matching', '^kiwitest-pam-', '--log-level', 'debug', '--lease-ttl', '2'];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, KIWI_TEST: '1' } });
    const logs: string[] = [];
    proc.stdout!.on('data', (d) => logs.push(String(d)));
    proc.stderr!.on('data', (d) => logs.push(String(d)));
    allDaemons.push(proc);
    daemon = { proc, logs };
    await waitFor(
      () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the daemon exited: ${logs.join('').slice(-2000)}`);
        return existsSync(sock()) && existsSync(bypassFile());
      },
      { timeoutMs: 15_000, what: 'the daemon to serve PAM checks' },
    ).catch((e) => {
      throw new Error(`${e.message}\n${logs.join('').slice(-2000)}`);
    });
  }
  async function stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (daemon) await stopProc(daemon.proc, signal, 8000);
    daemon = undefined;
  }
  /** Waits until the daemon's answer for `user` through the PAM stack is `allowed`. */
  const daemonSays = (user: string, allowed: boolean) => waitFor(async () => ((await acct(user)).code === 0) === allowed, { timeoutMs: 15_000, what: `pamtester ${user} ${allowed ? 'allowed' : 'denied'}` });

  before(async function () {
    const missing = sshdAvailable() ?? (existsSync('/usr/bin/pamtester') ? undefined : 'pamtester missing') ?? (existsSync('/usr/include/security/pam_modules.h') ? undefined : 'gcc or libpam0g-dev missing (apt-get install -y gcc libpam0g-dev)');
    if (missing) {
      console.error(`skipping the PAM e2e tests: ${missing}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-pame2e-'));
    etcd = await startEtcd();
    store = etcd.store();
    alice = ensureUser('pam-alice');
    bob = ensureUser('pam-bob');
    admin = ensureUser('pam-admin');
    key = clientKey(dir).key;
    const pub = readFileSync(key + '.pub', 'utf8');
    for (const u of [alice, bob, admin]) authorize(u, pub);

    // The module as installed on a node (built here, root-owned, 0644), and the PAM stacks through the installer.
    const helper = join(dir, 'pam_kiwi.so');
    installHelper({ root: '/', dest: helper });
    modulePath = helper;
    const helperArgs = [`--socket=${sock()}`, `--bypass-file=${bypassFile()}`, `--timeout=${HELPER_TIMEOUT_S}`];
    for (const service of [SSHD_SERVICE, PAMTESTER_SERVICE]) {
      writePamService(service, BASE);
      assert.equal(installPam({ root: '/', service, helperPath: helper, helperArgs, session: service === SSHD_SERVICE }).changed, true);
    }

    await putConfig(store, { sshBypassUsers: [admin.name], killWaitSeconds: 1 });
    const now = Date.now();
    await putCalendar(store, NODE, [entry(alice.name, now - 60_000, now + 3_600_000)]);
    await startDaemon();
    sshd = await startSshd({ service: SSHD_SERVICE });
    await daemonSays(alice.name, true);
    await waitFor(() => readFileSync(bypassFile(), 'utf8').includes(`allow ${admin.name}\n`), { what: 'the bypass file to list the admin' });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      console.error('--- daemon log (tail) ---\n' + (daemon?.logs.join('').split('\n').slice(-40).join('\n') ?? '(not running)'));
      console.error('--- sshd log (tail) ---\n' + sshd?.log().split('\n').slice(-30).join('\n'));
    }
  });

  after(async () => {
    await stopDaemon();
    for (const p of allDaemons) await stopProc(p, 'SIGKILL');
    await sshd?.stop();
    await etcd?.stop();
    removePamService(SSHD_SERVICE);
    removePamService(PAMTESTER_SERVICE);
    for (const u of ['pam-alice', 'pam-bob', 'pam-admin']) deleteUser(u);
    // the booking cgroups of these tests' entries (named by harness.entry: e2e-<pid>-<n>), once empty
    for (const base of ['/sys/fs/cgroup/unified/kiwi', '/sys/fs/cgroup/kiwi']) {
      if (!existsSync(base)) continue;
      for (const d of readdirSync(base)) {
        if (d.startsWith(`e2e-${process.pid}-`)) {
          try {
            rmdirSync(join(base, d));
          } catch {
            /* not empty */
          }
        }
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the socket 0600 and keeps the bypass file 0600', () => {
    assert.equal(statSync(sock()).mode & 0o777, 0o600);
    assert.equal(statSync(bypassFile()).mode & 0o777, 0o600);
  });

  it('lets the booked user in over ssh and through pamtester', async () => {
    const r = await login(alice);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await acct(alice.name)).code, 0);
  });

  it('adopts the booked user\'s ssh login into the booking\'s cgroup (session hook)', async function () {
    const cal = JSON.parse(String(await store.etcd.get(keys.calendar(NODE)))) as { entries: { uid: string; user: string }[] };
    const entryUid = cal.entries.find((e) => e.user === alice.name)!.uid;
    // Each ancestor of the remote shell: pid, uid, cgroup v2 path.
    const script = 'p=$$; while [ "$p" -gt 1 ]; do u=$(awk \'/^Uid:/{print $2}\' /proc/$p/status); c=$(grep "^0::" /proc/$p/cgroup); echo "$p $u $c"; p=$(cut -d" " -f4 /proc/$p/stat); done';
    const r = await ssh(sshd.port, key, alice.name, script);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split(' '));
    const inBooking = (row: string[]) => row[2]?.endsWith(`/kiwi/${entryUid}`);
    if (!rows.length || !rows[0][2]?.startsWith('0::')) {
      console.log('    (skipped: no cgroup v2 on this machine, so there is no booking cgroup to adopt into)');
      this.skip();
    }
    assert.ok(inBooking(rows[0]), `the shell is not in the booking's cgroup:\n${r.stdout}`);
    // The daemon's periodic adoption moves only the user's own processes; a root-owned sshd
    // process in the booking's cgroup was put there by the session hook.
    assert.ok(rows.some((row) => row[1] === '0' && inBooking(row)), `no root-owned sshd ancestor in the booking's cgroup:\n${r.stdout}`);
  });

  it('LD_PRELOAD from ~/.pam_environment (pam_env user_readenv=1) never loads as root; the login works and is adopted', async function () {
    // A library that leaves a marker named by the effective uid of every process that loads it.
    const lib = mkdtempSync(join(tmpdir(), 'kiwitest-preload-')); // outside the test's 0700 dir: the user must reach it
    const marks = join(lib, 'marks');
    mkdirSync(marks, { recursive: true, mode: 0o777 });
    chmodSync(lib, 0o755);
    chmodSync(marks, 0o1777);
    writeFileSync(join(lib, 'mark.c'), `#include <fcntl.h>\n#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void mark(void) { char p[512]; snprintf(p, sizeof p, "${marks}/euid-%d-pid-%d", (int)geteuid(), (int)getpid()); int fd = open(p, O_CREAT | O_WRONLY, 0644); if (fd >= 0) close(fd); }\n`);
    execFileSync('gcc', ['-shared', '-fPIC', '-o', join(lib, 'mark.so'), join(lib, 'mark.c')]);
    chmodSync(join(lib, 'mark.so'), 0o755);
    const home = execFileSync('getent', ['passwd', alice.name], { encoding: 'utf8' }).split(':')[5];
    const envFile = join(home, '.pam_environment');
    writeFileSync(envFile, `LD_PRELOAD DEFAULT=${join(lib, 'mark.so')}\n`);
    chownSync(envFile, alice.uid, alice.uid);
    try {
      const r = await ssh(sshd.port, key, alice.name, 'echo "preload=$LD_PRELOAD"; grep "^0::" /proc/self/cgroup');
      assert.equal(r.code, 0, r.stderr);
      const byUid = readdirSync(marks).map((m) => Number(/^euid-(\d+)-/.exec(m)![1]));
      // the control: pam_env did pass the variable on, and the user's own shell loaded the library
      assert.match(r.stdout, new RegExp(`preload=${join(lib, 'mark.so')}`), 'pam_env put LD_PRELOAD into the session');
      assert.ok(byUid.includes(alice.uid), `the user's own processes loaded it (markers: ${readdirSync(marks).join(', ')})`);
      assert.ok(!byUid.includes(0), `a root process loaded the user's library: ${readdirSync(marks).join(', ')}`);
      const cal = JSON.parse(String(await store.etcd.get(keys.calendar(NODE)))) as { entries: { uid: string; user: string }[] };
      const entryUid = cal.entries.find((e) => e.user === alice.name)!.uid;
      if (/^0::/m.test(r.stdout)) assert.match(r.stdout, new RegExp(`^0::.*/${entryUid}$`, 'm'), 'the login is in the booking\'s cgroup');
    } finally {
      rmSync(envFile, { force: true });
      rmSync(lib, { recursive: true, force: true });
    }
  });

  it('never asks a socket that is not root\'s in a root-only directory (a fake socket answering "allow")', async () => {
    const fake = mkdtempSync(join(tmpdir(), 'kiwitest-fakesock-'));
    const asked: string[] = [];
    const serve = async (path: string) => {
      const srv = createServer((c) => c.on('data', (d) => (asked.push(`${path}: ${String(d).trim()}`), c.end('allow booked\n'))));
      await new Promise<void>((r) => srv.listen(path, r));
      return srv;
    };
    const service = 'kiwitest-pam-fake';
    const servers: Server[] = [];
    try {
      chmodSync(fake, 0o755);
      const cases: [string, (sock: string, d: string) => void, boolean][] = [
        ['a socket owned by the user', (sock) => chownSync(sock, bob.uid, bob.uid), false],
        ['a root socket in a directory the user owns', (_s, d) => chownSync(d, bob.uid, bob.uid), false],
        ['a root socket in a directory others may write', (_s, d) => chmodSync(d, 0o777), false],
        ['a root socket in a root-only directory (the control)', () => undefined, true],
      ];
      for (const [what, spoil, trusted] of cases) {
        const d = mkdtempSync(join(fake, 'd-'));
        chmodSync(d, 0o755);
        const sock = join(d, 'pam.sock');
        servers.push(await serve(sock));
        spoil(sock, d);
        writePamService(service, `account required ${modulePath} --socket=${sock} --bypass-file=${join(fake, 'none')} --timeout=1\n`);
        asked.length = 0;
        const r = await pamtester(service, bob.name);
        assert.equal(r.code === 0, trusted, `${what}: pamtester exit ${r.code} ${r.stderr}`);
        assert.equal(asked.length, trusted ? 1 : 0, `${what}: asked ${JSON.stringify(asked)}`);
      }
    } finally {
      for (const srv of servers) await new Promise<void>((r) => srv.close(() => r()));
      removePamService(service);
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it('refuses another user, who sees who holds the node until when and how to book it', async () => {
    const r = await login(bob);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`kiwi: node ${NODE} is booked by ${alice.name} until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d(:\\d\\d)? UTC; book it with: kiwictl alloc -w ${NODE}`));
    const p = await acct(bob.name);
    assert.notEqual(p.code, 0);
    assert.match(p.stdout + p.stderr, /kiwi: node .* is booked by/);
  });

  it('refuses a user whose booking just ended at the next login', async () => {
    const end = Date.now() + 3000;
    await putCalendar(store, NODE, [entry(alice.name, Date.now() - 60_000, end)]);
    await waitFor(() => daemon!.logs.join('').includes(new Date(end).toISOString()), { what: 'the daemon to see the new calendar' });
    assert.equal((await login(alice)).code, 0);
    await waitFor(() => Date.now() > end + 50, { timeoutMs: 10_000, what: 'the end of the booking' });
    const r = await login(alice);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`kiwi: you have no booking on node ${NODE} now`));
  });

  it('with the daemon stopped: the bypass user, root and system users get in; nobody else does', async () => {
    await putCalendar(store, NODE, [entry(alice.name, Date.now() - 60_000, Date.now() + 3_600_000)]);
    await daemonSays(alice.name, true);
    await stopDaemon('SIGTERM');
    assert.equal(existsSync(sock()), false);
    const a = await login(admin);
    assert.equal(a.code, 0, a.stderr);
    for (const u of ['root', 'daemon']) assert.equal((await acct(u)).code, 0, u);
    for (const u of [alice, bob]) {
      const r = await login(u);
      assert.notEqual(r.code, 0, u.name);
      assert.match(r.stderr, /kiwi: the booking daemon of this node is not answering/);
    }
  });

  it('the same after a SIGKILL, which leaves the socket file behind', async () => {
    await startDaemon();
    await daemonSays(alice.name, true);
    await stopDaemon('SIGKILL');
    assert.equal(existsSync(sock()), true);
    assert.equal((await login(admin)).code, 0);
    const r = await login(alice);
    assert.notEqual(r.code, 0);
    assert.ok(r.ms < HELPER_TIMEOUT_S * 1000, `a refused connection should fail fast, took ${r.ms} ms`);
  });

  it('a hung daemon does not hang a login past the helper timeout', async () => {
    rmSync(sock(), { force: true });
    const held: Socket[] = [];
    const hung: Server = createServer((c) => held.push(c)); // accepts, reads nothing, never answers
    await new Promise<void>((r) => hung.listen(sock(), r));
    try {
      const r = await login(bob);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /not answering/);
      assert.ok(r.ms >= HELPER_TIMEOUT_S * 1000, `refused after ${r.ms} ms, before the helper gave up?`);
      assert.ok(r.ms < HELPER_TIMEOUT_S * 1000 + 2500, `login took ${r.ms} ms`);
      const a = await login(admin); // read from the bypass file first: no wait at all
      assert.equal(a.code, 0);
      assert.ok(a.ms < HELPER_TIMEOUT_S * 1000, `bypass login took ${a.ms} ms`);
    } finally {
      for (const c of held) c.destroy();
      await new Promise<void>((r) => hung.close(() => r()));
    }
  });

  it('a restarted daemon answers again from etcd', async () => {
    await startDaemon();
    await daemonSays(alice.name, true);
    assert.equal((await login(alice)).code, 0);
    assert.notEqual((await login(bob)).code, 0);
  });
});
