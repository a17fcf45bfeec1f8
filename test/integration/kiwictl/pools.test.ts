// kiwictl and pools, end to end: the real built kiwictl against a real etcd and operator, as
// root (an admin) and as a kiwitest user: apply a Pool, get pools, explain pool, alloc --pool
// (refused naming the pool's rule; held back by the per-user limit, saying so), describe pool
// (its nodes, limits, who holds what), info grouped by pool.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteUser, ensureUser, type TestUser } from '../../helpers/users.js';
import { startCluster, type Cluster } from './booking-helpers.js';

const POOL_YAML = `apiVersion: kiwi.dev/v1alpha1
kind: Pool
metadata:
  name: gpu
spec:
  default: true
  nodeSelector: gpu=a100
  order: RoundRobin
  limits:
    maxDuration: 2h
    perUser:
      nodes: 1
`;

describe('kiwictl and pools (real etcd, real operator, real binary)', function () {
  this.timeout(60_000);
  let c: Cluster;
  let alice: TestUser;
  let tmp: string;
  const ok = (r: { code: number | null; stdout: string; stderr: string }, code = 0) =>
    assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

  before(async () => {
    alice = ensureUser('ctl-pool');
    tmp = mkdtempSync(join(tmpdir(), 'kiwitest-pools-'));
    c = await startCluster('kiwitest-pools-op');
    ok(await c.k(['add-node', 'g1', '--host', '127.0.0.1', '--label', 'gpu=a100']));
    ok(await c.k(['add-node', 'g2', '--host', '127.0.0.1', '--label', 'gpu=a100']));
    ok(await c.k(['add-node', 'c1', '--host', '127.0.0.1']));
    writeFileSync(join(tmp, 'pool.yaml'), POOL_YAML);
    ok(await c.k(['apply', '-f', join(tmp, 'pool.yaml')]));
  });
  after(async () => {
    await c?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (alice) deleteUser(alice.name);
  });

  it('get pools prints the printer columns; explain reads the schema', async () => {
    const r = await c.k(['get', 'pools']);
    ok(r);
    assert.match(r.stdout, /^NAME\s+DEFAULT\s+STATE\s+ORDER\s+SELECTOR/);
    assert.match(r.stdout, /\ngpu\s+true\s+Open\s+RoundRobin\s+gpu=a100/);
    const e = await c.k(['explain', 'pool.spec.limits.perUser']);
    ok(e);
    assert.match(e.stdout, /nodes/);
    assert.match(e.stdout, /PoolMaxNodesPerUser/);
  });

  it('alloc is refused naming the pool rule (exit non-zero), and held back by the per-user limit, saying so', async () => {
    const no = await c.as(alice, ['alloc', '-N', '1', '-t', '3h']);
    assert.notEqual(no.code, 0);
    assert.match(no.stderr, /PoolMaxDuration: pool gpu allows bookings of at most 2h; this one asks 3h/);
    const a = await c.as(alice, ['alloc', '--pool', 'gpu', '-N', '1', '-t', '30m', '--name', 'one']);
    ok(a);
    assert.match(a.stdout, /booking kiwitest-ctl-pool\/one is Active on g[12] until/);
    const b = await c.as(alice, ['alloc', '--pool', 'gpu', '-N', '1', '-t', '10m', '--name', 'two']);
    ok(b);
    assert.match(b.stdout, /waits in line: planned start/);
    assert.match(b.stdout, /held back by PoolMaxNodesPerUser: pool gpu allows 1 node\(s\) per user; kiwitest-ctl-pool holds 1/);
    const g = await c.as(alice, ['get', 'bookings']);
    ok(g);
    assert.match(g.stdout, /\ntwo\s+kiwitest-ctl-pool\s+Pending\s.*\sPoolMaxNodesPerUser: pool gpu allows 1 node\(s\) per user; /);
    const d = await c.as(alice, ['describe', 'booking', 'two']);
    ok(d);
    assert.match(d.stdout, /PendingReason:\s+PoolMaxNodesPerUser/);
    const bad = await c.as(alice, ['alloc', '--pool', 'Bad_Pool', '-N', '1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--pool Bad_Pool: not a pool name/);
  });

  it('describe pool: its nodes, its limits, who holds what now', async () => {
    const r = await c.k(['describe', 'pool', 'gpu']);
    ok(r);
    assert.match(r.stdout, /Nodes:\s+g1, g2 \(2\)/);
    assert.match(r.stdout, /Limits:\s+maxDuration 2h; per user: 1 nodes/);
    assert.match(r.stdout, /USER\s+NODES NOW\s+BOOKINGS HELD\s+WAITING\s+NODE-HOURS AHEAD/);
    assert.match(r.stdout, /kiwitest-ctl-pool\s+1\s+2\s+1\s+0\.67/);
  });

  it('info groups the nodes by pool, then those in none', async () => {
    const r = await c.k(['info']);
    ok(r);
    assert.match(r.stdout, /^POOL gpu \(default\): Open, RoundRobin, 2 node\(s\), 1 free\nNODE/);
    assert.match(r.stdout, /\nIN NO POOL: 1 node\(s\)\nNODE[^\n]*\nc1 /);
    const j = JSON.parse((await c.k(['info', '-o', 'json'])).stdout);
    assert.deepEqual(j.map((x: any) => [x.node, x.pools]), [['c1', []], ['g1', ['gpu']], ['g2', ['gpu']]]);
  });
});
