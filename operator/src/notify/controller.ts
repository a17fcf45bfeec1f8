// Notifications, the shell: while leading, looks at the bookings of users who have a
// Subscription (from the planner's cache, read only), derives the events (./events.ts, pure)
// against the cursor kept per booking, and writes the outbox entries and the new cursor in one
// fenced transaction: an event is in the outbox exactly when its cursor moved past it, so a
// restart neither loses nor invents one. Delivery is the Dispatcher's (./outbox.ts), on its own.
// A pass runs when the planner committed something, a Subscription or the ClusterConfig changed,
// an EndingSoon threshold is due, or every intervalMs; it never blocks planning (no shared lock,
// no await from the planner's side).
import { isDeepStrictEqual } from 'node:util';
import type { IRequestOp } from 'etcd3';
import type { Logger, Store, Subscription } from '../../../crds/api/index.js';
import { compare, deleteOp, Informer, keys, putOp, rangeOp, setCondition, type Compare } from '../../../crds/api/index.js';
import type { OperatorMetrics } from '../../../crds/api/metrics.js';
import type { ClusterCache } from '../reconcile/cache.js';
import type { Clock, Fence } from '../reconcile/index.js';
import { deriveEvents, route, thresholdsOf, unknownSinks, type Seen } from './events.js';
import { Dispatcher, type OutboxEntry } from './outbox.js';
import { Checked } from '../reconcile/checked.js';
import { PassLoop } from '../reconcile/loop.js';

/** Writes per transaction, within etcd's 128 operations. */
const OPS_PER_TXN = 100;
export const DEFAULT_OUTBOX_LIMIT = 10_000;

export interface NotifyOptions {
  store: Store;
  fence: Fence;
  cache: ClusterCache;
  log: Logger;
  clock?: Clock;
  metrics?: OperatorMetrics;
  onDeposed?: () => void;
  /** Between passes when nothing pokes, ms (default 30 s). */
  intervalMs?: number;
  /** First retry delay of a delivery, ms. */
  backoffMs?: number;
}

export class NotifyController {
  readonly dispatcher: Dispatcher;
  private readonly subs: Informer<'Subscription'>;
  private readonly seen = new Map<string, Seen>();
  private readonly checked = new Checked<Subscription>();
  private readonly clock: Clock;
  private readonly loop: PassLoop;
  /** The next EndingSoon threshold of any booking. */
  private wakeAt = Infinity;
  passes = 0;

  constructor(private readonly opts: NotifyOptions) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.subs = new Informer(opts.store, 'Subscription', { onEvent: () => this.poke(), onError: (err) => opts.log.warn({ err }, 'notify: subscription watch failed; re-listing') });
    this.dispatcher = new Dispatcher({
      store: opts.store, log: opts.log, clock: this.clock, metrics: opts.metrics, backoffMs: opts.backoffMs,
      sinks: () => opts.cache.config()?.spec?.notifications?.sinks ?? [],
    });
    this.loop = new PassLoop(() => this.pass(), { name: 'notify', log: opts.log, clock: this.clock, intervalMs: opts.intervalMs ?? 30_000, dueAt: () => this.wakeAt });
  }

  async start(): Promise<void> {
    const { kvs } = await this.opts.store.rawRange(keys.notifySeenPrefix());
    for (const kv of kvs) {
      try {
        const v = JSON.parse(kv.value.toString()) as Seen;
        if (typeof v?.uid === 'string') this.seen.set(kv.key.toString().slice(keys.notifySeenPrefix().length), v);
      } catch {
        /* a cursor that does not parse is as if absent: the events derived again carry the same ids */
      }
    }
    await this.subs.start();
    await this.dispatcher.load(this.limit());
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.subs.stop();
    await this.dispatcher.stop();
  }

  /** Something changed (a committed plan, a config): look again soon. */
  poke(): void {
    this.loop.poke();
  }

  private limit(): number {
    return this.opts.cache.config()?.spec?.notifications?.outboxLimit ?? DEFAULT_OUTBOX_LIMIT;
  }

  /** One pass: events of every subscribed user's bookings into the outbox, cursors forward. */
  async pass(): Promise<void> {
    this.passes++;
    const now = this.clock.now();
    const config = this.opts.cache.config();
    const byUser = new Map<string, Subscription[]>();
    for (const s of await this.validSubscriptions(now)) byUser.set(s.metadata.namespace!, [...(byUser.get(s.metadata.namespace!) ?? []), s]);
    let wakeAt = Infinity;
    let ops: IRequestOp[] = [];
    let after: (() => void)[] = [];
    let queued = 0;
    const live = new Set<string>();
    const flush = async () => {
      if (!ops.length) return;
      const cmp: Compare[] = [compare(this.opts.fence.key, 'Create', 'Equal', this.opts.fence.createRevision)];
      const r = await this.opts.store.txn('notify: outbox and cursors', cmp, ops, [rangeOp(this.opts.fence.key)]);
      if (!r.succeeded) {
        this.opts.log.warn('notify: no longer the leader; writing nothing');
        void this.loop.stop();
        this.opts.onDeposed?.();
        throw new Error('deposed');
      }
      for (const f of after) f();
      ops = [];
      after = [];
    };
    for (const v of this.opts.cache.bookings()) {
      if (v.invalid) continue;
      const b = v.booking;
      const path = v.key;
      const subs = byUser.get(b.metadata.namespace!);
      if (!subs) {
        if (this.seen.has(path)) live.add(path); // unsubscribed: the cursor stays until the booking goes
        continue;
      }
      live.add(path);
      const prev = this.seen.get(path);
      const r = deriveEvents(prev, b, now, thresholdsOf(subs));
      if (r.wakeAt !== undefined) wakeAt = Math.min(wakeAt, r.wakeAt);
      if (!r.events.length && isDeepStrictEqual(prev, r.seen)) continue;
      const entries: OutboxEntry[] = [];
      for (const d of route(r.events, b, subs, config)) {
        if (this.dispatcher.size + queued + entries.length >= this.limit()) {
          this.opts.metrics?.notificationsDropped.inc({ sink: d.sink });
          this.opts.log.warn({ sink: d.sink, id: d.event.id, limit: this.limit() }, 'notify: the outbox is full (spec.notifications.outboxLimit); dropping a notification');
          continue;
        }
        entries.push({ key: keys.outbox(d.sink, d.event.id), sink: d.sink, event: d.event, queued: new Date(now).toISOString() });
      }
      queued += entries.length;
      for (const e of entries) ops.push(putOp(e.key, { sink: e.sink, event: e.event, queued: e.queued }));
      ops.push(putOp(keys.notifySeen(b.metadata.namespace!, b.metadata.name!), r.seen));
      after.push(() => {
        this.seen.set(path, r.seen);
        for (const e of entries) this.dispatcher.enqueue(e);
      });
      if (ops.length >= OPS_PER_TXN) {
        await flush();
        queued = 0;
      }
    }
    // Cursors of bookings that are gone.
    for (const path of this.seen.keys()) {
      if (live.has(path) || this.opts.cache.booking(path)) continue;
      const [ns, name] = path.split('/');
      ops.push(deleteOp(keys.notifySeen(ns, name)));
      after.push(() => this.seen.delete(path));
      if (ops.length >= OPS_PER_TXN) await flush();
    }
    await flush();
    this.wakeAt = wakeAt;
  }

  /**
   * The Subscriptions that pass the schema (a user may write any bytes under their key), each
   * with its status brought up to date: Valid, and SinksKnown (does the ClusterConfig have every
   * sink it names?).
   */
  private async validSubscriptions(now: number): Promise<Subscription[]> {
    const config = this.opts.cache.config();
    const out: Subscription[] = [];
    const keep = new Set<string>();
    for (const raw of this.subs.list()) {
      const path = `${raw.metadata.namespace}/${raw.metadata.name}`;
      keep.add(path);
      const c = this.checked.check(raw, (problem) => this.opts.log.warn({ subscription: path, problem }, 'notify: ignoring a Subscription that is not valid'));
      const prev = (raw as Subscription & { status?: Subscription['status'] }).status;
      let conds = Array.isArray(prev?.conditions) ? prev.conditions : undefined; // a status anyone could write without etcd auth
      if ('problem' in c) conds = setCondition(conds, { type: 'Valid', status: 'False', reason: 'Invalid', message: `${c.problem.slice(0, 900)}; nothing is sent for it until it is fixed (kiwictl apply -f FILE)` }, now);
      else {
        out.push(c.ok);
        const missing = unknownSinks(c.ok, config);
        conds = setCondition(conds, { type: 'Valid', status: 'True', reason: 'Valid', message: 'the subscription is valid' }, now);
        conds = setCondition(conds, missing.length
          ? { type: 'SinksKnown', status: 'False', reason: 'UnknownSink', message: `the ClusterConfig has no sink ${missing.map((m) => `"${m}"`).join(', ')} (kiwictl get clusterconfig default -o yaml shows spec.notifications.sinks); nothing is sent there` }
          : { type: 'SinksKnown', status: 'True', reason: 'AllKnown', message: 'every sink named exists' }, now);
      }
      const status = { observedGeneration: raw.metadata.generation ?? 1, conditions: conds };
      if (isDeepStrictEqual(prev, status)) continue;
      const ref = { kind: 'Subscription' as const, namespace: raw.metadata.namespace!, name: raw.metadata.name! };
      await this.opts.store
        .updateStatus(ref, status, { expectedStatusRevision: this.subs.getStored(path)?.statusRevision ?? 0 })
        .catch((err) => this.opts.log.debug({ err, subscription: path }, 'notify: subscription status not written; next pass'));
    }
    this.checked.forget(keep);
    return out;
  }
}
