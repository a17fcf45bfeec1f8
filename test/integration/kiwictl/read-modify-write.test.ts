// The real kiwictl and the real operator on a real etcd: concurrent read-modify-writes compose
// (five `extend +10m` add up to +50m), `apply` refuses a change of a field fixed once a booking
// has started (naming the field's path), and `alloc` exits 8 when no operator answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Booking } from '../../../crds/api/index.js';
import { startCluster, type Cluster } from './booking-helpers.js';
import { startOperator, type OperatorProc } from '../operator/helpers.js';
import { waitFor } from '../../helpers/wait.js';

describe('kiwictl read-modify-write (real binary, real operator, real etcd)', function () {
  this.timeout(90_000);
  let c: Cluster;
  let tmp: string;
  let op: OperatorProc | undefined;
  const U = 'kiwitest-rmw'; // bookings are made by root for this name (--no-user-check): no Linux user needed
  const k = (...args: string[]) => c.k(args);
  const ok = (r: { code: number | null; stdout: string; stderr: string }, code = 0) =>
    assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const get = async (name: string): Promise<Booking> => {
    const r = await k('get', 'booking', name, '-n', U, '-o', 'json');
    ok(r);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kiwitest-rmw-'));
    c = await startCluster('kiwitest-rmw-op');
    for (const n of ['r1', 'r2']) ok(await k('add-node', n, '--host', '127.0.0.1'));
  });
  after(async () => {
    await op?.stop();
    await c?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('five concurrent extend -t +10m add up to +50m, and each prints an end the booking really had', async () => {
    ok(await k('alloc', '-u', U, '--no-user-check', '-w', 'r1', '-t', '1h', '--name', 'ext', '--wait', '--timeout', '20s'));
    const before = Date.parse((await get('ext')).status!.endTime!);
    // No operator while they run: none of them sees the others' changes answered, so each must
    // add to the spec it reads (a compare-and-swap and a re-read on conflict), not to the status.
    await c.operator.stop();
    const rs = Promise.all(Array.from({ length: 5 }, () => k('extend', 'ext', '-n', U, '-t', '+10m', '--timeout', '30s')));
    const written = await waitFor(async () => {
      const b = await get('ext');
      return (b.metadata.generation ?? 0) >= 6 ? b : undefined;
    }, { timeoutMs: 15_000, what: 'five spec changes (generation 6)' }).catch(() => undefined);
    op = startOperator(c.etcd.endpoint, { id: 'kiwitest-rmw-op2', leaseTtl: 1 });
    for (const r of await rs) ok(r);
    assert.ok(written, `generation ${(await get('ext')).metadata.generation}: changes were lost`);
    const b = await get('ext');
    assert.equal(Date.parse(b.status!.endTime!) - before, 50 * 60_000, `the end moved ${(Date.parse(b.status!.endTime!) - before) / 60_000} min`);
    assert.equal(b.spec.duration, 6600);
    // Each prints the end the operator gave once it had answered all five.
    for (const r of await rs) assert.ok(r.stdout.includes(b.status!.endTime!.replace('.000Z', 'Z')) || r.stdout.includes(b.status!.endTime!), r.stdout);
  });

  it('apply of an Active booking with another user, other nodes or another count is refused naming the field', async () => {
    const b = await get('ext');
    assert.equal(b.status!.phase, 'Active');
    const doc = (spec: object) => {
      const f = join(tmp, `b-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(f, JSON.stringify({ apiVersion: b.apiVersion, kind: 'Booking', metadata: { name: 'ext', namespace: U }, spec: { ...b.spec, ...spec } }));
      return f;
    };
    for (const [spec, path] of [[{ user: 'kiwitest-other' }, 'spec.user'], [{ nodes: ['r2'] }, 'spec.nodes'], [{ nodes: undefined, count: 2 }, 'spec.count']] as const) {
      const r = await k('apply', '-f', doc(spec));
      ok(r, 2);
      assert.match(r.stderr, new RegExp(`booking.kiwi.dev/ext: ${path.replace('.', '\\.')}: field is immutable once the booking has started`));
    }
    const after = await get('ext');
    assert.deepEqual([after.spec.user, after.spec.nodes, after.metadata.generation], [b.spec.user, b.spec.nodes, b.metadata.generation], 'nothing was written');
    ok(await k('apply', '-f', doc({ duration: 7200 })), 0); // the length may change
  });

  it('alloc exits 8 when no operator answers within its wait, naming the booking it created', async () => {
    await op!.stop();
    const r = await k('alloc', '-u', U, '--no-user-check', '-w', 'r2', '-t', '10m', '--name', 'noop', '--timeout', '1s');
    ok(r, 8);
    assert.match(r.stderr, /timed out after 1s waiting for the operator to plan booking kiwitest-rmw\/noop .*is kiwi-operator running/);
    assert.equal((await get('noop')).metadata.name, 'noop', 'the booking exists');
  });
});
