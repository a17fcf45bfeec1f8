// The kill path's own guard: whatever a caller asks, enforce/ refuses to signal root, system
// users, bypass users and (test mode) users outside the guard, before touching any process.
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG } from '../../../crds/api/index.js';
import { assertMayTouch, signalUser, sweepUser } from '../../../node-daemon/src/enforce/sweep.js';
import { logger } from '../../../crds/api/index.js';
import { cgroupLayout, parsePopulated, parseSelfCgroup } from '../../../node-daemon/src/enforce/cgroup.js';
import { isEntryUid } from '../../../crds/api/keys.js';
import { isOwners, parseSubIds } from '../../../node-daemon/src/enforce/owner.js';
import { parseSysvipc } from '../../../node-daemon/src/enforce/ipc.js';

const log = logger('test', 'silent');
const guard = { config: { ...DEFAULT_CONFIG, sshBypassUsers: ['ops'] }, onlyUsers: /^kiwitest/ };

describe('node-daemon enforce guard', () => {
  const cases: [string, number, RegExp][] = [
    ['root', 0, /root is never touched/],
    ['daemon', 1, /below minUid/],
    ['ops', 1500, /sshBypassUsers/],
    ['alice', 1001, /does not match --only-users-matching/],
  ];
  for (const [user, uid, why] of cases) {
    it(`refuses ${user} (uid ${uid})`, async () => {
      assert.throws(() => assertMayTouch(user, uid, guard), why);
      await assert.rejects(sweepUser({ user, uid, entryUids: [], killWaitMs: 0, timeoutMs: 0, guard, log }), why);
      assert.throws(() => signalUser(user, uid, 'SIGUSR1', guard), why);
    });
  }
  it('lets a kiwitest user through', () => {
    assert.doesNotThrow(() => assertMayTouch('kiwitest-x', 1500, guard));
  });
});

describe('booking cgroup layout (cgroupLayout, pure)', () => {
  const base = { mount: '/sys/fs/cgroup', systemd: false, invocationId: false };
  it('under systemd with Delegate=yes: the daemon in a leaf of its unit, bookings beside it', () => {
    const l = cgroupLayout({ ...base, systemd: true, invocationId: true, selfCgroup: '/system.slice/kiwi-node-daemon.service' });
    assert.deepEqual(l, {
      subtree: '/sys/fs/cgroup/system.slice/kiwi-node-daemon.service',
      bookings: '/sys/fs/cgroup/system.slice/kiwi-node-daemon.service/bookings',
      daemonLeaf: '/sys/fs/cgroup/system.slice/kiwi-node-daemon.service/daemon',
      park: '/sys/fs/cgroup/system.slice/kiwi-node-daemon.service/daemon',
      why: 'the delegated subtree of kiwi-node-daemon.service (Delegate=yes)',
    });
  });
  it('a daemon restarted inside its unit, already in the leaf, finds the same subtree', () => {
    const l = cgroupLayout({ ...base, systemd: true, invocationId: true, selfCgroup: '/system.slice/kiwi-node-daemon.service/daemon' });
    assert.ok(!('none' in l) && l.bookings === '/sys/fs/cgroup/system.slice/kiwi-node-daemon.service/bookings');
  });
  it('on a hybrid host without systemd: <mount>/kiwi, wherever the cgroup2 mount is', () => {
    const l = cgroupLayout({ ...base, mount: '/sys/fs/cgroup/unified', selfCgroup: '/' });
    assert.ok(!('none' in l));
    assert.equal(l.bookings, '/sys/fs/cgroup/unified/kiwi');
    assert.equal(l.park, '/sys/fs/cgroup/unified');
    assert.equal(l.daemonLeaf, undefined);
  });
  it('under systemd but not in a delegated unit (run by hand): no cgroups, never the root systemd reserves', () => {
    const l = cgroupLayout({ ...base, systemd: true, selfCgroup: '/user.slice/user-0.slice/session-3.scope' });
    assert.match((l as { none: string }).none, /not in a delegated unit.*Delegate=yes/);
    const noInvocation = cgroupLayout({ ...base, systemd: true, selfCgroup: '/system.slice/kiwi-node-daemon.service' });
    assert.ok('none' in noInvocation);
  });
  it('no cgroup2 mount, or no 0:: line: none, with the reason', () => {
    assert.match((cgroupLayout({ ...base, mount: undefined, selfCgroup: '/' }) as { none: string }).none, /no cgroup2 mount/);
    assert.match((cgroupLayout({ ...base, selfCgroup: undefined }) as { none: string }).none, /no cgroup v2 line/);
  });
  it('reads /proc/self/cgroup and cgroup.events', () => {
    assert.equal(parseSelfCgroup('9:name=systemd:/\n0::/system.slice/x.service\n'), '/system.slice/x.service');
    assert.equal(parseSelfCgroup('1:cpu:/\n'), undefined);
    assert.equal(parsePopulated('populated 1\nfrozen 0\n'), true);
    assert.equal(parsePopulated('populated 0\nfrozen 1\n'), false);
  });
});

describe('entry uids used as cgroup names (isEntryUid)', () => {
  for (const ok of ['e2e-1-2', '0f3c6a8e-1b2c-4d5e-8f90-123456789abc', 'a']) it(`accepts ${ok}`, () => assert.ok(isEntryUid(ok)));
  for (const bad of ['.', '..', '../x', 'a/b', '', '-a', 'A', 'a'.repeat(64), 'x\n', ' a', 7, undefined]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(isEntryUid(bad), false));
  }
});

describe('subordinate ids count as the user\'s (owner.ts)', () => {
  const subuid = 'alice:100000:65536\n1001:300000:10\nbob:165536:65536\n# odd\nmallory:0:70000\nalice:bad:1\n';
  it('takes the user\'s ranges by name and by uid, nothing below 65536', () => {
    assert.deepEqual(parseSubIds(subuid, 'alice', 1001), [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]);
    assert.deepEqual(parseSubIds(subuid, 'mallory', 1500), [], 'a range over real uids is ignored');
  });
  it('a process under a subordinate uid or gid is the user\'s; others are not', () => {
    const o = { uid: 1001, subuids: [{ start: 100000, count: 65536 }], subgids: [{ start: 200000, count: 10 }] };
    assert.ok(isOwners({ ruid: 1001, euid: 1001 }, o));
    assert.ok(isOwners({ ruid: 0, euid: 1001 }, o));
    assert.ok(isOwners({ ruid: 100000, euid: 100000 }, o));
    assert.ok(isOwners({ ruid: 165535, euid: 165535 }, o));
    assert.ok(!isOwners({ ruid: 165536, euid: 165536 }, o));
    assert.ok(isOwners({ ruid: 5000, euid: 5000, rgid: 200009, egid: 5000 }, o));
    assert.ok(!isOwners({ ruid: 5000, euid: 5000, rgid: 200010, egid: 5000 }, o));
  });
});

describe('SysV IPC listing (parseSysvipc)', () => {
  it('finds ids and owners by the header\'s column names', () => {
    const shm = '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n  12345678          3   644                  1024  4242     0      0  1001  1001  1001  1001          0          0 1700000000                     0                     0\n';
    assert.deepEqual(parseSysvipc('shm', shm), [{ kind: 'shm', id: 3, uid: 1001, cuid: 1001 }]);
    const sem = '       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n         0          7   600          1  1002  1002     0     0          0 1700000000\n';
    assert.deepEqual(parseSysvipc('sem', sem), [{ kind: 'sem', id: 7, uid: 1002, cuid: 0 }]);
    assert.deepEqual(parseSysvipc('msg', 'garbage\n1 2 3\n'), []);
  });
});
