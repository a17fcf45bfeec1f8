// Accounting through the real operator process and a real etcd: 50 clients racing for an
// account that pays for exactly 10 bookings get exactly 10; extend, shorten, kill, a cancellation
// before the start, an operator killed mid-booking and a restore from a backup each leave the
// ledger invariant true (allocation = available + encumbered + charged, nothing negative, and
// the usage records of the period add up to what was charged).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { Account, AccountSpec, Booking, Store, UsageRecord } from '../../../crds/api/index.js';
import { checkLedger, guaranteedUpdate, keys, Store as StoreClass } from '../../../crds/api/index.js';
import { ETCD_SERVER_FLAGS } from '../../../crds/api/etcd-server.js';
import { askAccountChange, dryRunKeys } from '../../../crds/api/dryrun.js';
import { randomBytes } from 'node:crypto';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { binPath } from '../../helpers/build.js';
import { buildOperator, startOperator, mkBooking, mkNode, type OperatorProc } from './helpers.js';

const CLIENTS = 50;
const mkAccount = (name: string, spec: AccountSpec): Account => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name }, spec });

/** The ledger invariant over every account, with the usage records etcd holds. */
async function invariant(store: Store): Promise<string[]> {
  const accounts = await store.list('Account');
  const records = (await store.rawRange(keys.usagePrefix())).kvs.map((kv) => (JSON.parse(kv.value.toString()) as UsageRecord).spec);
  return accounts.flatMap((a) => checkLedger(a, records));
}

/** Holds at once for the ledgers as written; the records' sum once the retention controller has filed them. */
async function holds(store: Store, what: string): Promise<void> {
  const accounts = await store.list('Account');
  assert.deepEqual(accounts.flatMap((a) => checkLedger(a)), [], `${what}: every ledger as written`);
  await waitFor(async () => ((await invariant(store)).length === 0 ? true : undefined), { timeoutMs: 20_000, what: `${what}: the ledger invariant with the usage records (${(await invariant(store)).join('; ')})` });
}

describe('accounting through the operator (real etcd)', function () {
  this.timeout(120_000);
  let etcd: TestEtcd;
  let store: Store;
  let op: OperatorProc;
  const work = mkdtempSync(join(tmpdir(), 'kiwitest-acct-'));
  let restored: ChildProcess | undefined;

  before(async () => {
    await buildOperator();
    etcd = await startEtcd();
    store = etcd.store();
    op = startOperator(etcd.endpoint, { id: 'op-acct-1', leaseTtl: 1 });
  });
  after(async () => {
    await op?.stop();
    if (restored) await stopProc(restored);
    await etcd?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const get = (ns: string, name: string) => store.get({ kind: 'Booking', namespace: ns, name }) as Promise<Booking | undefined>;
  const until = (ns: string, name: string, ok: (b: Booking) => boolean, what: string) =>
    waitFor(async () => {
      const b = await get(ns, name);
      return b && ok(b) ? b : undefined;
    }, { timeoutMs: 30_000, what: `${ns}/${name} ${what}` });
  const ledger = async (name: string) => (await store.get({ kind: 'Account', name }))!.status!;
  const edit = (ns: string, name: string, f: (b: Booking) => void) => guaranteedUpdate(store, { kind: 'Booking', namespace: ns, name }, (b) => (f(b), true));

  it(`${CLIENTS} clients racing for an account that pays for exactly 10 bookings: exactly 10 admitted`, async () => {
    const users = Array.from({ length: CLIENTS }, (_, i) => `racer${i}`);
    await store.create(mkAccount('race', { members: { users }, allocation: { units: 10 } }));
    await Promise.all(users.map((_, i) => store.create(mkNode(`r${i}`))));
    const stores = Array.from({ length: 10 }, () => etcd.store());
    await Promise.all(users.map((u, i) => stores[i % stores.length].create(mkBooking(u, 'race', { nodes: [`r${i}`], duration: 3600 }))));
    const done = await waitFor(async () => {
      const bs = (await store.list('Booking')).filter((b) => b.metadata.name === 'race');
      return bs.length === CLIENTS && bs.every((b) => b.status?.phase) ? bs : undefined;
    }, { timeoutMs: 30_000, what: 'every racing booking answered' });
    const admitted = done.filter((b) => b.status!.phase === 'Active');
    const refused = done.filter((b) => b.status!.reason === 'Rejected');
    assert.equal(admitted.length, 10);
    assert.equal(refused.length, CLIENTS - 10);
    for (const b of refused) assert.match(b.status!.message!, /account race cannot pay for this booking .* costs 1 units, 0 are available \(allocation 10, encumbered 10, charged 0 in Total\)/);
    const l = await ledger('race');
    assert.deepEqual([l.allocation, l.available, l.encumbered, l.charged], [10, 0, 10, 0]);
    assert.deepEqual(Object.keys(l.encumbrances!).sort(), admitted.map((b) => `${b.metadata.namespace}/race`).sort());
    await holds(store, 'after the race');
  });

  it('extend encumbers the extra or is refused; shorten and kill charge what was held; a cancellation before the start is free', async () => {
    await store.create(mkAccount('lab', { members: { users: ['pi'] }, allocation: { units: 5 } }));
    await Promise.all(['e1', 'e2', 'e3'].map((n) => store.create(mkNode(n))));
    await store.create(mkBooking('pi', 'long', { nodes: ['e1'], duration: 3600 }));
    await until('pi', 'long', (b) => b.status?.phase === 'Active', 'Active');
    assert.equal((await ledger('lab')).encumbered, 1);
    await edit('pi', 'long', (b) => (b.spec.duration = 3 * 3600));
    await until('pi', 'long', (b) => b.status?.observedGeneration === 2, 'extended');
    assert.equal((await ledger('lab')).encumbered, 3);
    await edit('pi', 'long', (b) => (b.spec.duration = 9 * 3600));
    const refused = await until('pi', 'long', (b) => b.status?.observedGeneration === 3, 'extension answered');
    assert.match(refused.status!.message!, /extend refused: account lab cannot pay for the extension/);
    assert.equal((await ledger('lab')).encumbered, 3);
    await holds(store, 'after extend');

    // cancelled before its start: free
    await store.create(mkBooking('pi', 'later', { nodes: ['e2'], duration: 3600, start: new Date(Date.now() + 3600_000).toISOString() }));
    await until('pi', 'later', (b) => b.status?.phase === 'Pending', 'Pending');
    assert.equal((await ledger('lab')).encumbered, 4);
    await edit('pi', 'later', (b) => (b.spec.cancelled = true));
    const cancelled = await until('pi', 'later', (b) => b.status?.phase === 'Expired', 'Expired');
    assert.equal(cancelled.status!.charged, 0);
    assert.equal((await ledger('lab')).encumbered, 3);
    await holds(store, 'after a cancellation before the start');

    // shortened to two seconds: it ends, charged for what it held
    await edit('pi', 'long', (b) => (b.spec.duration = 2));
    const short = await until('pi', 'long', (b) => b.status?.phase === 'Expired', 'Expired');
    const heldMs = Date.parse(short.status!.endTime!) - Date.parse(short.status!.startTime!);
    assert.equal(short.status!.charged, Math.ceil(heldMs / 3600) / 1000);
    // killed
    await store.create(mkBooking('pi', 'killed', { nodes: ['e3'], duration: 3600 }));
    await until('pi', 'killed', (b) => b.status?.phase === 'Active', 'Active');
    await edit('pi', 'killed', (b) => (b.spec.cancelled = true));
    const killed = await until('pi', 'killed', (b) => b.status?.phase === 'Expired', 'Expired');
    assert.ok(killed.status!.charged! > 0 && killed.status!.charged! < 0.1, `charged ${killed.status!.charged}`);
    const l = await ledger('lab');
    assert.equal(l.encumbered, 0);
    assert.equal(l.charged, Math.round((short.status!.charged! + killed.status!.charged!) * 1000) / 1000);
    await holds(store, 'after shorten and kill');
    const rec = (await store.rawRange(keys.usagePrefix())).kvs.map((kv) => JSON.parse(kv.value.toString()) as UsageRecord).find((r) => r.spec.booking.name === 'killed');
    assert.equal(rec?.spec.account, 'lab');
    assert.equal(rec?.spec.units, killed.status!.charged);
  });

  it('an operator killed mid-booking: the next one charges the booking exactly once', async () => {
    await store.create(mkBooking('pi', 'across', { nodes: ['e1'], duration: 4 }));
    await until('pi', 'across', (b) => b.status?.phase === 'Active', 'Active');
    await op.kill();
    op = startOperator(etcd.endpoint, { id: 'op-acct-2', leaseTtl: 1 });
    const b = await until('pi', 'across', (x) => x.status?.phase === 'Expired', 'Expired under the new operator');
    assert.ok(b.status!.charged! > 0);
    await holds(store, 'after the failover');
    const records = (await store.rawRange(keys.usagePrefix())).kvs.map((kv) => JSON.parse(kv.value.toString()) as UsageRecord).filter((r) => r.spec.booking.name === 'across');
    assert.equal(records.length, 1);
  });

  it('with whenShort Queue a booking waits for units and starts when a cancellation frees them (not at the next resync)', async () => {
    await store.create(mkAccount('queued', { members: { users: ['qu'] }, allocation: { units: 2 }, whenShort: 'Queue' }));
    await Promise.all(['q1', 'q2'].map((n) => store.create(mkNode(n))));
    await store.create(mkBooking('qu', 'first', { nodes: ['q1'], duration: 2 * 3600 }));
    await until('qu', 'first', (b) => b.status?.phase === 'Active', 'Active');
    await store.create(mkBooking('qu', 'second', { nodes: ['q2'], duration: 3600 }));
    const w = await until('qu', 'second', (b) => b.status?.phase === 'Pending', 'waiting');
    assert.match(w.status!.message!, /waits: account queued cannot pay for this booking .*: it costs 1 units, 0 are available .*; it waits until units are freed or added/);
    await edit('qu', 'first', (b) => (b.spec.cancelled = true));
    const t0 = Date.now();
    await until('qu', 'second', (b) => b.status?.phase === 'Active', 'Active once the units were freed');
    assert.ok(Date.now() - t0 < 10_000, 'woken by the ledger write, not by the 60 s resync');
    await holds(store, 'after a queued booking started');
  });

  it('kiwictl usage and get accounts report what the ledgers and the records say (table, CSV, JSON)', async () => {
    const kiwictl = (...args: string[]) => execFileSync(process.execPath, [binPath('kiwictl'), '--endpoints', etcd.endpoint, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const l = await ledger('lab');
    const j = JSON.parse(kiwictl('usage', '--from', new Date(Date.now() - 3600_000).toISOString(), '--to', new Date(Date.now() + 60_000).toISOString(), '--by', 'account,user', '--utilization', '-o', 'json'));
    const lab = j.accounts.find((a: { account: string }) => a.account === 'lab');
    assert.deepEqual([lab.allocation, lab.available, lab.encumbered, lab.charged], [l.allocation, l.available, l.encumbered, l.charged]);
    const row = j.rows.find((r: { account: string; user: string }) => r.account === 'lab' && r.user === 'pi');
    assert.equal(row.units, l.charged, 'the records of the period add up to what the ledger charged');
    assert.equal(row.bookings, 4);
    assert.ok(j.util.nodes >= 53 && j.util.allocatedNodeHours > 0 && j.util.idleNodeHours > 0);
    const csv = kiwictl('usage', '--by', 'user,node', '-o', 'csv');
    assert.match(csv.split('\n')[0], /^user,node,bookings,node-hours,units$/);
    assert.match(csv, /^pi,e3,1,/m);
    const table = kiwictl('get', 'accounts');
    assert.match(table, /^NAME\s+PERIOD\s+ALLOCATION\s+AVAILABLE\s+ENCUMBERED\s+CHARGED/m);
    assert.match(table, new RegExp(`^race\\s+Total\\s+10\\s+0\\s+10\\s+0`, 'm'));
    assert.throws(() => kiwictl('usage', '--by', 'colour'), (e: { status: number; stderr: string }) => e.status === 2 && /--by colour: give a comma-separated list of user, account, pool, node/.test(e.stderr));
  });

  it("an account's manager adds a member (whose booking then starts) and sets a cap; a non-manager, the allocation and a hostile value change nothing", async () => {
    await store.create(mkAccount('grp', { members: { users: ['mgr'] }, managers: ['mgr'], allocation: { units: 100 } }));
    await store.create(mkNode('g1'));
    await store.create(mkBooking('stud', 'before', { nodes: ['g1'], duration: 600 }));
    await until('stud', 'before', (b) => b.status?.reason === 'Rejected', 'refused: in no account yet');
    // identity is the request key's prefix: stud asking is refused whatever the value says
    let a = await askAccountChange(store, 'stud', { account: 'grp', addUsers: ['stud'] });
    assert.match(a.error ?? '', /stud does not manage account grp; its managers are mgr/);
    a = await askAccountChange(store, 'mgr', { account: 'grp', allocation: { units: 1e6 } } as never);
    assert.match(a.error ?? '', /unknown field\(s\) allocation: a manager may only add or remove members and set member caps/);
    a = await askAccountChange(store, 'mgr', { account: 'grp', memberCaps: { stud: -5 } });
    assert.match(a.error ?? '', /memberCaps.stud must be a number of units from 0/);
    a = await askAccountChange(store, 'mgr', 'not an object' as never);
    assert.match(a.error ?? '', /the account change is not an object/);
    a = await askAccountChange(store, 'mgr', { account: 'nope', addUsers: ['stud'] });
    assert.match(a.error ?? '', /account nope does not exist/);
    assert.deepEqual((await store.get({ kind: 'Account', name: 'grp' }))!.spec, { members: { users: ['mgr'] }, managers: ['mgr'], allocation: { units: 100 } }, 'nothing changed yet');
    a = await askAccountChange(store, 'mgr', { account: 'grp', addUsers: ['stud'], memberCaps: { stud: 5 } });
    assert.equal(a.error, undefined);
    assert.equal(a.changed, true);
    const acct = (await store.get({ kind: 'Account', name: 'grp' }))!;
    assert.deepEqual([acct.spec.members, acct.spec.memberCaps, acct.spec.allocation], [{ users: ['mgr', 'stud'] }, { stud: 5 }, { units: 100 }]);
    assert.equal((await askAccountChange(store, 'mgr', { account: 'grp', addUsers: ['stud'] })).changed, false, 'already a member: unchanged');
    await store.create(mkBooking('stud', 'after', { nodes: ['g1'], duration: 600 }));
    await until('stud', 'after', (b) => b.status?.phase === 'Active', 'Active, paid by grp');
    // raw values written straight into mgr's request prefix (a leased key, as kiwictl writes): each answered with an error, the Account untouched
    const before = JSON.stringify((await store.get({ kind: 'Account', name: 'grp' }))!.spec);
    const rawAsk = async (value: string) => {
      const id = randomBytes(8).toString('hex');
      const lease = store.etcd.lease(10, { autoKeepAlive: false });
      await lease.grant();
      try {
        await lease.put(dryRunKeys.request('mgr', id)).value(value).exec();
        return await waitFor(async () => {
          const v = await store.etcd.get(dryRunKeys.answer('mgr', id)).string();
          return v === null ? undefined : (JSON.parse(v) as { error?: string; changed?: boolean });
        }, { what: `the operator's answer to ${value.slice(0, 40)}` });
      } finally {
        await lease.revoke();
      }
    };
    for (const [value, error] of [
      ['{"accountChange": null}', /not an object/],
      ['{"accountChange": []}', /not an object/],
      ['{"accountChange": {"account": {"name": "grp"}}}', /names no account/],
      ['{"accountChange": {"account": "grp/../grp"}}', /is not an object name/],
      ['{"accountChange": {"account": "grp", "memberCaps": {"__proto__": 1}}}', /the name __proto__ is not allowed/],
      ['{"accountChange": {"account": "grp", "addUsers": [{"toString": "x"}]}}', /addUsers: /],
      ['{"accountChange": {"account": "grp", "spec": {"allocation": {"units": 1e9}}}}', /unknown field\(s\) spec/],
      ['{"accountChange": "grp", "booking": {"kind": "Booking"}}', /not an object/],
    ] as const) assert.match((await rawAsk(value)).error ?? '', error, value);
    assert.equal(JSON.stringify((await store.get({ kind: 'Account', name: 'grp' }))!.spec), before, 'no hostile value changed the Account');
    // through kiwictl (run as root here, whom the operator takes as an admin)
    const out = execFileSync(process.execPath, [binPath('kiwictl'), '--endpoints', etcd.endpoint, 'account', 'set-cap', 'grp', 'stud', 'none'], { encoding: 'utf8' });
    assert.match(out, /^account.kiwi.dev\/grp changed: members users \[mgr, stud\] groups \[\]\n$/);
    assert.equal((await store.get({ kind: 'Account', name: 'grp' }))!.spec.memberCaps, undefined);
    await holds(store, "after the manager's changes");
  });

  it('a restore from a backup (kiwictl admin backup, etcdctl snapshot restore): the ledger holds, and the operator goes on charging', async () => {
    await store.create(mkBooking('pi', 'open', { nodes: ['e2'], duration: 3600 }));
    await until('pi', 'open', (b) => b.status?.phase === 'Active', 'Active');
    const file = join(work, 'kiwi.db');
    execFileSync(process.execPath, [binPath('kiwictl'), '--endpoints', etcd.endpoint, 'admin', 'backup', file], { encoding: 'utf8' });
    const before = await ledger('lab');
    await op.stop();
    const [port, peer] = [await freePort(), await freePort()];
    const endpoint = `http://127.0.0.1:${port}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const dataDir = join(work, 'restored');
    execFileSync('etcdctl', ['snapshot', 'restore', file, '--data-dir', dataDir, '--name', 's1', '--initial-cluster', `s1=${peerUrl}`, '--initial-advertise-peer-urls', peerUrl], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'ignore' });
    restored = spawn('etcd', ['--name', 's1', '--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint, '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `s1=${peerUrl}`, '--logger', 'zap', '--log-level', 'error', ...ETCD_SERVER_FLAGS], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`${endpoint}/health`).catch(() => undefined))?.ok, { timeoutMs: 15_000, what: 'the restored etcd' });
    const client = new Etcd3({ hosts: endpoint });
    const store2 = new StoreClass(client, { endpoints: [endpoint] });
    try {
      assert.deepEqual((await store2.get({ kind: 'Account', name: 'lab' }))!.status, before);
      await holds(store2, 'right after the restore');
      op = startOperator(endpoint, { id: 'op-acct-3', leaseTtl: 1 });
      await guaranteedUpdate(store2, { kind: 'Booking', namespace: 'pi', name: 'open' }, (b) => ((b.spec.cancelled = true), true));
      await waitFor(async () => ((await store2.get({ kind: 'Booking', namespace: 'pi', name: 'open' }))?.status?.phase === 'Expired' ? true : undefined), { timeoutMs: 30_000, what: 'pi/open Expired on the restored cluster' });
      const after = (await store2.get({ kind: 'Account', name: 'lab' }))!.status!;
      assert.equal(after.encumbered, 0);
      assert.ok(after.charged! > before.charged!);
      await holds(store2, 'after the restore and a kill');
    } finally {
      client.close();
    }
  });
});
