// Grant revocation, beside the planner while leading: a user flooding their own booking or dry-run prefix
// (operator/src/grants/decide.ts) loses their etcd write grants, so that etcd's space and
// attention stay with everybody else. The operator's etcd user has etcd's root role for this
// (kiwictl admin enable-auth). The revocation comes first, then the mark
// (/kiwi/grants/revoked/<user>) and a Warning event on the ClusterConfig, in one transaction
// fenced on the leader's election key; a leader deposed between the two leaves the grants revoked
// and the next one writes the mark. Only `kiwictl admin restore-user` gives the grants back and
// removes the mark. Without etcd auth there is nothing to revoke: a warning, once per user.
import type { Etcd3 } from 'etcd3';
import { CLUSTER_CONFIG_NAME, compare, effectiveConfig, etcdPermission, keys, putOp, rangeOp, rfc3339, type KiwiEvent, type Logger, type Store } from '../../../crds/api/index.js';
import { roleOf, writeGrantsOf } from '../../../crds/api/roles.js';
import type { ClusterCache } from '../reconcile/cache.js';
import type { Clock, Fence } from '../reconcile/index.js';
import { PassLoop } from '../reconcile/loop.js';
import { toRevoke, type Revocation } from './decide.js';

export interface GrantOptions {
  client: Etcd3;
  store: Store;
  fence: Fence;
  /** The reconciler's cache: read only (what each user holds: heldByUser, with the dry-run server's count). */
  cache: ClusterCache;
  log: Logger;
  clock?: Clock;
  /** Between looks, ms (default 100; a look reads etcd only when someone is past the line): a flood of thousands of puts a second is cut within about this. */
  intervalMs?: number;
  onDeposed?: () => void;
}

/** The mark's value: what the operator saw when it revoked. */
export interface RevokedMark {
  user: string;
  reason: string;
  keys: number;
  bytes: number;
  time: string;
}

export class GrantController {
  readonly revoked: string[] = [];
  private readonly loop: PassLoop;
  /** Users whose revocation failed (no role: auth off, or never added), and when to try again. */
  private readonly failedUntil = new Map<string, number>();
  private readonly clock: Clock;

  constructor(private readonly opts: GrantOptions) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.loop = new PassLoop(() => this.check(), { name: 'grants: looking for flooding users', log: opts.log, clock: this.clock, intervalMs: opts.intervalMs ?? 100 });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * One look: the cache's usage first (in memory, so looking often costs nothing), and only when
   * someone is past the flood line the marks in etcd, then a revocation for each user due.
   */
  async check(): Promise<void> {
    const now = this.clock.now();
    for (const [u, until] of this.failedUntil) if (until <= now) this.failedUntil.delete(u);
    const due = toRevoke(this.opts.cache.heldByUser(), effectiveConfig(this.opts.cache.config()), new Set(this.failedUntil.keys()));
    if (!due.length) return;
    const prefix = keys.revokedPrefix();
    const marked = new Set((await this.opts.store.etcd.getAll().prefix(prefix).keys()).map((k) => k.slice(prefix.length)));
    for (const r of due) {
      if (!this.loop.live) return;
      if (!marked.has(r.user)) await this.revoke(r);
    }
  }

  private async revoke(r: Revocation): Promise<void> {
    const { client, store, fence, log } = this.opts;
    const role = client.role(roleOf({ kind: 'user', user: r.user }));
    // Each grant on its own (etcd3's revoke() of an array grants instead), all at once: the
    // flood goes on until the last is gone.
    const failed = (await Promise.all(writeGrantsOf(r.user).map((g) => role.revoke(etcdPermission(g)).then(() => undefined, (err: unknown) => err))))
      .find((err) => err !== undefined && !/permission is not granted/i.test(String((err as Error)?.message ?? err))); // not granted: revoked already (a leader deposed before its mark)
    if (failed !== undefined) {
      const m = String((failed as Error)?.message ?? failed);
      this.failedUntil.set(r.user, this.clock.now() + 60_000);
      log.warn({ err: failed, user: r.user, reason: r.reason }, /role name not found|not found/i.test(m)
        ? 'grants: a flooding user has no etcd role to revoke (etcd auth off, or the user was never added): nothing stops their writes'
        : "grants: could not revoke a flooding user's write grants (the operator's etcd user needs etcd's root role, which `kiwictl admin enable-auth` grants)");
      return;
    }
    const time = rfc3339(new Date(this.clock.now()));
    const mark: RevokedMark = { user: r.user, reason: r.reason, keys: r.keys, bytes: r.bytes, time };
    const ev: KiwiEvent = { time, kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME, type: 'Warning', reason: 'UserWriteRevoked', message: r.reason, source: 'kiwi-operator' };
    const res = await store.txn(`mark ${r.user}'s write grants revoked`, [compare(fence.key, 'Create', 'Equal', fence.createRevision)], [putOp(keys.revoked(r.user), mark), store.eventOp(ev, `revoked-${r.user}-${this.clock.now()}`)], [rangeOp(fence.key)]);
    if (!res.succeeded) {
      log.warn({ fence, user: r.user }, 'grants: a fenced write found another leader (or none): the next leader marks the revocation');
      void this.loop.stop();
      this.opts.onDeposed?.();
      return;
    }
    this.revoked.push(r.user);
    log.warn({ user: r.user, keys: r.keys, bytes: r.bytes, reason: r.reason }, 'revoked a flooding user\'s etcd write grants');
  }
}
