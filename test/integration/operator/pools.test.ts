// Pools through the real operator process and a real etcd, with real Linux users and a real Unix
// group resolved through NSS (getent): who may book, a per-user limit with its exact reason and a
// planned start right after the user's own booking, a closed pool, and a Pool written raw past
// kiwictl that does not fit the schema (ignored, an event naming its key; the others still apply).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Pool, Store } from '../../../crds/api/index.js';
import { keys } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureUser } from '../../helpers/users.js';
import { buildOperator, startOperator, mkBooking, mkNode, type OperatorProc } from './helpers.js';

const GROUP = 'kiwitest-pool';
const pool = (name: string, spec: Pool['spec']): Pool => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name }, spec });

describe('pools end to end (real operator, real etcd, groups through NSS)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let store: Store;
  let op: OperatorProc;
  let member: string;
  let outsider: string;

  const get = (ns: string, name: string) => store.get({ kind: 'Booking', namespace: ns, name });
  const until = (ns: string, name: string, ok: (b: any) => boolean, what: string) =>
    waitFor(async () => {
      const b = await get(ns, name);
      return b && ok(b) ? b : undefined;
    }, { timeoutMs: 20_000, what: `${ns}/${name} ${what}` });

  before(async () => {
    this.timeout(90_000);
    member = ensureUser('pool-a').name;
    outsider = ensureUser('pool-b').name;
    try {
      execFileSync('groupadd', [GROUP], { stdio: 'pipe' });
    } catch {
      /* exists from an earlier run */
    }
    execFileSync('gpasswd', ['-a', member, GROUP], { stdio: 'pipe' });
    try {
      execFileSync('gpasswd', ['-d', outsider, GROUP], { stdio: 'pipe' });
    } catch {
      /* not a member */
    }
    await buildOperator();
    etcd = await startEtcd();
    store = etcd.store();
    await store.create(mkNode('g1', {}, { gpu: 'a100' }));
    await store.create(mkNode('g2', {}, { gpu: 'a100' }));
    await store.create(mkNode('c1'));
    await store.create(pool('gpu', { default: true, nodeSelector: 'gpu=a100', allowGroups: [GROUP], limits: { perUser: { nodes: 1 } } }));
    op = startOperator(etcd.endpoint, { id: 'op-pools', leaseTtl: 1 });
  });
  after(async () => {
    await op?.stop();
    await etcd?.stop();
    try {
      execFileSync('groupdel', [GROUP], { stdio: 'pipe' });
    } catch {
      /* already gone */
    }
  });

  it('refuses a user outside the pool\'s group, admits a member (the group read through NSS)', async () => {
    await store.create(mkBooking(outsider, 'no', { nodes: ['g1'], duration: 60 }));
    const r = await until(outsider, 'no', (b) => b.status?.phase === 'Expired', 'Expired');
    assert.equal(r.status!.reason, 'Rejected');
    assert.equal(r.status!.message, `PoolAccess: pool gpu may be booked by members of ${GROUP}; ${outsider} is neither`);
    await store.create(mkBooking(member, 'first', { count: 1, duration: 600 }));
    const a = await until(member, 'first', (b) => b.status?.phase === 'Active', 'Active');
    assert.match(a.status!.nodes![0], /^g[12]$/); // the default pool's nodes only
  });

  it('a second booking over the per-user limit is planned right after the user\'s first, naming the limit; it starts when the first is cancelled', async () => {
    const first = (await get(member, 'first'))!;
    await store.create(mkBooking(member, 'second', { count: 1, duration: 60 }));
    const w = await until(member, 'second', (b) => b.status?.phase === 'Pending' && b.status.startTime, 'Pending with a planned start');
    assert.equal(w.status!.pendingReason, 'PoolMaxNodesPerUser');
    assert.equal(w.status!.startTime, first.status!.endTime);
    assert.match(w.status!.message!, new RegExp(`held back by PoolMaxNodesPerUser: pool gpu allows 1 node\\(s\\) per user; ${member} holds 1\\)$`));
    first.spec.cancelled = true;
    await store.update(first);
    const s = await until(member, 'second', (b) => b.status?.phase === 'Active', 'Active');
    assert.equal(s.status!.pendingReason, undefined);
  });

  it('a closed pool starts nothing new (PoolClosed) and starts it once opened again', async () => {
    const p = (await store.get({ kind: 'Pool', name: 'gpu' }))!;
    p.spec!.state = 'Closed';
    await store.update(p);
    const cl = await until(member, 'second', () => true, 'present');
    assert.equal(cl.status!.phase, 'Active'); // what runs keeps running
    cl.spec.cancelled = true;
    await store.update(cl);
    await store.create(mkBooking(member, 'third', { nodes: ['g2'], duration: 60 }));
    const w = await until(member, 'third', (b) => b.status?.pendingReason === 'PoolClosed', 'waiting PoolClosed');
    assert.equal(w.status!.message, 'waits: PoolClosed: pool gpu is closed: it starts nothing new until an admin opens it (spec.state: Open)');
    const p2 = (await store.get({ kind: 'Pool', name: 'gpu' }))!;
    p2.spec!.state = 'Open';
    await store.update(p2);
    await until(member, 'third', (b) => b.status?.phase === 'Active', 'Active');
  });

  it('ignores a Pool written raw that does not fit the schema, with an event naming its key; the valid pool still applies', async () => {
    const key = keys.spec({ kind: 'Pool', name: 'bad' });
    await etcd.client().put(key).value(JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'bad' }, spec: { default: true, state: 'Maybe', nodeSelector: 'x in (' } }));
    const ev = await waitFor(async () => (await store.listEvents({ kind: 'Pool', name: 'bad' })).find((e) => e.reason === 'Invalid'), { timeoutMs: 20_000, what: 'an Invalid event on pool bad' });
    assert.match(ev.message, /\/kiwi\/spec\/pools\/bad: does not fit the schema: .*spec\.state: must be one of "Open", "Closed"/);
    await store.create(mkBooking(outsider, 'again', { nodes: ['g1'], duration: 60 }));
    const r = await until(outsider, 'again', (b) => b.status?.phase === 'Expired', 'Expired');
    assert.match(r.status!.message!, /^PoolAccess: pool gpu /);
  });
});
