// What a hostile user or node writes straight into etcd (etcdctl-style raw puts with their own
// etcd credentials, auth on, not through kiwictl) against the real operator process: identity
// comes from the key, entry uids from etcd, an object is known by its key only, and no stored
// value crashes the operator (nor a restart of it) or fails `kiwictl get -A` and `info`.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { waitFor } from '../../helpers/wait.js';
import { stopProc } from '../../helpers/etcd.js';
import { entryUid, isEntryUid, keys, type Booking, type Calendar, type KiwiEvent } from '../../../crds/api/index.js';
import { startUsersCluster, revision, type AuthCluster } from './helpers.js';

const bk = (ns: string, name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'kiwi.dev/v1alpha1',
  kind: 'Booking',
  metadata: { name, namespace: ns, generation: 1, ...meta },
  spec,
});

describe('security: stored values are untrusted (raw etcd writes, auth on, real operator)', function () {
  this.timeout(120_000);
  let c: AuthCluster;
  let alice: TestUser, bob: TestUser;
  let operator: ChildProcess;

  const root = () => c.storeAs('root');
  /** A raw put with the writer's own etcd credentials: what `etcdctl put` as that user does. */
  const put = (etcdUser: string, key: string, value: string) => c.storeAs(etcdUser).etcd.put(key).value(value).exec();
  // The status key itself: a booking whose spec is not valid cannot be read as an object, but its verdict can.
  const phaseOf = async (ns: string, name: string): Promise<Booking['status']> => {
    const v = await root().etcd.get(keys.status({ kind: 'Booking', namespace: ns, name })).string();
    return v ? JSON.parse(v) : undefined;
  };
  const until = (ns: string, name: string, want: (st: Booking['status']) => boolean, what: string) =>
    waitFor(async () => {
      const st = await phaseOf(ns, name);
      return st && want(st) ? st : undefined;
    }, { timeoutMs: 20_000, what });
  const calendar = async (node: string): Promise<Calendar> => JSON.parse((await root().etcd.get(keys.calendar(node)).string()) ?? '{"entries":[]}');
  /** Another user's booking still goes Active, kiwictl still lists and shows. */
  const clusterStillServes = async (name: string, node: string) => {
    assert.equal(operator.exitCode, null, 'the operator is still running');
    const r = await c.as(bob, ['alloc', '-w', node, '-t', '2m', '--name', name]);
    assert.equal(r.code, 0, r.stderr);
    await until(bob.name, name, (s) => s?.phase === 'Active', `${name} Active`);
    for (const args of [['get', 'bookings', '-A'], ['info'], ['get', 'nodes']]) {
      const g = await c.as(bob, args);
      assert.equal(g.code, 0, `${args.join(' ')}: ${g.stderr}`);
    }
    assert.equal((await c.as(bob, ['kill', name])).code, 0);
  };

  before(async () => {
    alice = ensureUser('sec-alice');
    bob = ensureUser('sec-bob');
    c = await startUsersCluster(['un1', 'un2', 'un3'], [alice, bob]);
    operator = c.startOperator();
  });
  after(async () => {
    await c?.stop();
  });

  it('a booking written raw with spec.user naming another user is Rejected with the rule; without spec.user it is the namespace\'s', async () => {
    await put(alice.name, keys.spec({ kind: 'Booking', namespace: alice.name, name: 'as-bob' }), JSON.stringify(bk(alice.name, 'as-bob', { user: bob.name, nodes: ['un1'], duration: 60 })));
    const st = await until(alice.name, 'as-bob', (s) => s?.phase === 'Expired', 'as-bob refused');
    assert.equal(st.reason, 'Rejected');
    assert.match(st.message!, new RegExp(`spec\\.user: "${bob.name}" is not the booking's namespace "${alice.name}".*write the booking in namespace "${bob.name}"`));
    assert.equal((await calendar('un1')).entries.length, 0, 'nothing placed for bob');
    await put(alice.name, keys.spec({ kind: 'Booking', namespace: alice.name, name: 'own' }), JSON.stringify(bk(alice.name, 'own', { nodes: ['un1'], duration: 60 })));
    await until(alice.name, 'own', (s) => s?.phase === 'Active', 'own Active');
    const e = (await calendar('un1')).entries.find((x) => x.booking === `${alice.name}/own`)!;
    assert.equal(e.user, alice.name, 'the calendar, PAM and cleanup go by the namespace');
    await root().delete({ kind: 'Booking', namespace: alice.name, name: 'own' });
  });

  it('kiwictl refuses a spec.user other than the namespace before writing (apply, exit 2, the fix named); alloc -u is for admins', async () => {
    const before = await revision(c);
    const dir = mkdtempSync(join(tmpdir(), 'kiwitest-in-'));
    chmodSync(dir, 0o755);
    const f = join(dir, 'b.yaml');
    writeFileSync(f, `apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: x}\nspec: {user: ${bob.name}, nodes: [un2], duration: 1h}\n`, { mode: 0o644 });
    try {
      const r = await c.as(alice, ['apply', '-f', f]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`spec\\.user: "${bob.name}" is not the booking's namespace "${alice.name}".*drop spec\\.user[\\s\\S]*nothing was written`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const a = await c.as(alice, ['alloc', '-u', bob.name, '-w', 'un2', '-t', '1h']);
    assert.equal(a.code, 7, a.stderr);
    assert.match(a.stderr, /only admins .* may book for another user/);
    assert.equal(await revision(c), before, 'nothing was written');
  });

  it('generation is the spec key\'s version: a queued booking rewritten raw with its old metadata.generation is admitted again (maxDuration holds)', async () => {
    const r = await c.as(bob, ['alloc', '-w', 'un1', '-t', '2m', '--name', 'gen-blocker']);
    assert.equal(r.code, 0, r.stderr);
    await until(bob.name, 'gen-blocker', (s) => s?.phase === 'Active', 'gen-blocker Active');
    const key = keys.spec({ kind: 'Booking', namespace: alice.name, name: 'gen-held' });
    await put(alice.name, key, JSON.stringify(bk(alice.name, 'gen-held', { nodes: ['un1'], duration: 60 })));
    const queued = await until(alice.name, 'gen-held', (s) => s?.phase === 'Pending' && s.observedGeneration === 1, 'gen-held Pending, seen at generation 1');
    assert.ok(queued.startTime, 'planned after the blocker');
    // The same generation in the value, a 30-day spec: only etcd's version says it changed.
    await put(alice.name, key, JSON.stringify(bk(alice.name, 'gen-held', { nodes: ['un1'], duration: 30 * 86400 }, { generation: 1 })));
    const st = await until(alice.name, 'gen-held', (s) => s?.phase === 'Expired' || (s?.observedGeneration ?? 0) >= 2, 'gen-held seen at generation 2');
    assert.equal(st.phase, 'Expired', `admission ran again: ${JSON.stringify(st)}`);
    assert.equal(st.reason, 'Rejected');
    assert.match(st.message!, /duration 30d.* is longer than the cluster's maxDuration/);
    assert.equal(st.observedGeneration, 2);
    const kv = (await root().etcd.get(key).exec()).kvs[0];
    assert.equal((await root().get({ kind: 'Booking', namespace: alice.name, name: 'gen-held' }))!.metadata.generation, Number(kv.version), 'every reader sees etcd\'s version');
    assert.ok(!(await calendar('un1')).entries.some((e) => e.booking === `${alice.name}/gen-held`), 'nothing of it stays in the calendar');
    await root().delete({ kind: 'Booking', namespace: alice.name, name: 'gen-held' });
    assert.equal((await c.as(bob, ['kill', 'gen-blocker'])).code, 0);
  });

  it('entry uids come from etcd: a metadata.uid copied from another booking, ".", or "../x" is not what the calendar carries', async () => {
    const r = await c.as(bob, ['alloc', '-w', 'un2', '-t', '2m', '--name', 'victim']);
    assert.equal(r.code, 0, r.stderr);
    await until(bob.name, 'victim', (s) => s?.phase === 'Active', 'victim Active');
    const victim = (await calendar('un2')).entries.find((x) => x.booking === `${bob.name}/victim`)!;
    assert.ok(isEntryUid(victim.uid), victim.uid);
    for (const [name, uid] of [['copy', victim.uid], ['dot', '.'], ['up', '../x']] as const) {
      const key = keys.spec({ kind: 'Booking', namespace: alice.name, name });
      await put(alice.name, key, JSON.stringify(bk(alice.name, name, { nodes: ['un3'], duration: 60 }, { uid })));
      await until(alice.name, name, (s) => s?.phase === 'Active', `${name} Active`);
      const e = (await calendar('un3')).entries.find((x) => x.booking === `${alice.name}/${name}`)!;
      const kv = await root().etcd.get(key).exec();
      assert.equal(e.uid, entryUid(key, kv.kvs[0].create_revision), 'derived from the key\'s create revision');
      assert.notEqual(e.uid, uid);
      assert.ok(isEntryUid(e.uid));
      const got = await root().get({ kind: 'Booking', namespace: alice.name, name });
      assert.equal(got!.metadata.uid, e.uid, 'every reader sees etcd\'s uid');
      await root().delete({ kind: 'Booking', namespace: alice.name, name });
    }
    assert.equal((await calendar('un2')).entries.find((x) => x.booking === `${bob.name}/victim`)?.uid, victim.uid, 'the victim is untouched');
    assert.equal((await c.as(bob, ['kill', 'victim'])).code, 0);
  });

  it('an object whose metadata differs from its key is refused under its key name and never listed as what it claims', async () => {
    const key = keys.spec({ kind: 'Booking', namespace: alice.name, name: 'real' });
    await put(alice.name, key, JSON.stringify(bk(alice.name, 'claimed', { nodes: ['un1'], duration: 60 })));
    const st = await until(alice.name, 'real', (s) => s?.phase === 'Expired', 'real refused');
    assert.equal(st.reason, 'Rejected');
    assert.match(st.message!, /bookings\/.*\/real: metadata\.name is "claimed", but the key names "real": refused/);
    const events = await root().listEvents({ kind: 'Booking', namespace: alice.name, name: 'real' });
    assert.ok(events.some((e: KiwiEvent) => e.reason === 'Rejected'), 'an event under the key name');
    const g = await c.as(bob, ['get', 'bookings', '-A']);
    assert.equal(g.code, 0, g.stderr);
    assert.doesNotMatch(g.stdout, /claimed/);
    assert.match(g.stderr, /warning: 1 stored value is not a valid object and is not shown: .*real: metadata\.name is "claimed"/);
    // a Node claiming another node's name: its own etcd user may not write it (NodeRestriction), an admin's raw write is refused as a value
    const claim = JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'un1' }, spec: {} });
    await assert.rejects(put('kiwi-node-un3', keys.spec({ kind: 'Node', name: 'un3' }), claim), /permission denied/i);
    await put('root', keys.spec({ kind: 'Node', name: 'un3' }), claim);
    const n = await c.as(bob, ['get', 'nodes', '-o', 'name']);
    assert.equal(n.code, 0, n.stderr);
    assert.equal(n.stdout.split('\n').filter((l) => l.endsWith('/un1')).length, 1, 'un1 listed once: the real one');
    await waitFor(async () => (await root().listEvents({ kind: 'Node', name: 'un3' })).some((e) => e.reason === 'Invalid' && /metadata\.name is "un1"/.test(e.message)), { what: 'an Invalid event on un3' });
    await root().delete({ kind: 'Booking', namespace: alice.name, name: 'real' });
    assert.equal((await c.k(['apply', '-f', '-'], { input: 'apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: un3}\nspec: {address: 127.0.0.1}\n' })).code, 0);
  });

  it('non-JSON, null and wrong types in a user\'s booking key and a node\'s keys: Rejected or ignored, the operator keeps serving, and after a restart too', async () => {
    const values: [string, string, string][] = [
      [alice.name, keys.spec({ kind: 'Booking', namespace: alice.name, name: 'junk' }), 'not json at all {'],
      [alice.name, keys.spec({ kind: 'Booking', namespace: alice.name, name: 'nul' }), 'null'],
      [alice.name, keys.spec({ kind: 'Booking', namespace: alice.name, name: 'objnodes' }), JSON.stringify(bk(alice.name, 'objnodes', { nodes: {}, duration: 60 }))],
      [alice.name, keys.spec({ kind: 'Booking', namespace: alice.name, name: 'deep' }), '['.repeat(100_000) + ']'.repeat(100_000)],
      [alice.name, `${keys.specPrefix('Booking', alice.name)}a/b`, '{}'],
      ['root', keys.spec({ kind: 'Node', name: 'un3' }), '\u0000\u00ff garbage'], // an admin's (the node may not write it)
      ['kiwi-node-un3', keys.status({ kind: 'Node', name: 'un3' }), '[1,2,3'],
      ['kiwi-node-un3', keys.heartbeat('un3'), 'null'],
    ];
    for (const [u, k, v] of values) await put(u, k, v);
    for (const name of ['junk', 'nul', 'objnodes', 'deep']) {
      const st = await until(alice.name, name, (s) => s?.phase === 'Expired', `${name} refused`);
      assert.equal(st.reason, 'Rejected', name);
      assert.match(st.message!, new RegExp(`bookings/${alice.name}/${name}: `), st.message);
    }
    await clusterStillServes('canary1', 'un1');
    // A restart takes a snapshot with every bad value still there: no crash loop.
    await stopProc(operator, 'SIGTERM');
    operator = c.startOperator();
    await clusterStillServes('canary2', 'un2');
    const info = await c.as(alice, ['info']);
    assert.equal(info.code, 0, info.stderr);
    assert.doesNotMatch(info.stdout, /\bun3\b/, 'the node whose Node key is garbage is not shown as if it were fine');
    assert.match(info.stderr, /not a valid object/);
  });

  it('beyond the ClusterConfig userLimits a user\'s new bookings are Rejected naming the limit; other users book on', async () => {
    const held = (await root().etcd.getAll().prefix(keys.specPrefix('Booking', alice.name)).keys()).length;
    const cc = `apiVersion: kiwi.dev/v1alpha1\nkind: ClusterConfig\nmetadata: {name: default}\nspec: {userLimits: {bookings: ${held + 2}}}\n`;
    assert.equal((await c.k(['apply', '-f', '-'], { input: cc })).code, 0);
    await waitFor(async () => (await root().get({ kind: 'ClusterConfig', name: 'default' }))?.spec?.userLimits?.bookings === held + 2);
    for (const [i, name] of ['lim1', 'lim2', 'lim3'].entries()) {
      const start = new Date(Date.now() + (i + 1) * 3600_000).toISOString(); // reservations that do not overlap
      await put(alice.name, keys.spec({ kind: 'Booking', namespace: alice.name, name }), JSON.stringify(bk(alice.name, name, { nodes: ['un1'], duration: 60, start })));
    }
    for (const name of ['lim1', 'lim2']) await until(alice.name, name, (s) => s?.phase === 'Pending', `${name} reserved`);
    const st = await until(alice.name, 'lim3', (s) => s?.phase === 'Expired', 'lim3 refused');
    assert.equal(st.reason, 'Rejected');
    assert.match(st.message!, new RegExp(`user ${alice.name} holds ${held + 3} keys \\(bookings, schedules, subscriptions, dry runs\\), more than the ${held + 2} one user may hold \\(ClusterConfig spec\\.userLimits\\.bookings\\): delete some`));
    await clusterStillServes('canary3', 'un2');
  });
});
