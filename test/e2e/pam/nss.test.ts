// Users from the system's user database, through a second NSS source: Debian's
// libnss-extrausers (/var/lib/extrausers/passwd, `extrausers` added to nsswitch.conf's passwd
// and group lines for the test, restored after). kiwitest-nss (uid 43210) and kiwitest-nsssys
// (uid 950, below minUid) exist only there, not in /etc/passwd. With the real operator, the real
// daemon and pamtester through the installed PAM helper:
// - kiwitest-nss's booking is admitted and goes Active; PAM lets it in during the booking and
//   not after; its process is killed at the end;
// - kiwitest-nsssys is a system user to every part alike: its booking is Rejected (uid 950,
//   below minUid) and PAM lets it in without a booking, as it does /etc/passwd's system users.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../../crds/api/index.js';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { pamtester, removePamService, writePamService } from '../../helpers/sshd.js';
import { distScript, ensureBuilt } from '../../helpers/build.js';
import { installHelper, installPam } from '../../../node-daemon/src/pam/install.js';
import { mkBooking, mkNode, startOperator, type OperatorProc } from '../../integration/operator/helpers.js';
import { putConfig } from '../daemon/harness.js';

const NSSWITCH = '/etc/nsswitch.conf';
const EXTRA_DIR = '/var/lib/extrausers';
const USER = { name: 'kiwitest-nss', uid: 43210 };
const SYS = { name: 'kiwitest-nsssys', uid: 950 };
const NODE = 'kiwitest-nss-n1';
const SERVICE = 'kiwitest-nss';

const extrausersInstalled = () => ['/usr/lib/libnss_extrausers.so.2', '/lib/x86_64-linux-gnu/libnss_extrausers.so.2', '/usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2'].some(existsSync);
const getentUid = (name: string) => {
  try {
    return Number(execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).split(':')[2]);
  } catch {
    return undefined;
  }
};

describe('users from NSS: a user only a second source (extrausers) knows', function () {
  this.timeout(90_000);
  let etcd: TestEtcd;
  let store: Store;
  let dir: string;
  let nsswitchBackup: string | undefined;
  let extraBackup: string | undefined;
  let op: OperatorProc | undefined;
  let daemon: ChildProcess | undefined;
  const logs: string[] = [];
  const procs: ChildProcess[] = [];

  before(async function () {
    // reason: it edits /etc/nsswitch.conf and /var/lib/extrausers, runs the daemon and pamtester, as root
    if (process.getuid?.() !== 0 || !extrausersInstalled() || !existsSync('/usr/bin/pamtester')) {
      console.log('    (skipped: needs root, libnss-extrausers and pamtester: apt-get install -y libnss-extrausers pamtester)');
      this.skip();
    }
    assert.ok(!readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${USER.name}:`) || l.startsWith(`${SYS.name}:`)), 'the test users are not in /etc/passwd');
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-nss-'));
    // The second source, and nsswitch.conf naming it (restored in after()).
    nsswitchBackup = join(dir, 'nsswitch.conf');
    copyFileSync(NSSWITCH, nsswitchBackup);
    mkdirSync(EXTRA_DIR, { recursive: true });
    if (existsSync(join(EXTRA_DIR, 'passwd'))) {
      extraBackup = join(dir, 'extrausers-passwd');
      copyFileSync(join(EXTRA_DIR, 'passwd'), extraBackup);
    }
    writeFileSync(join(EXTRA_DIR, 'passwd'), [USER, SYS].map((u) => `${u.name}:x:${u.uid}:${u.uid}::${dir}:/bin/sh\n`).join(''));
    writeFileSync(join(EXTRA_DIR, 'group'), [USER, SYS].map((u) => `${u.name}:x:${u.uid}:\n`).join(''));
    const text = readFileSync(NSSWITCH, 'utf8');
    writeFileSync(NSSWITCH, text.replace(/^(passwd|group):(.*)$/gm, (l, _k, v) => (/\bextrausers\b/.test(v) ? l : `${l} extrausers`)));
    assert.equal(getentUid(USER.name), USER.uid, 'getent finds the extrausers user');

    etcd = await startEtcd();
    store = etcd.store();
    await putConfig(store, { killWaitSeconds: 1, minUid: 1000 });
    await store.create(mkNode(NODE, { address: '127.0.0.1' }));

    // The PAM module as installed on a node, on a pamtester service whose account stack is Kiwi's.
    const helper = join(dir, 'pam_kiwi.so');
    const sock = join(dir, 'run', 'pam.sock');
    const bypass = join(dir, 'state', 'pam-bypass');
    installHelper({ root: '/', dest: helper });
    writePamService(SERVICE, '# Kiwi e2e test service (removed by the test)\naccount required pam_permit.so\n');
    installPam({ root: '/', service: SERVICE, helperPath: helper, helperArgs: [`--socket=${sock}`, `--bypass-file=${bypass}`, '--timeout=1'] });

    op = startOperator(etcd.endpoint, { id: 'nss-op', leaseTtl: 1 });
    daemon = spawn(process.execPath, [distScript('kiwi-node-daemon'), '--endpoints', etcd.endpoint, '--node-name', NODE, '--state-dir', join(dir, 'state'), '--pam-socket', sock, '--only-users-matching', '^kiwitest-nss', '--lease-ttl', '2', '--metrics-addr', 'none', '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, KIWI_TEST: '1' } });
    daemon.stdout!.on('data', (d) => logs.push(String(d)));
    daemon.stderr!.on('data', (d) => logs.push(String(d)));
    await waitFor(async () => existsSync(sock) && (await store.get({ kind: 'Node', name: NODE }))?.status?.phase === 'Ready', { timeoutMs: 20_000, what: 'the daemon serving PAM, the node Ready' });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      console.error('--- daemon log (tail) ---\n' + logs.join('').split('\n').slice(-40).join('\n'));
      console.error('--- operator log (tail) ---\n' + (op?.logs.slice(-20).map((l) => JSON.stringify(l)).join('\n') ?? ''));
    }
  });

  after(async () => {
    for (const p of procs) await stopProc(p, 'SIGKILL');
    if (daemon) await stopProc(daemon, 'SIGTERM', 8000);
    await op?.stop();
    await etcd?.stop();
    if (nsswitchBackup && existsSync(nsswitchBackup)) copyFileSync(nsswitchBackup, NSSWITCH);
    if (extraBackup) copyFileSync(extraBackup, join(EXTRA_DIR, 'passwd'));
    else rmSync(join(EXTRA_DIR, 'passwd'), { force: true });
    rmSync(join(EXTRA_DIR, 'group'), { force: true });
    removePamService(SERVICE);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const phase = (ns: string, name: string) => waitFor(async () => {
    const b = await store.get({ kind: 'Booking', namespace: ns, name });
    return b?.status?.phase ? b : undefined;
  }, { timeoutMs: 15_000, what: `${ns}/${name} answered` });
  const pamAllows = async (user: string) => (await pamtester(SERVICE, user)).code === 0;

  it('a system uid known only to extrausers is a system user to admission and PAM alike', async () => {
    await store.create(mkBooking(SYS.name, 'sys', { nodes: [NODE], duration: 60 }));
    const b = await phase(SYS.name, 'sys');
    assert.equal(b.status!.reason, 'Rejected');
    assert.match(b.status!.message!, /kiwitest-nsssys has uid 950, below minUid 1000/);
    assert.equal(await pamAllows(SYS.name), true, 'let in without a booking, as /etc/passwd\'s system users are');
  });

  it('admits the extrausers user, lets it in during its booking only, and ends its process at the end', async () => {
    assert.equal(await pamAllows(USER.name), false, 'no booking yet: denied');
    await store.create(mkBooking(USER.name, 'bk', { nodes: [NODE], duration: 6 }));
    const b = await phase(USER.name, 'bk');
    assert.equal(b.status!.phase, 'Active', b.status!.message);
    await waitFor(() => pamAllows(USER.name), { timeoutMs: 10_000, what: 'PAM lets kiwitest-nss in during its booking' });
    const p = spawn('setpriv', [`--reuid=${USER.uid}`, `--regid=${USER.uid}`, '--clear-groups', '--reset-env', 'sleep', '300'], { stdio: 'ignore' });
    procs.push(p);
    const exited = new Promise<NodeJS.Signals | null>((r) => p.once('exit', (_c, s) => r(s)));
    const end = Date.parse(b.status!.endTime!);
    const signal = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), end - Date.now() + 10_000))]);
    assert.notEqual(signal, 'timeout', 'its process was ended');
    assert.ok(Date.now() >= end, 'not before the end');
    // (its log line may reach us after the process's exit)
    await waitFor(() => logs.join('').includes(`"user":"${USER.name}","uid":${USER.uid}`), { what: 'the daemon\'s cleanup, with the uid it resolved through NSS' });
    await waitFor(async () => !(await pamAllows(USER.name)), { timeoutMs: 10_000, what: 'PAM denies kiwitest-nss after its booking' });
  });
});
