// Cleanup that cannot be outrun (issue 13), end to end: the real daemon against real etcd, real
// kiwitest-* users, and processes that try to escape the end of their booking: a fork racer,
// processes in user namespaces (one under the user's subordinate uids), a double fork, setsid,
// a renamed process; IPC objects left behind; and a calendar entry whose uid is a path ("." or
// "../x") that must not make the daemon kill anything outside the booking.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Store } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { livePidsOfIds, sleeper, spawnAs, termIgnorer } from '../../helpers/procs.js';
import { endTest, entry, putCalendar, putConfig, removeTestCgroups, startDaemon, tempStateDir, type RunningDaemon } from './harness.js';
import { parseCgroup2Mount } from '../../../node-daemon/src/enforce/cgroup.js';
import { parseSubIds } from '../../../node-daemon/src/enforce/owner.js';

const mount = parseCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));

const pidsOf = livePidsOfIds;

describe('kiwi-node-daemon: nothing of the user outlives the booking (e2e)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let store: Store;
  let alice: TestUser;
  let bob: TestUser;
  let subuids: { start: number; count: number }[] = [];
  const started: ChildProcess[] = [];
  const daemons: RunningDaemon[] = [];
  const dirs: string[] = [];
  let n = 0;

  const alicePids = () => pidsOf(alice.uid, subuids);
  const run = async (extra: Partial<Parameters<typeof startDaemon>[0]> = {}) => {
    const stateDir = tempStateDir();
    dirs.push(stateDir);
    const node = `n-esc-${process.pid}-${++n}`;
    const d = await startDaemon({ endpoint: etcd.endpoint, stateDir, node, ...extra });
    daemons.push(d);
    await waitFor(() => d.records().some((r) => r.msg === 'kiwi-node-daemon starting'), { what: 'the daemon to start' });
    return { d, node };
  };
  const as = (u: TestUser, script: string) => {
    const p = spawnAs(u, ['bash', '-c', script]);
    started.push(p);
    return p;
  };
  /** Books the node for alice until `endIn` ms from now and waits for the daemon's cleanup log line. */
  const bookAndEnd = async (d: RunningDaemon, node: string, endIn = 1500) => {
    const e = entry(alice.name, Date.now() - 1000, Date.now() + endIn);
    await putCalendar(store, node, [e]);
    await waitFor(() => d.records().some((r) => r.msg === 'cleaned up' || r.msg?.includes('draining the node')), { what: 'the cleanup to finish', timeoutMs: 20_000 });
    return e;
  };

  before(async function () {
    // reason: creating users and signalling their processes need root
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: these tests create users and signal their processes, as root)');
      this.skip();
    }
    etcd = await startEtcd();
    store = etcd.store();
    alice = ensureUser('dmn-alice');
    bob = ensureUser('dmn-bob');
    subuids = parseSubIds(readFileSync('/etc/subuid', 'utf8'), alice.name, alice.uid);
    await putConfig(store, { killWaitSeconds: 1 });
  });

  afterEach(async function () {
    await endTest(this, { daemons, procs: started, dirs }, [alice, bob], () => (alice ? pidsOf(alice.uid, subuids) : []));
  });

  after(async () => {
    await etcd?.stop();
    removeTestCgroups();
  });

  // A C fork racer: fork, the parent exits at once, the child does the same, forever; each pid
  // lives for microseconds, less than a /proc scan takes, so a scan finds it dead or misses it.
  let racer = '';
  let beat = '';
  /** The racer's chain touched its heartbeat file within the last 400 ms. */
  const racing = () => Date.now() - statSync(beat).mtimeMs < 400;
  before(() => {
    const d = mkdtempSync(join(tmpdir(), 'kiwitest-racer-'));
    chmodSync(d, 0o755);
    // the first process stays as a subreaper that reaps the chain's exited parents at once: PID 1
    // reaps slowly on these machines, and a chain's zombies would fill the pid space meanwhile
    writeFileSync(join(d, 'racer.c'), [
      '#include <fcntl.h>', '#include <signal.h>', '#include <sys/prctl.h>', '#include <sys/stat.h>', '#include <sys/wait.h>', '#include <unistd.h>',
      `#define HEARTBEAT "${join(d, 'beat')}"`,
      'int main(void) {',
      '  signal(SIGTERM, SIG_IGN); prctl(PR_SET_CHILD_SUBREAPER, 1);',
      // the chain touches a heartbeat file every 50 hops (about 10 times a second): how the test sees it
      '  if (fork() == 0) for (unsigned n = 0;; n++) { pid_t p = fork(); if (p > 0) _exit(0); if (n % 50 == 0) utimensat(AT_FDCWD, HEARTBEAT, NULL, 0); usleep(p < 0 ? 10000 : 2000); }',
      '  for (;;) if (wait(NULL) < 0) usleep(1000);',
      '}', ''].join('\n'));
    execFileSync('gcc', ['-O2', '-o', join(d, 'racer'), join(d, 'racer.c')]);
    writeFileSync(join(d, 'beat'), '');
    chmodSync(join(d, 'beat'), 0o666);
    racer = join(d, 'racer');
    beat = join(d, 'beat');
  });
  after(() => racer && rmSync(dirname(racer), { recursive: true, force: true }));

  const escapes: [string, string, number][] = [
    ['a fast fork racer (C: fork, the parent exits, each pid lives microseconds)', 'RACER', 1],
    // each: what, the bash script run as alice, how many of alice's processes to wait for
    ['a process forking continuously (SIGTERM ignored)', `trap '' TERM; while :; do sleep 0.3 & sleep 0.01; done`, 2],
    ['a double fork (reparented to init)', `( ( trap '' TERM; exec sleep 100000 ) & ) ; sleep 100000`, 2],
    ['setsid (a new session, no controlling terminal)', `setsid -f bash -c "trap '' TERM; exec sleep 100000"; exec sleep 100000`, 2],
    ['a renamed process (exec -a and prctl via perl $0)', `( exec -a '[kworker/0:1-events]' sleep 100000 ) & exec perl -e '$0 = "sshd: root [priv]"; $SIG{TERM}="IGNORE"; sleep 100000'`, 2],
    ['a user namespace mapping the user to root inside (unshare -U -r)', `exec unshare -U -r bash -c "trap '' TERM; exec sleep 100000"`, 1],
  ];
  for (const [what, script, count] of escapes) for (const mode of ['cgroups', 'no-cgroups'] as const) {
    it(`ends ${what} (${mode})`, async () => {
      const { d, node } = await run(mode === 'no-cgroups' ? { extra: ['--no-cgroups'] } : {});
      as(alice, script === 'RACER' ? `exec ${racer}` : script);
      const rac = script === 'RACER';
      const alive = () => alicePids().length > 0 || (rac && racing());
      await waitFor(() => (rac ? racing() : alicePids().length >= count), { what: `${what} up` });
      await bookAndEnd(d, node);
      assert.ok(d.records().some((r) => r.msg === 'cleaned up' && r.user === alice.name), 'the daemon reports success');
      // success is declared only once nothing is left, not on one lucky scan
      assert.deepEqual(alicePids(), [], `alice still has processes when the daemon reports success (${what})`);
      // and nothing appears afterwards: the racer is gone, not hiding (its heartbeat stops)
      const t = Date.now() + 800;
      await waitFor(() => Date.now() > t, { what: 'a while', timeoutMs: 2000 });
      assert.equal(alive(), false, `something of alice still runs after the cleanup (${what})`);
    });
  }

  it('ends processes under the user\'s subordinate uids (a user namespace from /etc/subuid)', async function () {
    if (!subuids.length) {
      console.log(`    (skipped: ${alice.name} has no range in /etc/subuid)`);
      return this.skip();
    }
    if (!existsSync('/usr/bin/newuidmap')) {
      console.log('    (skipped: newuidmap missing: apt-get install -y uidmap)');
      return this.skip();
    }
    const { d, node } = await run();
    as(alice, `exec unshare --user --map-auto --setuid 1 --setgid 1 bash -c "trap '' TERM; exec sleep 100000"`);
    const inNs = await waitFor(() => pidsOf(-1, subuids)[0], { what: 'a process under a subordinate uid' });
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${inNs}/status`, 'utf8'))![1]);
    assert.ok(uid >= subuids[0].start && uid !== alice.uid, `runs as host uid ${uid}, not ${alice.uid}`);
    await bookAndEnd(d, node);
    await waitFor(() => alicePids().length === 0, { what: 'the subordinate-uid process ended', timeoutMs: 5000 });
  });

  it('removes the user\'s SysV IPC objects and /dev/shm files, and not another user\'s', async function () {
    if (!existsSync('/usr/bin/ipcmk')) {
      console.log('    (skipped: ipcmk missing: apt-get install -y util-linux)');
      return this.skip();
    }
    const ipcmk = (u: TestUser, flag: string) => Number(/(\d+)\s*$/.exec(execFileSync('setpriv', [`--reuid=${u.uid}`, `--regid=${u.uid}`, '--init-groups', '--reset-env', 'ipcmk', ...flag.split(' ')], { encoding: 'utf8' }).trim())![1]);
    const mine = { shm: ipcmk(alice, '-M 4096'), sem: ipcmk(alice, '-S 1'), msg: ipcmk(alice, '-Q') };
    const theirs = ipcmk(bob, '-M 4096');
    execFileSync('setpriv', [`--reuid=${alice.uid}`, `--regid=${alice.uid}`, '--init-groups', '--reset-env', 'sh', '-c', `echo x > /dev/shm/kiwitest-${process.pid}-a; mkfifo /dev/shm/kiwitest-${process.pid}-fifo`]);
    const ids = (kind: string) => readFileSync(`/proc/sysvipc/${kind}`, 'utf8').split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[1])).filter(Number.isInteger);
    try {
      assert.ok(ids('shm').includes(mine.shm) && ids('sem').includes(mine.sem) && ids('msg').includes(mine.msg));
      const { d, node } = await run();
      await bookAndEnd(d, node);
      await waitFor(() => !ids('shm').includes(mine.shm) && !ids('sem').includes(mine.sem) && !ids('msg').includes(mine.msg), { what: 'alice\'s SysV IPC objects removed' });
      assert.ok(!existsSync(`/dev/shm/kiwitest-${process.pid}-a`) && !existsSync(`/dev/shm/kiwitest-${process.pid}-fifo`), 'alice\'s /dev/shm file and FIFO removed');
      assert.ok(ids('shm').includes(theirs), 'bob\'s segment stays');
    } finally {
      try { execFileSync('ipcrm', ['-m', String(theirs)]); } catch { /* gone */ }
    }
  });

  for (const bad of ['.', '../x']) {
    it(`a calendar entry with uid ${JSON.stringify(bad)} does not make the daemon kill outside its cgroup`, async function () {
      if (!mount) {
        console.log('    (skipped: no cgroup v2 here)');
        return this.skip();
      }
      const { d, node } = await run();
      // bob holds the node now, with a process in his booking cgroup (as his PAM login would be)
      const bobs = sleeper(bob);
      const alices = termIgnorer(alice); // so that the cleanup goes on to its cgroup.kill round
      started.push(bobs, alices);
      await waitFor(() => pidsOf(bob.uid).length === 1 && pidsOf(alice.uid).length >= 1, { what: 'processes up' }); // alice's shell forks sleeps
      const now = Date.now();
      const held = entry(bob.name, now - 1000, now + 60_000);
      const hostile = { ...entry(alice.name, now - 2000, now + 3000), uid: bad }; // ends after bob is adopted (every 2 s)
      await putCalendar(store, node, [held, hostile]);
      const bobCg = join(mount, 'kiwi', held.uid);
      await waitFor(() => existsSync(join(bobCg, 'cgroup.procs')) && readFileSync(join(bobCg, 'cgroup.procs'), 'utf8').includes(String(bobs.pid)), { what: 'bob\'s process in his booking cgroup', timeoutMs: 15_000 });
      await waitFor(() => d.records().some((r) => r.msg === 'cleaned up' && r.user === alice.name), { what: 'alice\'s cleanup', timeoutMs: 15_000 });
      assert.deepEqual(pidsOf(alice.uid), [], 'alice\'s process ended (by uid)');
      assert.deepEqual(pidsOf(bob.uid), [bobs.pid], 'bob\'s process, in the sibling cgroup, is untouched');
      assert.ok(d.records().some((r) => r.msg?.includes('not safe cgroup names') && r.entryUids?.includes(bad)), 'the daemon says why it left the cgroup alone');
      assert.ok(!existsSync(join(mount, 'x')) || statSync(join(mount, 'x')).ctimeMs < now, 'nothing created outside kiwi/');
    });
  }

  it('under systemd-style delegation: the daemon moves into a leaf, bookings go beside it, cleanup works there', async function () {
    if (!mount) {
      console.log('    (skipped: no cgroup v2 here)');
      return this.skip();
    }
    const unit = join(mount, `kiwitest-${process.pid}.service`);
    mkdirSync(unit, { recursive: true });
    try {
      const { d, node } = await run({ cgroup: unit, env: { INVOCATION_ID: 'kiwitest' } });
      await waitFor(() => readFileSync(join(unit, 'daemon', 'cgroup.procs'), 'utf8').includes(String(d.proc.pid)), { what: 'the daemon in its leaf' });
      assert.equal(readFileSync(join(unit, 'cgroup.procs'), 'utf8'), '', 'no process in the unit\'s own cgroup (no internal processes)');
      as(alice, `trap '' TERM; while :; do sleep 0.3 & sleep 0.01; done`);
      await waitFor(() => alicePids().length >= 1, { what: 'alice up' });
      const e = entry(alice.name, Date.now() - 1000, Date.now() + 4000);
      await putCalendar(store, node, [e]);
      await waitFor(() => existsSync(join(unit, 'bookings', e.uid, 'cgroup.procs')) && readFileSync(join(unit, 'bookings', e.uid, 'cgroup.procs'), 'utf8').trim() !== '', { what: 'alice adopted into bookings/<uid>', timeoutMs: 10_000 });
      await waitFor(() => d.records().some((r) => r.msg === 'cleaned up' && r.user === alice.name), { what: 'cleanup', timeoutMs: 15_000 });
      assert.deepEqual(alicePids(), []);
      assert.ok(!existsSync(join(unit, 'bookings', e.uid)), 'the booking cgroup is removed once empty');
      assert.ok(!existsSync(join(mount, 'kiwi', e.uid)), 'nothing at the mount\'s root');
    } finally {
      await Promise.all(daemons.map((x) => x.stop('SIGKILL')));
      for (const sub of [join(unit, 'bookings'), join(unit, 'daemon'), unit]) {
        try {
          for (const c of existsSync(sub) ? readdirSync(sub, { withFileTypes: true }).filter((x) => x.isDirectory()) : []) rmdirSync(join(sub, c.name));
          rmdirSync(sub);
        } catch {
          /* not empty: left for the next run */
        }
      }
    }
  });
});
