// Property: whatever a user or a node writes straight into etcd (random bytes, wrong types,
// huge arrays, deep nesting, null, objects that lie about their key) into every prefix it may
// write with its own credentials (auth on), the real operator keeps leading, another user's
// booking still goes Active, another user's server dry run is answered by the operator, and
// `kiwictl get bookings -A` and `kiwictl info` exit 0. Every few runs the operator is restarted,
// so that its first snapshot meets the values too. The prefixes: a user's bookings and dry-run
// requests (/kiwi/dryrun/<user>/<id>/request, under a lease of the user's, as kiwictl writes
// them), a node's status and heartbeat; a Node spec is written by an admin (its node may not:
// auth.test.ts NodeRestriction), with the same hostile values.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ChildProcess } from 'node:child_process';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { waitFor } from '../../helpers/wait.js';
import { stopProc } from '../../helpers/etcd.js';
import { keys } from '../../../crds/api/index.js';
import { oddValue, mutationPath, mutate } from '../../unit/fuzz/gen.js';
import { startUsersCluster, type AuthCluster } from './helpers.js';

const RUNS = 12;
const RESTART_EVERY = 4;

/** What a hostile writer puts: bytes, JSON of every shape, a mutated valid object, huge and deep values. */
const hostileValue = (valid: () => object): fc.Arbitrary<string | Buffer> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    fc.constantFrom('null', 'true', '7', '"x"', '[]', '{}', '{"kind":"Booking"}', ''),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.tuple(mutationPath, oddValue, fc.constantFrom('set', 'delete')).map(([p, v, op]) => JSON.stringify(mutate(valid(), p, v, op as 'set' | 'delete')) ?? '{}'),
    fc.integer({ min: 1000, max: 100_000 }).map((n) => JSON.stringify({ ...valid(), spec: { nodes: Array.from({ length: n }, (_, i) => `n${i}`) } })),
    fc.integer({ min: 1000, max: 50_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
    fc.integer({ min: 1000, max: 50_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  );

describe('security: property, hostile raw values in every writable prefix vs the real operator (auth on)', function () {
  this.timeout(300_000);
  let c: AuthCluster;
  let alice: TestUser, bob: TestUser;
  let operator: ChildProcess;

  before(async () => {
    alice = ensureUser('sec-alice');
    bob = ensureUser('sec-bob');
    c = await startUsersCluster(['fn1', 'fn2'], [alice, bob]);
    operator = c.startOperator();
  });
  after(async () => {
    await c?.stop();
  });

  it(`${RUNS} runs of hostile writes: still leading, bob's booking Active, get -A and info exit 0`, async () => {
    const booking = () => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'x', namespace: alice.name }, spec: { nodes: ['fn1'], duration: 60 } });
    const node = () => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'fn1' }, spec: { address: '127.0.0.1' }, status: { phase: 'Ready' } });
    const name = fc.oneof(fc.constantFrom('x', 'bk-1', 'A', 'a b', '..', '.', '-', 'x'.repeat(300), 'é'), fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/));
    const dryId = fc.oneof(fc.stringMatching(/^[0-9a-f]{8,16}$/), fc.constantFrom('x', '..', '0'.repeat(65)));
    const write = fc.oneof(
      fc.tuple(fc.constant('booking'), name, hostileValue(booking)),
      fc.tuple(fc.constant('dryrun'), dryId, hostileValue(() => ({ booking: booking() }))),
      fc.tuple(fc.constant('nodeSpec'), fc.constant(''), hostileValue(node)),
      fc.tuple(fc.constant('nodeStatus'), fc.constant(''), hostileValue(() => node().status)),
      fc.tuple(fc.constant('heartbeat'), fc.constant(''), hostileValue(() => ({}))),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 6 }), async (writes) => {
        run++;
        for (const [where, n, value] of writes) {
          if (where === 'dryrun') {
            // As kiwictl asks: under a short lease of the user's own (a request without one is ignored).
            const lease = c.storeAs(alice.name).etcd.lease(10, { autoKeepAlive: false });
            await lease.put(`/kiwi/dryrun/${alice.name}/${n}/request`).value(value).exec();
            continue;
          }
          const [who, key] =
            where === 'booking' ? [alice.name, keys.specPrefix('Booking', alice.name) + n]
            : where === 'nodeSpec' ? ['root', keys.spec({ kind: 'Node', name: 'fn1' })]
            : where === 'nodeStatus' ? ['kiwi-node-fn1', keys.status({ kind: 'Node', name: 'fn1' })]
            : ['kiwi-node-fn1', keys.heartbeat('fn1')];
          await c.storeAs(who).etcd.put(key).value(value).exec();
        }
        if (run % RESTART_EVERY === 0) {
          await stopProc(operator, 'SIGTERM');
          operator = c.startOperator();
        }
        const canary = `canary${run}`;
        const r = await c.as(bob, ['alloc', '-w', 'fn2', '-t', '2m', '--name', canary]);
        assert.equal(r.code, 0, r.stderr);
        await waitFor(async () => (await c.storeAs('root').get({ kind: 'Booking', namespace: bob.name, name: canary }))?.status?.phase === 'Active', { timeoutMs: 20_000, what: `${canary} Active after ${JSON.stringify(writes.map(([w, n, v]) => [w, n, String(v).slice(0, 60)]))}` });
        assert.equal(operator.exitCode, null, 'the operator is still running');
        const dry = await c.as(bob, ['alloc', '-w', 'fn2', '-t', '2m', '--name', `dry${run}`, '--dry-run=server']);
        assert.equal(dry.code, 0, dry.stderr);
        assert.doesNotMatch(dry.stdout + dry.stderr, /forecast|no answer/i, `the operator answered bob's dry run: ${dry.stdout}${dry.stderr}`);
        for (const args of [['get', 'bookings', '-A'], ['info'], ['get', 'nodes']]) {
          const g = await c.as(bob, args);
          assert.equal(g.code, 0, `${args.join(' ')}: ${g.stderr}`);
        }
        assert.equal((await c.as(bob, ['kill', canary])).code, 0);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });
});
