// Leader election on etcd: the leader is whoever created the election key, under its lease.
// Create-if-absent decides; the key's create revision is the leader's fencing token, which
// every write of the leader compares, so a deposed leader (key deleted, re-created by another)
// can never write.
//
// Liveness comes from the value, not the lease: etcd lets any client keep any lease alive
// (LeaseKeepAlive needs no permission), so a dead leader's key could be kept forever. The leader
// rewrites its key every TTL/4, compare-and-swapped on its create revision (a refresh that
// finds the key gone or re-created steps down). A standby watches the key; when it has seen no
// change for longer than the TTL by its own clock, it deletes the key, compared on the
// mod_revision it saw (so a refresh that lands first wins), and campaigns. A leader that could
// not refresh for a TTL steps down by itself, before any standby can call it dead. The lease
// stays as the fast path: a clean death or a lost lease removes the key at once.
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { compare, deleteOp, keys, putOp, rangeOp, type Logger, type Store } from '../../../crds/api/index.js';
import { Freshness, observationClock } from './freshness.js';

export interface Clock {
  now(): number;
}

export interface ElectionOptions {
  id: string;
  ttlSeconds: number;
  log: Logger;
  key?: string;
  /** The observation clock (monotonic by default): staleness is judged by it. */
  clock?: Clock;
}

export interface Leadership {
  key: string;
  createRevision: number;
  leaseId: string;
  since: number;
}

/** Emits 'lost' when a leadership it held ends (lease lost, key deleted or taken). */
export class Election extends EventEmitter {
  readonly key: string;
  private lease?: Lease;
  private leaseId?: string;
  private watcher?: Watcher;
  private leader?: Leadership;
  private stopped = false;
  private wake?: () => void;
  private renewTimer?: NodeJS.Timeout;
  private lastRenewed = 0;
  private readonly clock: Clock;

  constructor(
    private readonly client: Etcd3,
    private readonly store: Store,
    private readonly opts: ElectionOptions,
  ) {
    super();
    this.key = opts.key ?? keys.election();
    this.clock = opts.clock ?? observationClock;
  }

  get leadership(): Leadership | undefined {
    return this.leader;
  }

  private async grant(): Promise<string> {
    if (this.lease && this.leaseId && !this.lease.revoked()) return this.leaseId;
    const lease = this.client.lease(this.opts.ttlSeconds, { autoKeepAlive: true });
    lease.on('lost', (err) => {
      if (this.leader) this.opts.log.warn({ err }, 'election lease lost');
      else this.opts.log.debug({ err }, 'election lease lost (standing by)');
      if (this.lease === lease) {
        this.lease = undefined;
        this.leaseId = undefined;
      }
      this.lose('lease lost');
    });
    this.lease = lease;
    this.leaseId = await lease.grant();
    return this.leaseId;
  }

  /** Resolves once this replica leads; retries until then (or until resign()). */
  async campaign(): Promise<Leadership> {
    for (;;) {
      if (this.stopped) throw new Error('election stopped');
      try {
        const leaseId = await this.grant();
        const r = await this.store.txn('campaign', [compare(this.key, 'Create', 'Equal', 0)], [putOp(this.key, this.value(), leaseId)], [rangeOp(this.key)]);
        let createRevision: number | undefined;
        if (r.succeeded) createRevision = Number(r.header.revision);
        else {
          const kv = r.responses[0].response_range.kvs[0];
          // A retried campaign whose first attempt did commit finds its own lease there.
          if (kv && kv.lease === leaseId) createRevision = Number(kv.create_revision);
          else {
            this.opts.log.debug({ holder: holderOf(kv?.value) }, 'standing by');
            await this.waitForVacancy(Number(r.header.revision), kv ? Number(kv.mod_revision) : 0);
            continue;
          }
        }
        this.leader = { key: this.key, createRevision, leaseId, since: this.clock.now() };
        this.lastRenewed = this.clock.now();
        this.watchOwnKey(createRevision);
        this.scheduleRenew();
        return this.leader;
      } catch (err) {
        if (this.stopped) throw err;
        this.opts.log.warn({ err }, 'campaign failed (is etcd reachable at --endpoints / KIWI_ENDPOINTS?); trying again');
        await sleep(Math.min(1000, this.opts.ttlSeconds * 250));
      }
    }
  }

  private value(): { id: string; pid: number; since: string; renewed: string } {
    const since = this.leader ? new Date(this.leader.since).toISOString() : new Date().toISOString();
    return { id: this.opts.id, pid: process.pid, since, renewed: new Date().toISOString() };
  }

  /**
   * Waits until the election key is gone, or stale: unchanged (same mod_revision) for longer
   * than the TTL by this replica's clock, whatever keeps its lease alive. A stale key is deleted,
   * compared on the mod_revision seen, so the holder's refresh, if it comes first, wins.
   */
  private async waitForVacancy(rev: number, mod: number): Promise<void> {
    const ttlMs = this.opts.ttlSeconds * 1000;
    const seen = new Freshness<string>();
    seen.observe(this.key, mod, this.clock.now());
    const w = this.client.watch().key(this.key).startRevision(String(rev + 1)).watcher();
    let timer: NodeJS.Timeout | undefined;
    let checking = false;
    try {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        w.on('put', (kv) => seen.observe(this.key, Number(kv.mod_revision), this.clock.now()));
        w.on('delete', () => resolve());
        w.on('error', () => resolve());
        const check = async () => {
          if (checking || seen.fresh(this.key, this.clock.now(), ttlMs)) return;
          checking = true;
          try {
            const kv = (await this.client.get(this.key).exec()).kvs[0];
            if (!kv) return resolve();
            if (seen.observe(this.key, Number(kv.mod_revision), this.clock.now())) return; // the watch was behind
            const last = seen.get(this.key)!;
            const r = await this.store.txn('take over a stale election key', [compare(this.key, 'Mod', 'Equal', last.mod)], [deleteOp(this.key)]);
            if (r.succeeded) {
              this.opts.log.warn({ holder: holderOf(kv.value), unchangedMs: Math.round(this.clock.now() - last.at), ttlSeconds: this.opts.ttlSeconds, leaseId: String(kv.lease) }, 'the leader stopped refreshing the election key (its lease may be kept alive by someone else); deleted it to take over');
            }
            resolve();
          } catch (err) {
            this.opts.log.debug({ err }, 'checking the election key failed; checking again');
          } finally {
            checking = false;
          }
        };
        timer = setInterval(() => void check(), Math.max(100, ttlMs / 4));
      });
    } finally {
      clearInterval(timer);
      this.wake = undefined;
      await Promise.race([w.cancel().catch(() => undefined), sleep(1000)]);
    }
  }

  /** The leader's proof of life: rewrite the key every TTL/4, only while it is still ours. */
  private scheduleRenew(): void {
    clearTimeout(this.renewTimer);
    if (!this.leader || this.stopped) return;
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(100, (this.opts.ttlSeconds * 1000) / 4));
  }

  private async renew(): Promise<void> {
    const leader = this.leader;
    if (!leader || this.stopped) return;
    try {
      const r = await this.store.txn('renew leadership', [compare(this.key, 'Create', 'Equal', leader.createRevision)], [putOp(this.key, this.value(), leader.leaseId)]);
      if (this.leader !== leader) return;
      if (!r.succeeded) return this.lose('election key gone or taken by another at refresh');
      this.lastRenewed = this.clock.now();
    } catch (err) {
      if (this.leader !== leader) return;
      const since = this.clock.now() - this.lastRenewed;
      // Standbys call us dead a TTL after our last refresh they saw: step down before that.
      if (since > this.opts.ttlSeconds * 1000 * 0.75) return this.lose(`could not refresh the election key for ${Math.round(since)} ms`);
      this.opts.log.warn({ err }, 'refreshing the election key failed; trying again');
    }
    this.scheduleRenew();
  }

  private watchOwnKey(createRevision: number): void {
    const w = this.client.watch().key(this.key).startRevision(String(createRevision + 1)).watcher();
    w.on('delete', () => this.lose('election key deleted'));
    w.on('put', (kv) => {
      if (Number(kv.create_revision) !== createRevision) this.lose('election key taken by another');
    });
    this.watcher = w;
  }

  private lose(why: string): void {
    if (!this.leader) return;
    this.opts.log.warn({ why, createRevision: this.leader.createRevision }, 'leadership lost');
    this.leader = undefined;
    clearTimeout(this.renewTimer);
    const w = this.watcher;
    this.watcher = undefined;
    void w?.cancel().catch(() => undefined);
    this.emit('lost', why);
  }

  /** Gives up leadership (deletes the key if still ours), cancels watches, revokes the lease. */
  async resign(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const leader = this.leader;
    this.leader = undefined;
    clearTimeout(this.renewTimer);
    const w = this.watcher;
    this.watcher = undefined;
    await Promise.race([w?.cancel().catch(() => undefined), sleep(1000)]);
    if (leader) {
      await this.store
        .txn('resign', [compare(this.key, 'Create', 'Equal', leader.createRevision)], [{ request_delete_range: { key: Buffer.from(this.key) } }])
        .catch((err) => this.opts.log.warn({ err }, 'resign: could not delete the election key'));
    }
    const lease = this.lease;
    this.lease = undefined;
    if (lease) {
      lease.removeAllListeners('lost');
      await Promise.race([lease.revoke().catch(() => undefined), sleep(2000)]);
    }
  }
}

/** The holder's id, from a value that may be anything. */
function holderOf(value: Buffer | undefined): string | undefined {
  try {
    const id = JSON.parse(value?.toString() ?? '')?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
