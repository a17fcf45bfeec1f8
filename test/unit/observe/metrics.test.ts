// The metric definitions and the etcd-error counting wrapper (crds/api/metrics.ts).
import { strict as assert } from 'node:assert';
import { NotFoundError, UnavailableError } from '../../../crds/api/errors.js';
import { countRejections, daemonMetrics, newRegistry, operatorMetrics } from '../../../crds/api/metrics.js';
import { waitingByPool } from '../../../crds/api/pool.js';
import type { Booking, Pool } from '../../../crds/api/types.js';

class FakeStore {
  #calls = 0;
  async get(fail?: Error): Promise<number> {
    this.#calls++;
    if (fail) throw fail;
    return this.#calls;
  }
  eventOp(): string {
    return 'op';
  }
}

describe('metrics', () => {
  it('counts a wrapped object\'s etcd failures by method, not its answers, and changes nothing else', async () => {
    const seen: string[] = [];
    const s = countRejections(new FakeStore(), (op) => seen.push(op));
    assert.equal(await s.get(), 1);
    assert.equal(s.eventOp(), 'op');
    await assert.rejects(s.get(new UnavailableError('etcd down')), UnavailableError);
    await assert.rejects(s.get(new NotFoundError('no such booking')), NotFoundError);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ['get']);
    assert.ok(s instanceof FakeStore);
  });

  it('exports the documented names; the leader reports bookings by phase, a standby none', async () => {
    const r = newRegistry();
    let phases: Map<string, number> | undefined = new Map([['Active', 2], ['New', 1]]);
    const m = operatorMetrics(r, { bookingPhases: () => phases, isLeader: () => phases !== undefined, accounts: () => (phases ? new Map([['lab', { encumbered: 3, charged: 1.5, available: 5.5 }], ['open', { encumbered: 0, charged: 2 }]]) : undefined) });
    m.transitions.inc({ kind: 'Booking', transition: 'Started' });
    m.unitsCharged.inc({ account: 'lab' }, 1.5);
    let text = await r.metrics();
    for (const n of ['kiwi_bookings', 'kiwi_queue_length', 'kiwi_queue_wait_seconds', 'kiwi_reconcile_duration_seconds', 'kiwi_planning_conflicts_total', 'kiwi_transitions_total', 'kiwi_leader', 'kiwi_etcd_errors_total']) assert.match(text, new RegExp(`^# TYPE ${n} `, 'm'));
    assert.match(text, /^kiwi_bookings\{phase="Active"\} 2$/m);
    assert.match(text, /^kiwi_bookings\{phase="Pending"\} 0$/m);
    assert.match(text, /^kiwi_leader 1$/m);
    assert.match(text, /^kiwi_transitions_total\{kind="Booking",transition="Started"\} 1$/m);
    assert.match(text, /^kiwi_account_units\{account="lab",state="encumbered"\} 3$/m);
    assert.match(text, /^kiwi_account_units\{account="lab",state="available"\} 5.5$/m);
    assert.match(text, /^kiwi_account_units\{account="open",state="charged"\} 2$/m);
    assert.doesNotMatch(text, /account="open",state="available"/, 'an account without limit has no available');
    assert.match(text, /^kiwi_units_charged_total\{account="lab"\} 1.5$/m);
    phases = undefined;
    text = await r.metrics();
    assert.doesNotMatch(text, /^kiwi_account_units\{/m, 'a standby reports no ledgers');
    assert.doesNotMatch(text, /^kiwi_bookings\{/m);
    assert.match(text, /^kiwi_leader 0$/m);

    const r2 = newRegistry();
    daemonMetrics(r2, { heartbeatOk: () => true });
    const t2 = await r2.metrics();
    for (const n of ['kiwi_cleanup_duration_seconds', 'kiwi_cleanup_leftover_processes', 'kiwi_cleanup_failures_total', 'kiwi_processes_killed_total', 'kiwi_pam_decisions_total', 'kiwi_etcd_errors_total', 'kiwi_heartbeat_ok']) assert.match(t2, new RegExp(`^# TYPE ${n} `, 'm'));
    assert.match(t2, /^kiwi_heartbeat_ok 1$/m);
  });

  it('reports bookings waiting by pool and by reason, from the planner\'s statuses', async () => {
    const r = newRegistry();
    const pools: Pool[] = [{ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'gpu' }, spec: { default: true } }, { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'cpu' } }];
    const bk = (pool: string | undefined, status: Booking['status']): Booking => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'b', namespace: 'u' }, spec: { nodes: ['n'], ...(pool ? { pool } : {}) }, status });
    const bookings = [
      bk(undefined, { phase: 'Pending', reason: 'Queued', pendingReason: 'PoolMaxNodesPerUser' }),
      bk('gpu', { phase: 'Pending', reason: 'Queued', pendingReason: 'PoolMaxNodesPerUser' }),
      bk('cpu', { phase: 'Pending', reason: 'Queued' }),
      bk('gone', { phase: 'Pending', reason: 'Queued', pendingReason: 'PoolNotFound' }),
      bk('cpu', { phase: 'Active', reason: 'Started' }),
    ];
    operatorMetrics(r, { bookingPhases: () => new Map(), isLeader: () => true, waiting: () => waitingByPool(bookings, pools) });
    const text = await r.metrics();
    assert.match(text, /^kiwi_bookings_waiting\{pool="gpu",reason="PoolMaxNodesPerUser"\} 2$/m);
    assert.match(text, /^kiwi_bookings_waiting\{pool="cpu",reason="Queued"\} 1$/m);
    assert.match(text, /^kiwi_bookings_waiting\{pool="unknown",reason="PoolNotFound"\} 1$/m);
    assert.deepEqual(waitingByPool(bookings, []), [{ pool: 'none', reason: 'PoolMaxNodesPerUser', count: 2 }, { pool: 'none', reason: 'PoolNotFound', count: 1 }, { pool: 'none', reason: 'Queued', count: 1 }]);
  });
});
