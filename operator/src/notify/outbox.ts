// Delivery, apart from planning: the outbox in etcd (/kiwi/notify/outbox/<sink>/<id>) is loaded
// at start and fed by the controller; each sink has its own queue and at most CONCURRENCY
// deliveries in flight, so a slow or dead sink holds up nobody but itself and never the planner.
// Each notification is retried with exponential backoff (cockatiel) up to the sink's maxAttempts,
// then given up on: counted failed, logged, and a Warning event on its booking. Its key is
// deleted only after the sink accepted it (or it was given up on): an operator that dies between
// the two delivers it again, with the same idempotency key (at least once).
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { Logger, Store } from '../../../crds/api/index.js';
import { deleteOp, keys } from '../../../crds/api/index.js';
import type { OperatorMetrics } from '../../../crds/api/metrics.js';
import type { Clock } from '../reconcile/index.js';
import type { NotifyEvent } from './events.js';
import { PermanentError, send } from './sinks.js';
import type { SinkSpec } from './wire.js';

export const CONCURRENCY = 2;

export interface OutboxEntry {
  key: string;
  sink: string;
  event: NotifyEvent;
  /** When it was queued (RFC 3339). */
  queued: string;
}

export interface DispatcherOptions {
  store: Store;
  log: Logger;
  clock: Clock;
  /** The sinks as the ClusterConfig says now. */
  sinks: () => SinkSpec[];
  metrics?: OperatorMetrics;
  /** First retry delay, ms (doubling, at most 30 s). */
  backoffMs?: number;
  /** The sink call (tests pass a fake); default sinks.ts send. */
  send?: typeof send;
}

export class Dispatcher {
  private readonly queues = new Map<string, OutboxEntry[]>();
  private readonly running = new Map<string, number>();
  /** Every key queued or in flight: the same entry is never delivered twice at once. */
  private readonly held = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private stopped = false;

  constructor(private readonly opts: DispatcherOptions) {}

  /** Loads what a previous leader left in the outbox. */
  async load(limit: number): Promise<number> {
    const { kvs } = await this.opts.store.rawRange(keys.outboxPrefix());
    let n = 0;
    for (const kv of kvs.slice(0, limit)) {
      try {
        const v = JSON.parse(kv.value.toString()) as OutboxEntry;
        if (typeof v?.sink !== 'string' || typeof v.event?.id !== 'string') throw new Error('not an outbox entry');
        this.enqueue({ ...v, key: kv.key.toString() });
        n++;
      } catch (err) {
        this.opts.log.warn({ key: kv.key.toString(), err }, 'notify: dropping an outbox value that does not parse');
        await this.opts.store.txn('drop a bad outbox entry', [], [deleteOp(kv.key.toString())]).catch(() => undefined);
      }
    }
    return n;
  }

  /** Entries queued or in flight. */
  get size(): number {
    return this.held.size;
  }

  enqueue(e: OutboxEntry): void {
    if (this.stopped || this.held.has(e.key)) return;
    this.held.add(e.key);
    const q = this.queues.get(e.sink) ?? [];
    q.push(e);
    this.queues.set(e.sink, q);
    this.opts.metrics?.outbox.inc({ sink: e.sink });
    this.pump(e.sink);
  }

  private pump(sink: string): void {
    const q = this.queues.get(sink) ?? [];
    while (!this.stopped && q.length && (this.running.get(sink) ?? 0) < CONCURRENCY) {
      const e = q.shift()!;
      this.running.set(sink, (this.running.get(sink) ?? 0) + 1);
      const p = this.deliver(e).finally(() => {
        this.inflight.delete(p);
        this.running.set(sink, this.running.get(sink)! - 1);
        this.pump(sink);
      });
      this.inflight.add(p);
    }
  }

  private async deliver(e: OutboxEntry): Promise<void> {
    const { log, metrics } = this.opts;
    const sink = this.opts.sinks().find((s) => s.name === e.sink);
    const labels = { sink: e.sink, type: e.event.type };
    let failure: string | undefined;
    if (!sink) failure = `the ClusterConfig has no sink "${e.sink}" any more`;
    else {
      const policy = retry(handleWhen((err) => !(err instanceof PermanentError) && !this.stopped), {
        maxAttempts: Math.max(0, (sink.maxAttempts ?? 5) - 1),
        backoff: new ExponentialBackoff({ initialDelay: this.opts.backoffMs ?? 500, maxDelay: 30_000 }),
      });
      let attempt = 0;
      try {
        await policy.execute(async ({ signal }) => {
          attempt++;
          try {
            await (this.opts.send ?? send)(sink, e.event, this.opts.clock.now(), signal);
          } catch (err) {
            log.debug({ err, sink: e.sink, id: e.event.id, attempt }, 'notify: delivery attempt failed');
            throw err;
          }
        }, this.abort.signal);
      } catch (err) {
        if (this.stopped) return; // left in the outbox for the next leader
        failure = `${(err as Error).message} (after ${attempt} attempt${attempt === 1 ? '' : 's'})`;
      }
    }
    if (this.stopped) return;
    try {
      await this.opts.store.txn('remove a delivered notification', [], [deleteOp(e.key)]);
    } catch (err) {
      log.warn({ err, key: e.key }, 'notify: could not remove a notification from the outbox; it may be delivered again (same idempotency key)');
    }
    this.held.delete(e.key);
    metrics?.outbox.dec({ sink: e.sink });
    if (!failure) {
      metrics?.notificationsDelivered.inc(labels);
      log.info({ sink: e.sink, id: e.event.id, booking: e.event.booking, type: e.event.type }, 'notification delivered');
      return;
    }
    metrics?.notificationsFailed.inc(labels);
    log.error({ sink: e.sink, id: e.event.id, booking: e.event.booking, type: e.event.type, problem: failure }, 'notification given up on');
    const [namespace, name] = e.event.booking.split('/');
    await this.opts.store
      .recordEvent({ time: new Date(this.opts.clock.now()).toISOString(), kind: 'Booking', namespace, name, type: 'Warning', reason: 'NotificationFailed', message: `${e.event.type} to sink ${e.sink}: ${failure}`.slice(0, 1000), source: 'kiwi-operator' })
      .catch(() => undefined);
  }

  /** Stops delivering; what is queued stays in the outbox for the next leader. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.allSettled([...this.inflight]);
  }
}
