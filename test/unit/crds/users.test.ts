// The user database's rules (crds/api/users.ts) and the cached NSS resolver (crds/api/nss.ts,
// with a fake getent here; test/e2e/pam/nss.test.ts uses a real second NSS source).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG } from '../../../crds/api/config.js';
import { isAdmin, parseGroup, parsePasswd, protectedUser, UserTable } from '../../../crds/api/users.js';
import { toRevoke } from '../../../operator/src/grants/decide.js';
import { NssUsers } from '../../../crds/api/nss.js';
import { pamDecision } from '../../../node-daemon/src/decide/pam.js';
import { whoToKill } from '../../../node-daemon/src/decide/kill.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\n+nis::::::\nbad line\n# comment\nalice:x:1001:1001::/home/alice:/bin/sh\nweird:x:abc:1::/:/bin/sh\nshort:x:5:5\n';

describe('user database rules', () => {
  it('parses passwd and group lines, skipping junk, comments and NIS lines', () => {
    assert.deepEqual(parsePasswd(PASSWD).map((e) => [e.name, e.uid]), [['root', 0], ['alice', 1001]]);
    assert.deepEqual(parseGroup('wheel:x:10:alice,bob\nstaff:x:50:\nbad\n'), [{ name: 'wheel', gid: 10, members: ['alice', 'bob'] }, { name: 'staff', gid: 50, members: [] }]);
  });

  it('the duplicate rule: first entry wins; differing uids or a shared uid make the name ambiguous', () => {
    const t = new UserTable(parsePasswd('mal:x:1500:1500::/:/bin/sh\nmal:x:50:50::/:/bin/sh\nalice:x:1001:1001::/:/bin/sh\neve:x:1001:1001::/:/bin/sh\nbob:x:1002:1002::/:/bin/sh\nbob:x:1002:1002::/:/bin/sh\n'));
    assert.equal(t.get('mal')!.uid, 1500);
    assert.match(t.get('mal')!.ambiguous!, /2 entries named mal with different uids \(1500, 50\)/);
    assert.match(t.get('eve')!.ambiguous!, /uid 1001 of eve is also alice's/);
    assert.match(t.get('alice')!.ambiguous!, /uid 1001 of alice is also eve's/);
    assert.equal(t.get('bob')!.ambiguous, undefined, 'the same entry from two sources is one user');
    assert.equal(t.nameOf(1001), 'alice');
    assert.equal(t.get('nobody'), undefined);
  });

  it('the protected rule, in one place', () => {
    const cfg = { ...DEFAULT_CONFIG, minUid: 1000, sshBypassUsers: ['ops'] };
    const r = (n: string, uid?: number) => protectedUser(n, uid, cfg)?.reason;
    assert.equal(r('root', 0), 'root');
    assert.equal(r('root'), 'root');
    assert.equal(r('toor', 0), 'root');
    assert.equal(r('daemon', 1), 'system-user');
    assert.equal(r('nobody', 65534), 'nobody');
    assert.equal(r('nobody'), 'nobody');
    assert.equal(r('nfsnobody', 65534), 'nobody');
    assert.equal(r('ops', 1500), 'bypass-user');
    assert.equal(r('alice', 1001), undefined);
    assert.equal(r('ldapuser'), undefined, 'unknown to this host: only the name rules');
  });

  it('PAM and the kill path apply the same two rules', () => {
    const t = new UserTable(parsePasswd('mal:x:1500:1500::/:/bin/sh\nmal:x:50:50::/:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\n'));
    const view = { node: 'n1', entries: [{ booking: 'mal/b', uid: 'u1', user: 'mal', start: 0, end: 10 }], config: DEFAULT_CONFIG, syncedAt: 1 } as any;
    const mal = t.get('mal')!;
    const d = pamDecision({ name: 'mal', uid: mal.uid, ambiguous: mal.ambiguous }, view, 5);
    assert.equal(d.allow, false, 'an ambiguous name is not let in by a booking');
    assert.equal(d.outcome, 'ambiguous');
    assert.equal(pamDecision({ name: 'nobody', uid: 65534 }, view, 5).allow, false, 'nobody is not let in without a booking');
    const k = whoToKill({ due: [{ ...view.entries[0] }], entries: [], procs: [{ pid: 9, ruid: 1500, euid: 1500, state: 'S' }], config: DEFAULT_CONFIG, now: 20, users: (n) => t.get(n) });
    assert.deepEqual(k.kill, []);
    assert.equal(k.spared[0].reason, 'ambiguous-user');
    const k2 = whoToKill({ due: [{ ...view.entries[0], user: 'nobody', uid: 'u2' }], entries: [], procs: [{ pid: 9, ruid: 65534, euid: 65534, state: 'S' }], config: DEFAULT_CONFIG, now: 20, users: (n) => t.get(n) });
    assert.equal(k2.spared[0].reason, 'nobody');
  });
});

describe('NssUsers (cached getent)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kiwitest-nss-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answers from the enumerated table; asks alone for names it lacks; re-reads at once when /etc/passwd changes', () => {
    const file = join(dir, 'passwd');
    writeFileSync(file, 'x');
    let now = 0;
    const calls: string[] = [];
    let all = 'alice:x:1001:1001::/:/bin/sh\n';
    const ldap: Record<string, string> = { lara: 'lara:x:7000:7000::/:/bin/sh\n' };
    const db = new NssUsers({ passwdFile: file, ttlMs: 1000, missTtlMs: 100, now: () => now, getent: (a) => (calls.push(a.join(' ')), a.length === 1 ? all : ldap[a[1]]) });
    assert.equal(db.lookup('alice')!.uid, 1001);
    assert.equal(db.lookup('alice')!.uid, 1001);
    assert.deepEqual(calls, ['passwd'], 'one enumeration, no spawn per lookup');
    assert.equal(db.lookup('lara')!.uid, 7000, 'a user only a non-enumerating source knows');
    assert.equal(db.lookup('ghost'), undefined);
    assert.equal(db.lookup('ghost'), undefined);
    assert.deepEqual(calls, ['passwd', 'passwd lara', 'passwd ghost'], 'a miss is kept for missTtlMs');
    assert.equal(db.lookup('-rf'), undefined, 'no option-like names reach getent');
    assert.equal(db.lookup('a b'), undefined);
    all += 'carol:x:1500:1500::/:/bin/sh\n';
    writeFileSync(file, 'xy');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.equal(db.lookup('carol')!.uid, 1500, 'a changed /etc/passwd is read at once');
  });

  it('after the TTL (no file change), answers from the old table while getent reads the new one in the background', async () => {
    const file = join(dir, 'passwd-ttl');
    writeFileSync(file, 'x');
    let now = 0;
    const calls: string[] = [];
    let all = 'alice:x:1001:1001::/:/bin/sh\nerin:x:1700:1700::/:/bin/sh\n';
    let release: () => void = () => {};
    const db = new NssUsers({
      passwdFile: file, ttlMs: 1000, now: () => now,
      getent: (a) => (calls.push(a.join(' ')), a.length === 1 ? all : all.split('\n').find((l) => l.startsWith(`${a[1]}:`))),
      getentAsync: (a) => new Promise((res) => (release = () => (calls.push(`async ${a.join(' ')}`), res(all)))),
    });
    assert.equal(db.lookup('erin')!.uid, 1700);
    all = 'alice:x:1001:1001::/:/bin/sh\n'; // erin left the directory (an LDAP source: no file changed)
    now += 1001;
    assert.equal(db.lookup('erin')!.uid, 1700, 'the old table answers at once');
    assert.equal(db.lookup('alice')!.uid, 1001);
    assert.deepEqual(calls, ['passwd'], 'nothing synchronous ran, one background read is under way');
    await new Promise((r) => setImmediate(r));
    release();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, ['passwd', 'async passwd']);
    assert.equal(db.lookup('erin'), undefined, 'the new table answers once read');
    assert.deepEqual(calls, ['passwd', 'async passwd', 'passwd erin'], 'a name not in it is asked alone');
  });

  it('past missTtlMs, a name asked alone answers at once from its old answer while getent asks again without blocking', async () => {
    let now = 0;
    const calls: string[] = [];
    const ldap: Record<string, string | undefined> = { lara: 'lara:x:7000:7000::/:/bin/sh\n' };
    let release: () => void = () => {};
    const db = new NssUsers({
      passwdFile: join(dir, 'none'), ttlMs: 1e9, missTtlMs: 100, now: () => now,
      getent: (a) => (calls.push(a.join(' ')), a.length === 1 ? '' : ldap[a[1]]),
      getentAsync: (a) => new Promise((res) => (release = () => (calls.push(`async ${a.join(' ')}`), res(ldap[a[1]])))),
    });
    assert.equal(db.lookup('lara')!.uid, 7000);
    assert.equal(db.lookup('ghost'), undefined);
    assert.deepEqual(calls, ['passwd', 'passwd lara', 'passwd ghost'], 'the first question blocks: nothing to answer from yet');
    ldap.ghost = 'ghost:x:7100:7100::/:/bin/sh\n'; // added to the directory meanwhile
    now += 100;
    assert.equal(db.lookup('ghost'), undefined, 'the old answer, at once');
    assert.equal(db.lookup('ghost'), undefined);
    assert.deepEqual(calls, ['passwd', 'passwd lara', 'passwd ghost'], 'no blocking spawn, one background question at a time');
    await new Promise((r) => setImmediate(r));
    release();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls.slice(3), ['async passwd ghost']);
    assert.equal(db.lookup('ghost')!.uid, 7100, 'the new answer once getent gave it');
    assert.equal(db.lookup('lara')!.uid, 7000);
  });

  it('keeps what it knew when getent fails', () => {
    let fail = false;
    const db = new NssUsers({ passwdFile: join(dir, 'none'), ttlMs: 0, getent: () => {
      if (fail) throw new Error('getent: cannot run');
      return 'alice:x:1001:1001::/:/bin/sh\n';
    } });
    assert.equal(db.lookup('alice')!.uid, 1001);
    fail = true;
    assert.equal(db.lookup('alice')!.uid, 1001);
  });
});

describe('isAdmin: the one admin test', () => {
  it('root by name or uid 0, and the ClusterConfig admins; nobody else, names matched exactly', () => {
    assert.equal(isAdmin('root', undefined), true);
    assert.equal(isAdmin('toor', [], 0), true, 'uid 0 where the caller knows it');
    assert.equal(isAdmin('carol', ['carol']), true);
    assert.equal(isAdmin('carol', ['Carol', 'caro', 'carol2']), false);
    assert.equal(isAdmin('alice', undefined, 1001), false);
  });

  it('the flood detector and the PAM decision use it: an admin is never revoked, and is let in without a booking', () => {
    const usage = new Map([['carol', { keys: 99, bytes: 0 }], ['alice', { keys: 99, bytes: 0 }]]);
    assert.deepEqual(toRevoke(usage, { userLimits: { bookings: 1, bytes: 1 << 20 }, admins: ['carol'] }, new Set()).map((r) => r.user), ['alice']);
    const config = { ...DEFAULT_CONFIG, admins: ['carol'] };
    const view = { config, entries: [] } as unknown as Parameters<typeof pamDecision>[1];
    const d = (name: string) => pamDecision({ name, uid: 1002 } as Parameters<typeof pamDecision>[0], view, Date.now());
    assert.deepEqual(d('carol'), { allow: true, outcome: 'admin', reason: '' });
    assert.equal(d('alice').allow, false, 'alice holds no booking');
  });
});
