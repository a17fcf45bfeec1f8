// etcd authentication end to end: `kiwictl admin enable-auth` and `add-user` against a real
// etcd, then every refusal the security issue lists, by etcd itself (not only kiwictl's own
// client-side checks), each with a message that says what was refused and why.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { waitFor } from '../../helpers/wait.js';
import { ForbiddenError, keys, type Booking } from '../../../crds/api/index.js';
import { startAuthCluster, revision, type AuthCluster } from './helpers.js';

const booking = (ns: string, name: string, node: string) =>
  `apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {nodes: [${node}], duration: 1h}\n`;

describe('security: etcd authentication and per-user authorization', function () {
  this.timeout(60_000);
  let c: AuthCluster;
  let alice: TestUser, bob: TestUser, carol: TestUser;

  before(async () => {
    alice = ensureUser('sec-alice');
    bob = ensureUser('sec-bob');
    carol = ensureUser('sec-carol');
    c = await startAuthCluster(async (k) => {
      for (const args of [['init', '--admin', carol.name], ['add-node', 'sn1', '--host', '127.0.0.1'], ['add-node', 'sn2', '--host', '127.0.0.1'], ['add-node', 'sn3', '--host', '127.0.0.1']]) {
        const r = await k(args);
        if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
      }
    });
    for (const [u, admin] of [[alice, false], [bob, false]] as const) {
      const r = await c.k(['admin', 'add-user', u.name, ...(admin ? ['--admin'] : [])]);
      assert.equal(r.code, 0, r.stderr);
    }
    c.startOperator();
  });
  after(async () => {
    await c?.stop();
  });

  it('enable-auth wrote root, operator, node and ClusterConfig-admin credentials; add-user files are 0600 and owned by the user', async () => {
    for (const f of ['root', 'kiwi-operator', 'kiwi-node-sn1', 'kiwi-node-sn2', carol.name]) {
      const st = statSync(join(c.credsDir, `${f}.yaml`));
      assert.equal(st.mode & 0o777, 0o600, f);
    }
    assert.equal(statSync(join(c.credsDir, `${carol.name}.yaml`)).uid, carol.uid);
    assert.equal(statSync(join(c.credsDir, `${alice.name}.yaml`)).uid, alice.uid);
    assert.equal(statSync(join(c.credsDir, 'root.yaml')).uid, 0);
    // bob cannot read alice's file, so cannot log in as her
    const r = await c.as(bob, ['get', 'nodes', '--credentials', join(c.credsDir, `${alice.name}.yaml`)]);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /cannot read credential file .*permission denied/);
  });

  it('without credentials, or with a wrong password, etcd refuses with a clear message (exit 7)', async () => {
    let r = await c.k(['get', 'nodes'], { env: { KIWI_CREDENTIALS_DIR: '/nonexistent' } });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /etcd requires a user and password and none was found/);
    r = await c.as(alice, ['get', 'nodes'], { KIWI_ETCD_USER: alice.name, KIWI_ETCD_PASSWORD: 'wrong' });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, new RegExp(`etcd refused the login of ${alice.name} .*wrong user or password`));
  });

  it('a user books as themselves (the operator, logged in as kiwi-operator, makes it Active) and reads everyone\'s bookings', async () => {
    for (const [u, node, name] of [[alice, 'sn1', 'a1'], [bob, 'sn2', 'b1']] as const) {
      const r = await c.as(u, ['alloc', '-w', node, '-t', '30m', '--name', name]);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(async () => (await c.storeAs('root').get({ kind: 'Booking', namespace: u.name, name }))?.status?.phase === 'Active', { timeoutMs: 15_000, what: `${name} Active` });
    }
    const r = await c.as(alice, ['get', 'bookings', '-A']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /b1/);
  });

  it('a user cannot create, change or delete another user\'s booking: etcd refuses, nothing is written', async () => {
    const before = await revision(c);
    // create in bob's namespace
    let r = await runWithInput(c, alice, ['apply', '-f', '-'], booking(bob.name, 'evil', 'sn3'));
    assert.equal(r.code, 7, r.stderr);
    // kiwictl's own check refuses first now (apply checks as every verb does); etcd would too (the Store calls below)
    assert.match(r.stderr, new RegExp(`apply booking ${bob.name}/evil: it belongs to ${bob.name}; only they or an admin|(apply|create) Booking ${bob.name}/evil: refused by etcd: ${alice.name} may only write their own bookings`));
    // change bob's booking: through the Store as alice (no kiwictl client-side check in the way)
    const s = c.storeAs(alice.name);
    const b1 = (await s.get({ kind: 'Booking', namespace: bob.name, name: 'b1' })) as Booking;
    await assert.rejects(s.update({ ...b1, spec: { ...b1.spec, cancelled: true } }), (e: any) => e instanceof ForbiddenError && /permission denied/.test(e.message));
    await assert.rejects(s.delete({ kind: 'Booking', namespace: bob.name, name: 'b1' }), ForbiddenError);
    // kiwictl's delete of bob's booking: refused by etcd with the rule
    r = await c.as(alice, ['delete', 'booking', 'b1', '-n', bob.name]);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /may only write their own bookings|only they or an admin/);
    assert.equal(await revision(c), before, 'nothing was written');
  });

  it('a user cannot write any status or calendar, nor change nodes or the config', async () => {
    const before = await revision(c);
    const s = c.storeAs(alice.name);
    await assert.rejects(s.updateStatus({ kind: 'Booking', namespace: alice.name, name: 'a1' }, { phase: 'Active' } as any), ForbiddenError);
    await assert.rejects(s.etcd.put(keys.calendar('sn1')).value('{}').exec(), /permission denied/i);
    await assert.rejects(s.etcd.put(keys.heartbeat('sn1')).value('{}').exec(), /permission denied/i);
    await assert.rejects(s.etcd.put(keys.usage('2026-01-01T00:00:00.000Z', alice.name, 'a1.1')).value('{}').exec(), /permission denied/i, 'a usage record');
    let r = await runWithInput(c, alice, ['apply', '-f', '-'], 'apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: sn1}\nspec: {unschedulable: true}\n');
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, new RegExp(`apply node sn1: that is for admins|(apply|update) Node sn1: refused by etcd: ${alice.name} may not change nodes; that is for admins`));
    r = await runWithInput(c, alice, ['apply', '-f', '-'], 'apiVersion: kiwi.dev/v1alpha1\nkind: ClusterConfig\nmetadata: {name: default}\nspec: {admins: [' + alice.name + ']}\n');
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /apply clusterconfig default: that is for admins|(apply|update) ClusterConfig default: refused by etcd: .* may not change the cluster config/);
    r = await c.as(alice, ['cordon', 'sn1']);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(await revision(c), before, 'nothing was written');
  });

  it('an admin (ClusterConfig admins, role kiwi-admin) may change another user\'s booking and the nodes', async () => {
    let r = await c.as(carol, ['cordon', 'sn3']);
    assert.equal(r.code, 0, r.stderr);
    r = await c.as(carol, ['uncordon', 'sn3']);
    assert.equal(r.code, 0, r.stderr);
    r = await c.as(carol, ['kill', `${bob.name}/b1`]);
    assert.equal(r.code, 0, r.stderr);
    const b1 = await c.storeAs('root').get({ kind: 'Booking', namespace: bob.name, name: 'b1' });
    assert.equal(b1?.spec.cancelled, true);
    // but not status: not a node's, nor a booking's (a 30-day Active status would bypass admission)
    await assert.rejects(c.storeAs(carol.name).updateStatus({ kind: 'Node', name: 'sn3' }, { phase: 'Ready' } as any), ForbiddenError);
    const before = await revision(c);
    const long = { phase: 'Active', reason: 'Started', nodes: ['sn3'], startTime: new Date().toISOString(), endTime: new Date(Date.now() + 30 * 86400_000).toISOString(), observedGeneration: 1 };
    await assert.rejects(c.storeAs(carol.name).updateStatus({ kind: 'Booking', namespace: bob.name, name: 'b1' }, long as any), ForbiddenError);
    await assert.rejects(c.storeAs(carol.name).etcd.put(keys.status({ kind: 'Booking', namespace: alice.name, name: 'a1' })).value(JSON.stringify(long)).exec(), /permission denied/i);
    assert.equal(await revision(c), before, 'no status was written');
    await assert.rejects(c.storeAs(carol.name).etcd.put(keys.usage('2026-01-01T00:00:00.000Z', bob.name, 'b1.1')).value('{}').exec(), /permission denied/i);
  });

  it('a node daemon\'s user writes its own heartbeat and node status only, and reads its calendar', async () => {
    const s = c.storeAs('kiwi-node-sn1');
    await s.etcd.put(keys.heartbeat('sn1')).value('{}').exec();
    await s.etcd.get(keys.calendar('sn1')).exec();
    await assert.rejects(s.etcd.put(keys.heartbeat('sn2')).value('{}').exec(), /permission denied/i);
    await assert.rejects(s.etcd.get(keys.calendar('sn2')).exec(), /permission denied/i);
    await assert.rejects(s.etcd.put(keys.calendar('sn1')).value('{}').exec(), /permission denied/i);
    await assert.rejects(s.updateStatus({ kind: 'Node', name: 'sn2' }, { phase: 'Ready' } as any), ForbiddenError);
    await assert.rejects(s.etcd.put(keys.spec({ kind: 'Booking', namespace: alice.name, name: 'x' })).value('{}').exec(), /permission denied/i);
  });

  it('the real node daemon logs in as kiwi-node-<node>: registers, heartbeats, reports status', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { ROOT } = await import('../kiwictl/cli.js');
    const { stopProc } = await import('../../helpers/etcd.js');
    const state = mkdtempSync(join(tmpdir(), 'kiwitest-secd-'));
    const d = spawn(process.execPath, [join(ROOT, 'bin/kiwi-node-daemon'), '--node-name', 'sn3', '--state-dir', state, '--no-pam', '--no-cgroups', '--lease-ttl', '2', '--status-interval', '1', '--log-level', 'warn'], {
      env: { PATH: process.env.PATH!, KIWI_TEST: '1', KIWI_ENDPOINTS: c.etcd.endpoint, KIWI_ETCD_PASSWORD_FILE: join(c.credsDir, 'kiwi-node-sn3.yaml'), KIWI_METRICS_ADDR: 'none' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      const root = c.storeAs('root');
      await waitFor(async () => (await root.etcd.get(keys.heartbeat('sn3')).string()) !== null, { timeoutMs: 15_000, what: 'sn3 heartbeat' });
      await waitFor(async () => (await root.get({ kind: 'Node', name: 'sn3' }))?.status?.phase === 'Ready', { timeoutMs: 15_000, what: 'sn3 Ready' });
    } finally {
      await stopProc(d, 'SIGTERM');
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('a user deletes their own booking (its spec key only); one created again under that name is not judged by the old status', async () => {
    const r = await c.as(alice, ['delete', 'booking', 'a1']);
    assert.equal(r.code, 0, r.stderr);
    const root = c.storeAs('root');
    const stale = await root.etcd.get(keys.status({ kind: 'Booking', namespace: alice.name, name: 'a1' })).string();
    assert.match(stale ?? '', /"phase":"(Active|Expired)"/, 'the status key stays: only the operator writes statuses');
    const again = await c.as(alice, ['alloc', '-w', 'sn1', '-t', '10m', '--name', 'a1']);
    assert.equal(again.code, 0, again.stderr);
    const b = await waitFor(async () => {
      const x = await root.get({ kind: 'Booking', namespace: alice.name, name: 'a1' });
      return x?.status?.phase === 'Active' && x.status.startTime && Date.parse(x.status.startTime) > Date.now() - 30_000 ? x : undefined;
    }, { timeoutMs: 15_000, what: 'the new a1 Active with a status of its own' });
    assert.ok(b.metadata.uid);
  });

  it('a user asks the operator a server dry run in their own prefix only, and the booking is written nowhere', async () => {
    // sn3's daemon (the test above) is stopped, so once the leader has seen its heartbeat go the
    // answer is a refusal (exit 9): proof it answered through auth
    const root = c.storeAs('root');
    await waitFor(async () => (await root.get({ kind: 'Node', name: 'sn3' }))?.status?.phase === 'NotReady', { timeoutMs: 15_000, what: 'sn3 NotReady after its daemon stopped' });
    const r = await c.as(alice, ['alloc', '-w', 'sn3', '-t', '10m', '--name', 'dry1', '--dry-run=server']);
    assert.equal(r.code, 9, r.stderr);
    assert.match(r.stderr, /would be refused \(Rejected\): node sn3 is NotReady.*\(server dry run: nothing written\)/);
    assert.equal(await c.storeAs('root').get({ kind: 'Booking', namespace: alice.name, name: 'dry1' }), undefined);
    // a request in bob's prefix is refused by etcd itself
    await assert.rejects(c.storeAs(alice.name).etcd.put(`/kiwi/dryrun/${bob.name}/x/request`).value('{}').exec(), /permission denied/i);
  });

  it("an account's manager changes its members through the operator, as themselves; a member who is no manager cannot, and neither writes the Account", async () => {
    const root = c.storeAs('root');
    const ref = { kind: 'Account' as const, name: 'sec-acct' };
    await root.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name: 'sec-acct' }, spec: { members: { users: [alice.name] }, managers: [alice.name], allocation: { units: 100 } } });
    try {
      let r = await c.as(alice, ['account', 'add-member', 'sec-acct', '--user', bob.name]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /account.kiwi.dev\/sec-acct changed/);
      r = await c.as(bob, ['account', 'set-cap', 'sec-acct', bob.name, '1000']);
      assert.equal(r.code, 9, r.stderr);
      assert.match(r.stderr, new RegExp(`${bob.name} does not manage account sec-acct; its managers are ${alice.name}`));
      await assert.rejects(c.storeAs(alice.name).etcd.put(keys.spec(ref)).value('{}').exec(), /permission denied/i, 'the manager cannot write the Account (its allocation) herself');
      const a = (await root.get(ref))!;
      assert.deepEqual([a.spec.members, a.spec.memberCaps, a.spec.allocation], [{ users: [alice.name, bob.name] }, undefined, { units: 100 }]);
    } finally {
      await root.delete(ref); // with accounts, a user in none is refused: leave none for the tests after
    }
  });

  it('a user writes their own Subscriptions and BookingSchedules, never another user\'s, nor their status', async () => {
    const s = c.storeAs(alice.name);
    const subOf = (ns: string) => ({ apiVersion: 'kiwi.dev/v1alpha1' as const, kind: 'Subscription' as const, metadata: { name: 'mine', namespace: ns }, spec: { sinks: ['hook'] } });
    const rule = (ns: string) => ({ apiVersion: 'kiwi.dev/v1alpha1' as const, kind: 'BookingSchedule' as const, metadata: { name: 'lab', namespace: ns }, spec: { days: ['Mon' as const], at: '14:00', duration: 3600, template: { nodes: ['sn3'] } } });
    await s.create(subOf(alice.name));
    await s.create(rule(alice.name));
    await assert.rejects(s.create(subOf(bob.name)), ForbiddenError);
    await assert.rejects(s.create(rule(bob.name)), ForbiddenError);
    await assert.rejects(s.etcd.put(keys.status({ kind: 'BookingSchedule', namespace: alice.name, name: 'lab' })).value('{}').exec(), /permission denied/i);
    await assert.rejects(s.etcd.put(keys.outbox('hook', 'x')).value('{}').exec(), /permission denied/i, 'nor the notification outbox');
    await s.delete({ kind: 'BookingSchedule', namespace: alice.name, name: 'lab' });
  });

  it('add-user refuses hostile names', async () => {
    for (const bad of ['../etc', 'a/b', 'root', 'x'.repeat(200), 'a b', '-rf', 'kiwi-node-sn1']) {
      const r = await c.k(['admin', 'add-user', '--', bad]);
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /not allowed|reserved|at most 63/);
    }
  });

  it('NodeRestriction: a node\'s user cannot relabel, readdress, uncordon or delete its own Node (raw writes); it reads its spec (the real daemon still reports its status: above)', async () => {
    const root = c.storeAs('root');
    assert.equal((await c.k(['label', 'node', 'sn2', 'gpu=none'])).code, 0);
    assert.equal((await c.k(['cordon', 'sn2'])).code, 0);
    const ref = { kind: 'Node' as const, name: 'sn2' };
    const before = (await root.etcd.get(keys.spec(ref)).exec()).kvs[0];
    const s = c.storeAs('kiwi-node-sn2');
    const own = JSON.parse((await s.etcd.get(keys.spec(ref)).string())!); // it reads its spec
    const forged = [
      { ...own, metadata: { ...own.metadata, labels: { gpu: 'a100' } } }, // attracts gpu=a100 bookings
      { ...own, spec: { ...own.spec, address: '10.6.6.6' } }, // the address users are told to ssh to
      { ...own, spec: { ...own.spec, unschedulable: false } },
    ];
    for (const v of forged) await assert.rejects(s.etcd.put(keys.spec(ref)).value(JSON.stringify(v)).exec(), /permission denied/i);
    await assert.rejects(s.etcd.delete().key(keys.spec(ref)).exec(), /permission denied/i);
    await assert.rejects(s.update({ ...(await s.mustGet(ref)), metadata: { ...(await s.mustGet(ref)).metadata, labels: { gpu: 'a100' } } }), ForbiddenError);
    const after = (await root.etcd.get(keys.spec(ref)).exec()).kvs[0];
    assert.equal(after.mod_revision, before.mod_revision, 'the Node spec is untouched');
    assert.deepEqual((await root.mustGet(ref)).metadata.labels, { gpu: 'none' });
    assert.equal((await c.k(['uncordon', 'sn2'])).code, 0);
    assert.equal((await c.k(['label', 'node', 'sn2', 'gpu-'])).code, 0);
  });
});

async function runWithInput(c: AuthCluster, u: TestUser, args: string[], input: string) {
  const { mkdtempSync, writeFileSync, chmodSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'kiwitest-in-'));
  chmodSync(dir, 0o755);
  const f = join(dir, 'in.yaml');
  writeFileSync(f, input, { mode: 0o644 });
  try {
    return await c.as(u, args.map((a) => (a === '-' ? f : a)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
