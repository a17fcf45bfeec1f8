// Leader election on etcd: the leader is whoever created the election key, under its lease.
// Create-if-absent decides; the key's create revision is the leader's fencing token, which
// every write of the leader compares, so a deposed leader (lease expired, key re-created by
// another) can never write. Standbys watch the key and campaign the moment it is deleted, so
// a dead leader is replaced within its lease TTL (plus etcd's lease check, ~0.5 s).
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { compare, keys, putOp, rangeOp, type Logger, type Store } from '../../../crds/api/index.js';

export interface Clock {
  now(): number;
}

export interface ElectionOptions {
  id: string;
  ttlSeconds: number;
  log: Logger;
  key?: string;
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
  private readonly clock: Clock;

  constructor(
    private readonly client: Etcd3,
    private readonly store: Store,
    private readonly opts: ElectionOptions,
  ) {
    super();
    this.key = opts.key ?? keys.election();
    this.clock = opts.clock ?? { now: () => Date.now() };
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
        const value = { id: this.opts.id, pid: process.pid, since: new Date(this.clock.now()).toISOString() };
        const r = await this.store.txn('campaign', [compare(this.key, 'Create', 'Equal', 0)], [putOp(this.key, value, leaseId)], [rangeOp(this.key)]);
        let createRevision: number | undefined;
        if (r.succeeded) createRevision = Number(r.header.revision);
        else {
          const kv = r.responses[0].response_range.kvs[0];
          // A retried campaign whose first attempt did commit finds its own lease there.
          if (kv && kv.lease === leaseId) createRevision = Number(kv.create_revision);
          else {
            const holder = kv ? JSON.parse(kv.value.toString()).id : undefined;
            this.opts.log.debug({ holder }, 'standing by');
            await this.waitForVacancy(Number(r.header.revision));
            continue;
          }
        }
        this.leader = { key: this.key, createRevision, leaseId, since: this.clock.now() };
        this.watchOwnKey(createRevision);
        return this.leader;
      } catch (err) {
        if (this.stopped) throw err;
        this.opts.log.warn({ err }, 'campaign failed (is etcd reachable at --endpoints / KIWI_ENDPOINTS?); trying again');
        await sleep(Math.min(1000, this.opts.ttlSeconds * 250));
      }
    }
  }

  /** Waits until the election key is gone: a watch, with a poll as a safety net. */
  private async waitForVacancy(rev: number): Promise<void> {
    const w = this.client.watch().key(this.key).startRevision(String(rev + 1)).watcher();
    let poll: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        w.on('delete', () => resolve());
        w.on('error', () => resolve());
        poll = setInterval(() => {
          this.client.get(this.key).exec().then((v) => v.kvs.length === 0 && resolve(), () => undefined);
        }, Math.max(500, this.opts.ttlSeconds * 500));
      });
    } finally {
      clearInterval(poll);
      this.wake = undefined;
      await Promise.race([w.cancel().catch(() => undefined), sleep(1000)]);
    }
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
