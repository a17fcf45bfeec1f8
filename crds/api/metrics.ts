// Kiwi's Prometheus metrics, all in one place: the names and labels the operator and the node
// daemon export (served by crds/api/observe.ts). The programs only count here, in their
// imperative shells; the pure cores (planner, decide/) know nothing of metrics.
// Kept apart from crds/api/index.ts so that kiwictl never loads prom-client.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AlreadyExistsError, ConflictError, InvalidError, NotFoundError } from './errors.js';

/** A fresh registry with the standard process_* and nodejs_* metrics. */
export function newRegistry(): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r });
  return r;
}

export const BOOKING_PHASES = ['Pending', 'Active', 'Expired'] as const;

export interface OperatorMetrics {
  registry: Registry;
  /** Bookings by status.phase ("New": not admitted yet). Reported by the leader, from its cache. */
  bookings: Gauge<'phase'>;
  /** Pending bookings (the queue). Reported by the leader. */
  queueLength: Gauge;
  /** Seconds from a booking's creation to its activation, observed when it starts (reservations with a fixed start excluded). */
  queueWait: Histogram;
  /** Seconds of one reconcile pass (plan + writes). */
  reconcileDuration: Histogram;
  /** Transactions whose compare-and-swap lost (another writer changed a calendar, spec or status): re-read and retried. */
  planningConflicts: Counter;
  /** Committed transitions: kind Booking (Queued, Started, TimeLimit, Cancelled, ...) or Node (Ready, NotReady, Drained). */
  transitions: Counter<'kind' | 'transition'>;
  /** 1 while this replica leads. */
  leader: Gauge;
  /** Failed etcd calls by operation. */
  etcdErrors: Counter<'op'>;
  /** Pending bookings by pool and by what they wait for. Reported by the leader. */
  waiting: Gauge<'pool' | 'reason'>;
  /** Nodes by status.phase (power saving's Off, PoweringOff, Resuming too; "None": no daemon yet). Reported by the leader. */
  nodes: Gauge<'phase'>;
  /** Power commands the operator carried out (action off or on, result ok or failed). */
  powerActions: Counter<'action' | 'result'>;
  /** Accounting: each account's ledger (units encumbered, charged this period, available), from the leader's cache. */
  accountUnits: Gauge<'account' | 'state'>;
  /** Accounting: units charged, counted as the charges commit. */
  unitsCharged: Counter<'account'>;
}

/** An account's ledger in units, as the metrics show it. */
export interface AccountUnits {
  encumbered: number;
  charged: number;
  available?: number;
}

export function operatorMetrics(registry: Registry, src: { bookingPhases: () => Map<string, number> | undefined; isLeader: () => boolean; nodePhases?: () => Map<string, number> | undefined; waiting?: () => WaitingCount[] | undefined; accounts?: () => Map<string, AccountUnits> | undefined }): OperatorMetrics {
  const byPhase = () => src.bookingPhases();
  return {
    registry,
    bookings: new Gauge({
      name: 'kiwi_bookings',
      help: 'Bookings by phase (New: not admitted yet), from the leader\'s cache; a standby reports none',
      labelNames: ['phase'],
      registers: [registry],
      collect() {
        this.reset();
        const m = byPhase();
        if (!m) return;
        for (const p of BOOKING_PHASES) this.set({ phase: p }, 0);
        for (const [p, n] of m) this.set({ phase: p }, n);
      },
    }),
    queueLength: new Gauge({
      name: 'kiwi_queue_length',
      help: 'Pending bookings (waiting for their nodes or their start), from the leader\'s cache; a standby reports none',
      registers: [registry],
      collect() {
        this.reset();
        const m = byPhase();
        if (m) this.set(m.get('Pending') ?? 0);
      },
    }),
    queueWait: new Histogram({
      name: 'kiwi_queue_wait_seconds',
      help: 'Seconds from a booking\'s creation to its activation (0 when its nodes were free), observed when it starts; fixed-start reservations excluded',
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'kiwi_reconcile_duration_seconds',
      help: 'Seconds of one reconcile pass: plan the whole cached state, write what differs',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    planningConflicts: new Counter({
      name: 'kiwi_planning_conflicts_total',
      help: 'Planned transactions whose compare-and-swap lost (re-read and retried)',
      registers: [registry],
    }),
    transitions: new Counter({
      name: 'kiwi_transitions_total',
      help: 'Committed transitions by kind (Booking, Node) and transition (Queued, Started, TimeLimit, Cancelled, Rejected, Ready, NotReady, Drained, ...)',
      labelNames: ['kind', 'transition'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'kiwi_leader',
      help: '1 while this operator replica is the leader, else 0',
      registers: [registry],
      collect() {
        this.set(src.isLeader() ? 1 : 0);
      },
    }),
    etcdErrors: etcdErrorsCounter(registry),
    accountUnits: new Gauge({
      name: 'kiwi_account_units',
      help: 'Service units of each account by state: encumbered (reserved by bookings not over), charged (this period), available (absent without a limit); from the leader\'s cache, a standby reports none',
      labelNames: ['account', 'state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [account, u] of src.accounts?.() ?? []) {
          this.set({ account, state: 'encumbered' }, u.encumbered);
          this.set({ account, state: 'charged' }, u.charged);
          if (u.available !== undefined) this.set({ account, state: 'available' }, u.available);
        }
      },
    }),
    unitsCharged: new Counter({
      name: 'kiwi_units_charged_total',
      help: 'Service units charged to each account by this operator replica, counted as the charges commit',
      labelNames: ['account'],
      registers: [registry],
    }),
    waiting: new Gauge({
      name: 'kiwi_bookings_waiting',
      help: 'Pending bookings by pool (none: no Pool objects) and reason (a pool limit such as PoolMaxNodesPerUser, else Queued or Scheduled), from the leader\'s cache; a standby reports none',
      labelNames: ['pool', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const w of src.waiting?.() ?? []) this.set({ pool: w.pool, reason: w.reason }, w.count);
      },
    }),
    nodes: new Gauge({
      name: 'kiwi_nodes',
      help: 'Nodes by phase (Ready, NotReady, Draining, Drained; Off, PoweringOff, Resuming: power saving, no alarm; None: no daemon yet), from the leader\'s cache; a standby reports none',
      labelNames: ['phase'],
      registers: [registry],
      collect() {
        this.reset();
        const m = src.nodePhases?.();
        if (m) for (const [p, n] of m) this.set({ phase: p }, n);
      },
    }),
    powerActions: new Counter({
      name: 'kiwi_power_actions_total',
      help: 'Power commands carried out by the operator (power saving), by action (off, on) and result (ok, failed)',
      labelNames: ['action', 'result'],
      registers: [registry],
    }),
  };
}

/** Pending bookings of one pool waiting for one reason. */
export interface WaitingCount {
  pool: string;
  reason: string;
  count: number;
}

export interface DaemonMetrics {
  registry: Registry;
  /** Seconds from the first signal to the last process gone (or to giving up), per cleanup. */
  cleanupDuration: Histogram<'result'>;
  /** Processes left alive by the last cleanup (0 after a clean one). */
  cleanupLeftover: Gauge;
  /** Cleanups that left processes alive (the node is drained). */
  cleanupFailures: Counter;
  /** Processes signalled: by cleanup sweeps (signal "sweep": SIGTERM, then SIGKILL until gone) or by a booking's end signal. */
  processesKilled: Counter<'signal'>;
  /** PAM checks answered, by outcome and allow. */
  pamDecisions: Counter<'outcome' | 'allow'>;
  etcdErrors: Counter<'op'>;
  /** 1 while the heartbeat lease was kept alive within its TTL. */
  heartbeatOk: Gauge;
}

export function daemonMetrics(registry: Registry, src: { heartbeatOk: () => boolean }): DaemonMetrics {
  return {
    registry,
    cleanupDuration: new Histogram({
      name: 'kiwi_cleanup_duration_seconds',
      help: 'Seconds from the first signal of a cleanup to the last of the user\'s processes gone (result ok) or to giving up (result failed)',
      labelNames: ['result'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    cleanupLeftover: new Gauge({
      name: 'kiwi_cleanup_leftover_processes',
      help: 'Processes the last cleanup left alive (0 after a clean one)',
      registers: [registry],
    }),
    cleanupFailures: new Counter({
      name: 'kiwi_cleanup_failures_total',
      help: 'Cleanups that left processes alive after --cleanup-timeout (the node is drained)',
      registers: [registry],
    }),
    processesKilled: new Counter({
      name: 'kiwi_processes_killed_total',
      help: 'Processes signalled: signal="sweep" by end-of-booking cleanups (SIGTERM, then SIGKILL until gone), else the booking\'s end signal',
      labelNames: ['signal'],
      registers: [registry],
    }),
    pamDecisions: new Counter({
      name: 'kiwi_pam_decisions_total',
      help: 'PAM login checks answered on the socket, by outcome (booked, admin, bypass, root, systemUser, noBooking, heldByOther, notYet, noView, invalid, error) and allow',
      labelNames: ['outcome', 'allow'],
      registers: [registry],
    }),
    etcdErrors: etcdErrorsCounter(registry),
    heartbeatOk: new Gauge({
      name: 'kiwi_heartbeat_ok',
      help: '1 while the heartbeat lease is kept alive (last success within the lease TTL), else 0',
      registers: [registry],
      collect() {
        this.set(src.heartbeatOk() ? 1 : 0);
      },
    }),
  };
}

function etcdErrorsCounter(registry: Registry): Counter<'op'> {
  return new Counter({
    name: 'kiwi_etcd_errors_total',
    help: 'Failed etcd calls by operation (the Store method, or probe/heartbeat)',
    labelNames: ['op'],
    registers: [registry],
  });
}

/** An etcd failure (unreachable, timeout, refused, ...), not an answer such as not-found or a lost compare. */
export function isEtcdFailure(err: unknown): boolean {
  return !(err instanceof NotFoundError || err instanceof AlreadyExistsError || err instanceof ConflictError || err instanceof InvalidError);
}

/**
 * Wraps an object (the Store) so that every method whose promise rejects with an etcd failure
 * (isEtcdFailure) is reported by the method's name; calls go to the real object (`this` is the target), results pass unchanged.
 */
export function countRejections<T extends object>(target: T, onError: (op: string, err: unknown) => void): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (typeof v !== 'function' || typeof prop !== 'string' || prop === 'constructor') return v;
      return (...args: unknown[]) => {
        const r = v.apply(t, args);
        if (r instanceof Promise) r.catch((err) => isEtcdFailure(err) && onError(prop, err));
        return r;
      };
    },
  });
}
