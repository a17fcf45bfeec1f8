// Retention, beside the planner (not in its passes): while leading, the operator writes the
// usage record of every Expired booking (create-if-absent, so once), deletes Expired bookings
// once their record exists and their retention has passed, deletes events and usage records
// past theirs, and compacts etcd's history behind a revision of etcdHistory ago. It reads the
// reconciler's cache (never writing into it) and works in small, paced transactions, each fenced
// on the leader's election key like the planner's: a deposed leader writes nothing.
//
// It never holds the event loop for long: the cache is looked over in slices with a yield in
// between, and every transaction is followed by a pause at least as long as it took, so
// retention takes at most about half of etcd's attention and planning goes first.
import { randomUUID } from 'node:crypto';
import type { IRequestOp } from 'etcd3';
import type { Booking, BookingStatus, Logger, Store, UsageRecord } from '../../../crds/api/index.js';
import { compare, deleteOp, effectiveRetention, keys, prefixEnd, putOp, rangeOp, rfc3339, usageKey, usageRecordOf, type Compare } from '../../../crds/api/index.js';
import type { ClusterCache } from '../reconcile/cache.js';
import type { Clock, Fence } from '../reconcile/index.js';
import type { BookingView } from '../plan/index.js';
import { compactionTarget, dueOf, eventTime, pruneSamples, usageCutoffKey, type Due, type RevisionSample } from './decide.js';

/** Records written in one transaction (one put and one compare each). */
export const RECORDS_PER_TXN = 100;
/** Bookings deleted in one transaction: two deletes (spec, status) and three compares each, within etcd's 128 operations. */
export const BOOKINGS_PER_TXN = 40;
/** Event or usage-record keys deleted in one transaction. */
export const KEYS_PER_TXN = 100;
/** Bookings looked at before the sweep yields to other work. */
const SLICE = 1000;
/** The shortest pause after a transaction. */
const MIN_PAUSE_MS = 5;

export interface RetentionOptions {
  store: Store;
  fence: Fence;
  /** The reconciler's cache: read only. */
  cache: ClusterCache;
  log: Logger;
  clock?: Clock;
  /** Between sweeps, ms (default 10 s). Events and old records are swept every third time. */
  sweepMs?: number;
  /** Called when a fenced write finds that we are no longer the leader. */
  onDeposed?: () => void;
}

export interface RetentionStats {
  sweeps: number;
  recordsWritten: number;
  bookingsDeleted: number;
  eventsDeleted: number;
  recordsDeleted: number;
  compactions: number;
  compactedTo: number;
  txns: number;
}

export class RetentionController {
  readonly stats: RetentionStats = { sweeps: 0, recordsWritten: 0, bookingsDeleted: 0, eventsDeleted: 0, recordsDeleted: 0, compactions: 0, compactedTo: 0, txns: 0 };
  /** Keys of records known to exist, with the sweep that last saw their booking. */
  private readonly recorded = new Map<string, number>();
  /** Records to write now (from the planner's Expired transitions), by key. */
  private readonly urgent = new Map<string, UsageRecord>();
  private samples: RevisionSample[] = [];
  private stopped = false;
  private deposed = false;
  private loop?: Promise<void>;
  private wakeRecords?: () => void;
  private wakeSweep?: () => void;
  private timer?: NodeJS.Timeout;
  private readonly clock: Clock;

  constructor(private readonly opts: RetentionOptions) {
    this.clock = opts.clock ?? { now: () => Date.now() };
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeRecords?.();
    this.wakeSweep?.();
    await this.loop;
  }

  /**
   * The planner committed `status` (Expired) for booking `key`: write its record now rather than
   * at the next sweep, so that a user deleting it at once still leaves the record behind.
   */
  expired(key: string, status: BookingStatus | undefined): void {
    const v = this.opts.cache.booking(key);
    if (!v || status?.phase !== 'Expired') return;
    const rec = usageRecordOf({ ...v.booking, status } as Booking, v.createRevision);
    if (!rec || this.recorded.has(usageKey(rec))) return;
    this.urgent.set(usageKey(rec), rec);
    this.wakeRecords?.();
  }

  /** Two loops: records as soon as bookings expire, and sweeps; a long sweep never holds a record back. */
  private async run(): Promise<void> {
    await Promise.all([this.recordLoop(), this.sweepLoop()]);
  }

  private async recordLoop(): Promise<void> {
    while (this.live()) {
      if (this.urgent.size) {
        const batch = new Map(this.urgent);
        this.urgent.clear();
        await this.writeRecords(batch).catch((err) => {
          this.opts.log.warn({ err }, 'retention: writing usage records failed; the next sweep finds them again');
        });
        continue;
      }
      await new Promise<void>((r) => (this.wakeRecords = r));
    }
  }

  private async sweepLoop(): Promise<void> {
    const every = this.opts.sweepMs ?? 10_000;
    while (this.live()) {
      const next = this.clock.now() + every;
      await this.sweep().catch((err) => this.opts.log.warn({ err }, 'retention: sweep failed; trying again at the next'));
      if (!this.live()) return;
      await new Promise<void>((r) => {
        this.wakeSweep = r;
        this.timer = setTimeout(r, Math.max(0, next - this.clock.now()));
      });
      clearTimeout(this.timer);
    }
  }

  /** One sweep: records to write (to the record loop), bookings due, (every third) events and old records, compaction. */
  async sweep(): Promise<void> {
    const sweep = ++this.stats.sweeps;
    const now = this.clock.now();
    const retention = effectiveRetention(this.opts.cache.config());
    const due: Due = { records: new Map(), deletions: [], seen: new Set() };
    // The cache's views are replaced, never changed, so a copy of the list can be walked with pauses.
    const views = this.opts.cache.bookings();
    for (let i = 0; i < views.length && !this.stopped; i += SLICE) {
      dueOf(views.slice(i, i + SLICE), (k) => this.recorded.has(k), retention, now, due);
      await yieldNow();
    }
    for (const k of due.seen) if (this.recorded.has(k)) this.recorded.set(k, sweep);
    for (const [k, seenAt] of this.recorded) if (seenAt < sweep - 1) this.recorded.delete(k); // its booking is gone
    for (const [k, r] of due.records) this.urgent.set(k, r);
    if (this.urgent.size) this.wakeRecords?.();
    await this.deleteBookings(due.deletions);
    if (sweep % 3 === 1) {
      await this.deleteOldEvents(now - retention.events * 1000);
      await this.deleteOldRecords(usageCutoffKey(retention, now));
    }
    await this.compact(now, retention.compactEtcd, retention.etcdHistory);
  }

  /** Creates each record whose key is absent; one that exists is left as it is (a record is written once). */
  async writeRecords(records: Map<string, UsageRecord>): Promise<void> {
    const todo = [...records].filter(([k]) => !this.recorded.has(k));
    for (let i = 0; i < todo.length && this.live(); i += RECORDS_PER_TXN) {
      let batch = todo.slice(i, i + RECORDS_PER_TXN);
      for (let attempt = 0; batch.length && attempt < 2 && this.live(); attempt++) {
        const now = this.clock.now();
        const r = await this.txn(
          'write usage records',
          batch.map(([k]) => compare(k, 'Create', 'Equal', 0)),
          batch.map(([k, rec]) => putOp(k, stamped(rec, now))),
          batch.map(([k]) => ({ request_range: { key: Buffer.from(k), count_only: true } })),
        );
        if (!r) return;
        if (r.succeeded) {
          for (const [k, rec] of batch) {
            this.recorded.set(k, this.stats.sweeps);
            this.opts.log.info({ record: k, booking: `${rec.metadata.namespace}/${rec.spec.booking.name}`, nodeSeconds: rec.spec.nodeSeconds }, 'usage record written');
          }
          this.stats.recordsWritten += batch.length;
          break;
        }
        // Some exist already (written before a failover): those are done; the others are retried.
        const exists = r.responses.map((x) => Number(x.response_range.count) > 0);
        batch.forEach(([k], j) => exists[j] && this.recorded.set(k, this.stats.sweeps));
        batch = batch.filter((_, j) => !exists[j]);
      }
    }
  }

  /** Deletes bookings whose record exists, each only if unchanged since it was seen; fenced. */
  async deleteBookings(list: { view: BookingView; recordKey: string }[]): Promise<void> {
    for (let i = 0; i < list.length && this.live(); i += BOOKINGS_PER_TXN) {
      const batch = list.slice(i, i + BOOKINGS_PER_TXN);
      const ok = await this.deleteBatch(batch);
      // A booking changed meanwhile: one at a time, so that it does not hold back the others.
      if (ok === false && batch.length > 1) for (const one of batch) if (this.live()) await this.deleteBatch([one]);
    }
  }

  private async deleteBatch(batch: { view: BookingView; recordKey: string }[]): Promise<boolean | undefined> {
    const cmp: Compare[] = [];
    const ops: IRequestOp[] = [];
    for (const { view, recordKey } of batch) {
      const ref = { kind: 'Booking' as const, namespace: view.booking.metadata.namespace, name: view.booking.metadata.name! };
      cmp.push(compare(keys.spec(ref), 'Mod', 'Equal', view.specRevision), compare(keys.status(ref), 'Mod', 'Equal', view.statusRevision), compare(recordKey, 'Create', 'Greater', 0));
      ops.push(deleteOp(keys.spec(ref)), deleteOp(keys.status(ref)));
    }
    const r = await this.txn('delete expired bookings', cmp, ops);
    if (!r) return undefined;
    if (r.succeeded) {
      this.stats.bookingsDeleted += batch.length;
      this.opts.log.info({ bookings: batch.slice(0, 5).map((b) => b.view.key), count: batch.length }, 'retention: deleted expired bookings');
    }
    return r.succeeded;
  }

  /** Deletes every event older than `cutoff` (ms), of live objects and deleted ones alike. */
  async deleteOldEvents(cutoff: number): Promise<void> {
    await this.deleteKeys('events', keys.eventsRoot(), prefixEnd(keys.eventsRoot()), (k) => (eventTime(k) ?? Infinity) < cutoff, (n) => (this.stats.eventsDeleted += n));
  }

  /** Deletes usage records filed before `cutoffKey` (they sort by time, so it is one range). */
  async deleteOldRecords(cutoffKey: string): Promise<void> {
    await this.deleteKeys('usage records', keys.usagePrefix(), Buffer.from(cutoffKey), () => true, (n) => (this.stats.recordsDeleted += n));
  }

  /** Pages through [from, end) by key only, deleting those `old` picks, KEYS_PER_TXN at a time. */
  private async deleteKeys(what: string, from: string, end: Buffer, old: (key: string) => boolean, count: (n: number) => void): Promise<void> {
    let start = Buffer.from(from);
    let deleted = 0;
    while (this.live()) {
      const r = await this.opts.store.call(`list ${what}`, () => this.opts.store.etcd.kv.range({ key: start, range_end: end, keys_only: true, limit: 1000 }));
      const ks = r.kvs.map((kv) => kv.key.toString()).filter(old);
      for (let i = 0; i < ks.length && this.live(); i += KEYS_PER_TXN) {
        const batch = ks.slice(i, i + KEYS_PER_TXN);
        const w = await this.txn(`delete old ${what}`, [], batch.map((k) => deleteOp(k)));
        if (w?.succeeded) {
          count(batch.length);
          deleted += batch.length;
        }
      }
      if (!r.more || r.kvs.length === 0) break;
      start = Buffer.concat([r.kvs[r.kvs.length - 1].key, Buffer.from([0])]);
      await yieldNow();
    }
    if (deleted) this.opts.log.info({ deleted }, `retention: deleted old ${what}`);
  }

  /**
   * Samples the revision, and compacts to the newest sample older than the history kept. etcd's
   * Compact cannot be fenced; a deposed leader compacting is harmless (never less history than set).
   */
  async compact(now: number, enabled: boolean, historySeconds: number): Promise<void> {
    this.samples.push({ at: now, revision: this.opts.cache.revision });
    const target = compactionTarget(this.samples, now, historySeconds, this.stats.compactedTo);
    this.samples = pruneSamples(this.samples, now, historySeconds);
    if (!enabled || target === undefined || !this.live()) return;
    try {
      await this.opts.store.call('compact etcd', () => this.opts.store.etcd.kv.compact({ revision: target, physical: false }));
      this.stats.compactions++;
      this.opts.log.info({ revision: target, historySeconds }, 'retention: compacted etcd history');
    } catch (err) {
      // etcd's own auto-compaction went further already: nothing to do.
      if (!/compacted/i.test((err as Error).message)) throw err;
    }
    this.stats.compactedTo = target;
  }

  /** A fenced transaction; undefined when we are no longer the leader (then nothing more is written). */
  private async txn(what: string, cmp: Compare[], ops: IRequestOp[], failure: IRequestOp[] = []) {
    const { store, fence } = this.opts;
    const t0 = performance.now();
    const r = await store.txn(what, [compare(fence.key, 'Create', 'Equal', fence.createRevision), ...cmp], ops, [rangeOp(fence.key), ...failure]);
    this.stats.txns++;
    // Pace: planning's transactions go first.
    await new Promise((res) => setTimeout(res, Math.max(MIN_PAUSE_MS, performance.now() - t0)));
    if (!r.succeeded) {
      const leader = r.responses[0]?.response_range.kvs[0];
      if (!leader || Number(leader.create_revision) !== fence.createRevision) {
        this.deposed = true;
        this.opts.log.warn({ fence }, 'retention: a fenced write found another leader (or none): stopping');
        this.opts.onDeposed?.();
        this.wakeRecords?.();
        this.wakeSweep?.();
        return undefined;
      }
      return { ...r, responses: r.responses.slice(1) };
    }
    return r;
  }

  private live(): boolean {
    return !this.stopped && !this.deposed;
  }
}

/** The record as written: it gets its uid and creation time when it is filed. */
function stamped(rec: UsageRecord, now: number): UsageRecord {
  return { ...rec, metadata: { ...rec.metadata, uid: randomUUID(), creationTimestamp: rfc3339(now) } };
}

function yieldNow(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
