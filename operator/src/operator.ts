// The operator's run loop, apart from flags and signals so that tests and the bench can run
// it in-process: campaign, lead (reconcile) until the leadership is lost, stand by again.
import { hostname } from 'node:os';
import type { Etcd3 } from 'etcd3';
import type { Logger, Store } from '../../crds/api/index.js';
import type { AccountUnits, OperatorMetrics } from '../../crds/api/metrics.js';
import { allocationMilli, encodeLedger, periodOf, rollLedger, toUnits } from '../../crds/api/ledger.js';
import { Election } from './election/election.js';
import { warmUp } from './plan/index.js';
import { ClusterCache, Reconciler, systemClock, type Clock, type ReconcilerObserver } from './reconcile/index.js';
import { RetentionController } from './retention/index.js';
import { systemUsers } from '../../crds/api/nss.js';
import type { UserLookup } from '../../crds/api/users.js';
import type { GroupLookup } from './reconcile/groups.js';
import type { WaitingCount } from '../../crds/api/metrics.js';
import { waitingByPool } from '../../crds/api/pool.js';
import { DryRunServer } from './dryrun/server.js';
import { NotifyController } from './notify/controller.js';
import { ScheduleController } from './recurring/controller.js';
import { GrantController } from './grants/index.js';
import { PowerActor } from './power/act.js';
import { effectivePower } from '../../crds/api/index.js';

export interface OperatorOptions {
  client: Etcd3;
  store: Store;
  log: Logger;
  id?: string;
  leaseTtlSeconds?: number;
  resyncMs?: number;
  clock?: Clock;
  /** The user database (default: this host's, through NSS). */
  users?: UserLookup;
  /** Unix groups by name (default: this host's, through NSS), for the pools' allowGroups. */
  groups?: GroupLookup;
  /** Counted into when given (crds/api/metrics.ts operatorMetrics). */
  metrics?: OperatorMetrics;
  /** Between retention sweeps, ms (default 10 s; operator/src/retention). */
  retentionSweepMs?: number;
  /** Between notification and schedule passes when nothing pokes, ms (default 30 s). */
  notifyIntervalMs?: number;
  scheduleIntervalMs?: number;
  /** First retry delay of a notification, ms (default 500, doubling). */
  notifyBackoffMs?: number;
  /** Between looks for flooding users, ms (default 500; operator/src/grants). */
  grantsIntervalMs?: number;
}

export class Operator {
  readonly election: Election;
  reconciler?: Reconciler;
  /** Usage records, retention and compaction, beside the planner while leading. */
  retention?: RetentionController;
  /** Notifications and recurring bookings, beside the planner while leading (operator/src/notify, recurring). */
  notify?: NotifyController;
  schedules?: ScheduleController;
  /** Revokes a flooding user's write grants, beside the planner while leading. */
  grants?: GrantController;
  private stopping = false;
  private running?: Promise<void>;
  private lostWaiter?: () => void;
  /** True while leading with the cache's first snapshot taken. */
  private synced = false;
  /**
   * etcd's state as the planner reads it, listed and watched from start to stop, leading or not
   * (controller-runtime starts its caches before the leader election, for the same reason): a
   * term that began with its own snapshot held the event loop for seconds at 100,000 bookings,
   * longer than the lease TTL (2 s), so the new leader lost its lease before its first pass and
   * campaigned again, for ever (bench/scale-count.ts 10000, 2026-12-02).
   */
  private cache?: ClusterCache;

  constructor(private readonly opts: OperatorOptions) {
    this.election = new Election(opts.client, opts.store, {
      id: opts.id ?? `${hostname()}-${process.pid}`,
      ttlSeconds: opts.leaseTtlSeconds ?? 2,
      log: opts.log,
      clock: opts.clock,
    });
  }

  /**
   * Syncs the cache at once and campaigns once `mayLead` has resolved (the start-up security
   * check, kiwi-operator's main): reading while etcd's answer to it is on its way costs nothing,
   * and a cold start spent one round trip more before its snapshot.
   */
  start(mayLead: Promise<unknown> = Promise.resolve()): void {
    // Before campaigning, what a new leader's first pass would otherwise pay while the cluster
    // waits: the planner's code paths and the first read of the user database (a getent).
    warmUp((this.opts.clock ?? systemClock).now());
    (this.opts.users ?? systemUsers().lookup)('root');
    this.running = this.run(mayLead).catch((err) => {
      if (!this.stopping) this.opts.log.error({ err }, 'operator loop failed');
    });
  }

  private async run(mayLead: Promise<unknown>): Promise<void> {
    const log = this.opts.log;
    // Synced before the first campaign: a leader starts planning at once, with no snapshot to take.
    for (;;) {
      if (this.stopping) return;
      const cache = new ClusterCache(this.opts.store, () => undefined, log);
      try {
        await cache.start();
        this.cache = cache;
        log.info({ revision: cache.revision }, 'cache synced; campaigning');
        break;
      } catch (err) {
        log.error({ err }, 'snapshot failed; retrying in 1 s');
        await cache.stop().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    await mayLead;
    while (!this.stopping) {
      const leader = await this.election.campaign();
      if (this.stopping) return;
      log.info({ createRevision: leader.createRevision, id: this.opts.id }, 'became leader');
      const lost = new Promise<void>((r) => {
        this.lostWaiter = r;
        this.election.once('lost', () => r());
      });
      const users = this.opts.users ?? systemUsers().lookup;
      const groups = this.opts.groups ?? ((n: string) => systemUsers().group(n));
      let rec: Reconciler | undefined = undefined;
      // Power saving's shell: what the planner decided to power off or on, once written.
      const power = new PowerActor({
        store: this.opts.store, log,
        settings: () => effectivePower(rec?.cache.config()),
        node: (n) => rec?.cache.nodes().get(n)?.node,
        now: () => (this.opts.clock ?? { now: Date.now }).now(),
        observe: (action, ok) => this.opts.metrics?.powerActions.inc({ action, result: ok ? 'ok' : 'failed' }),
      });
      rec = new Reconciler({
        store: this.opts.store,
        fence: { key: leader.key, createRevision: leader.createRevision },
        log,
        clock: this.opts.clock,
        resyncMs: this.opts.resyncMs,
        users,
        groups,
        ...(this.opts.users ? {} : { prefetchUsers: (ns: Iterable<string>) => systemUsers().prefetch(ns) }),
        onDeposed: () => this.lostWaiter?.(),
        observer: this.observer(),
        onPower: (a) => power.act(a.name, a.power),
        cache: this.cache,
      });
      this.reconciler = rec;
      // Server-side dry runs are answered by the leader, from its cache (operator/src/dryrun).
      const dryRun = new DryRunServer({ store: this.opts.store, cache: rec.cache, log, id: this.opts.id ?? `${hostname()}-${process.pid}`, now: () => (this.opts.clock ?? { now: Date.now }).now(), users, groups });
      const retention = new RetentionController({
        store: this.opts.store,
        fence: { key: leader.key, createRevision: leader.createRevision },
        cache: rec.cache,
        log,
        clock: this.opts.clock,
        sweepMs: this.opts.retentionSweepMs,
        onDeposed: () => this.lostWaiter?.(),
      });
      const notify = new NotifyController({ store: this.opts.store, fence: { key: leader.key, createRevision: leader.createRevision }, cache: rec.cache, log, clock: this.opts.clock, metrics: this.opts.metrics, onDeposed: () => this.lostWaiter?.(), intervalMs: this.opts.notifyIntervalMs, backoffMs: this.opts.notifyBackoffMs });
      const schedules = new ScheduleController({ store: this.opts.store, cache: rec.cache, log, clock: this.opts.clock, intervalMs: this.opts.scheduleIntervalMs });
      const grants = new GrantController({
        client: this.opts.client,
        store: this.opts.store,
        fence: { key: leader.key, createRevision: leader.createRevision },
        cache: rec.cache,
        log,
        clock: this.opts.clock,
        intervalMs: this.opts.grantsIntervalMs,
        onDeposed: () => this.lostWaiter?.(),
      });
      try {
        await rec.start();
        power.resumeUnfinished(rec.cache.nodes().values());
        await dryRun.start();
        this.synced = true;
        this.retention = retention;
        retention.start();
        // Off the planning path: their passes read the cache and never hold a pass up.
        await notify.start();
        this.notify = notify;
        await schedules.start();
        this.schedules = schedules;
        this.grants = grants;
        grants.start();
        await lost;
      } catch (err) {
        log.error({ err }, 'leading failed; standing by again');
      } finally {
        this.synced = false;
        this.notify = undefined;
        this.schedules = undefined;
        await schedules.stop();
        await notify.stop();
        await dryRun.stop();
        this.retention = undefined;
        await retention.stop();
        this.grants = undefined;
        await grants.stop();
        await rec.stop();
        await power.idle();
        this.reconciler = undefined;
      }
      if (!this.stopping) log.warn('no longer leader; standing by');
    }
  }

  /** Leading, with the cache synced (a snapshot taken, watches on). */
  get leading(): boolean {
    return this.synced && this.election.leadership !== undefined;
  }

  /** Bookings by status.phase ("New": none yet) from the leader's cache; undefined when not leading. */
  bookingPhases(): Map<string, number> | undefined {
    if (!this.leading || !this.reconciler) return undefined;
    const m = new Map<string, number>();
    for (const v of this.reconciler.cache.bookings()) {
      const p = v.booking.status?.phase ?? 'New';
      m.set(p, (m.get(p) ?? 0) + 1);
    }
    return m;
  }

  /** Each account's ledger as the leader's cache holds it (metrics), rolled to the current period. */
  accountUnits(): Map<string, AccountUnits> | undefined {
    if (!this.leading || !this.reconciler) return undefined;
    const now = (this.opts.clock ?? { now: () => Date.now() }).now();
    const m = new Map<string, AccountUnits>();
    for (const [name, av] of this.reconciler.cache.accounts()) {
      if (!av.ledger) continue;
      const st = encodeLedger(rollLedger(av.ledger, periodOf(av.account.spec?.allocation?.period, now)), allocationMilli(av.account));
      m.set(name, { encumbered: st.encumbered ?? 0, charged: st.charged ?? 0, ...(st.available !== undefined ? { available: st.available } : {}) });
    }
    return m;
  }

  /** Pending bookings by pool and reason, from the leader's cache; undefined when not leading. */
  waiting(): WaitingCount[] | undefined {
    if (!this.leading || !this.reconciler) return undefined;
    const c = this.reconciler.cache;
    return waitingByPool(c.bookings().map((v) => v.booking), c.pools());
  }

  /** Nodes by status.phase ("None": no daemon reported yet) from the leader's cache; undefined when not leading. */
  nodePhases(): Map<string, number> | undefined {
    if (!this.leading || !this.reconciler) return undefined;
    const m = new Map<string, number>();
    for (const v of this.reconciler.cache.nodes().values()) {
      const p = v.node.status?.phase ?? 'None';
      m.set(p, (m.get(p) ?? 0) + 1);
    }
    return m;
  }

  /** The reconciler's hooks: metrics (counting only, in the shell), and Expired bookings for their usage records. */
  private observer(): ReconcilerObserver {
    const m = this.opts.metrics;
    const now = () => (this.opts.clock ?? { now: () => Date.now() }).now();
    return {
      pass: (s) => m?.reconcileDuration.observe(s),
      conflict: () => m?.planningConflicts.inc(),
      committed: (actions) => {
        for (const a of actions) if (a.kind === 'booking' && a.status?.phase === 'Expired') this.retention?.expired(a.key, a.status);
        if (actions.some((a) => a.kind === 'booking')) {
          this.notify?.poke();
          this.schedules?.poke();
        }
        if (!m) return;
        // One inc per label set, not per action: prom-client hashes the labels on every call (~20 us), and a transaction carries up to ~40 starts.
        const transitions = new Map<string, { kind: 'Booking' | 'Node'; transition: string; n: number }>();
        for (const a of actions) {
          const kind = a.kind === 'booking' ? 'Booking' : 'Node';
          const t = transitions.get(`${kind} ${a.transition}`);
          if (t) t.n++;
          else transitions.set(`${kind} ${a.transition}`, { kind, transition: a.transition, n: 1 });
        }
        for (const t of transitions.values()) m.transitions.inc({ kind: t.kind, transition: t.transition }, t.n);
        for (const a of actions) {
          if (a.kind === 'booking') for (const c of a.ledger ?? []) if (c.charge) m.unitsCharged.inc({ account: c.account }, toUnits(c.charge.milli));
          if (a.kind !== 'booking' || a.transition !== 'Started' || a.status?.phase !== 'Active') continue;
          const b = this.reconciler?.cache.booking(a.key)?.booking;
          const created = Date.parse(b?.metadata.creationTimestamp ?? '');
          if (!b || b.spec.start || Number.isNaN(created)) continue; // a reservation waits for its own start, not in the queue
          m.queueWait.observe(Math.max(0, (now() - created) / 1000));
        }
      },
    };
  }

  /** Stops reconciling, resigns (the key goes at once, so a standby takes over without waiting for the TTL), revokes the lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.lostWaiter?.();
    await this.reconciler?.stop();
    await this.election.resign();
    await this.running;
    await this.cache?.stop();
  }
}
