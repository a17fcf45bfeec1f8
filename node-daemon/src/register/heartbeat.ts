// The heartbeat: keys.heartbeat(node) = {time, daemonVersion, ttlSeconds}, rewritten every
// TTL/3 under an etcd lease. Liveness is the rewriting (crds/api/heartbeat.ts): the operator
// calls the node NotReady when the value has not changed for ttlSeconds by its own clock, so a
// lease kept alive by someone else (LeaseKeepAlive needs no permission) keeps nothing Ready.
// The lease stays as the fast path: the key vanishes when the daemon dies or stops (stop()
// revokes it). A lost lease is granted again.
import type { Etcd3, Lease } from 'etcd3';
import { keys, type Logger } from '../../../crds/api/index.js';
import { heartbeatLeaseTtlSeconds, heartbeatPeriodMs, heartbeatValue, MAX_BEATS_IN_FLIGHT } from '../../../crds/api/heartbeat.js';

export class Heartbeat {
  private lease: Lease | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  /** Local time of the last successful write of the heartbeat value. */
  lastOk = 0;
  private lastFailed = false;
  /** Beats written and not yet answered. */
  private inFlight = 0;

  constructor(
    private readonly etcd: Etcd3,
    private readonly node: string,
    private readonly ttlSeconds: number,
    private readonly daemonVersion: string,
    private readonly log: Logger,
  ) {}

  private firstPut: (() => void) | undefined;
  private readonly written = new Promise<void>((r) => (this.firstPut = r));

  start(): void {
    void this.grant();
  }

  /** Resolves true once the heartbeat key has been written, false after `timeoutMs`. */
  waitWritten(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.written.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
  }

  private async grant(): Promise<void> {
    if (this.stopped) return;
    const lease = this.etcd.lease(heartbeatLeaseTtlSeconds(this.ttlSeconds), { autoKeepAlive: true });
    this.lease = lease;
    lease.on('lost', (err) => {
      if (this.stopped || this.lease !== lease) return;
      this.log.warn({ err, node: this.node }, 'heartbeat lease lost; granting a new one');
      this.retry();
    });
    try {
      await this.put(lease);
      this.firstPut?.();
      this.log.debug({ node: this.node, lease: await lease.grant() }, 'heartbeat key written');
      this.beat(lease);
    } catch (err) {
      if (this.stopped || this.lease !== lease) return;
      this.log.warn({ err, node: this.node }, 'cannot write the heartbeat; retrying');
      lease.release();
      this.retry();
    }
  }

  private async put(lease: Lease): Promise<void> {
    await lease.put(keys.heartbeat(this.node)).value(JSON.stringify(heartbeatValue(Date.now(), this.daemonVersion, this.ttlSeconds)));
    this.lastOk = Date.now();
  }

  /**
   * Rewrites the value every TTL/3 while this lease is the current one, each beat on its own: a
   * beat stuck on a member that stopped answering (until its 2 s deadline) does not hold up the
   * next, which may reach a live member. One after the other, a paused raft leader could cost
   * two deadlines in a row, ~5 s without a change, and the node went NotReady (the fault suite;
   * bench/heartbeat-pause.ts). At most MAX_BEATS_IN_FLIGHT at once.
   */
  private beat(lease: Lease): void {
    clearInterval(this.beatTimer);
    const timer = setInterval(() => {
      if (this.stopped || this.lease !== lease) return clearInterval(timer);
      if (this.inFlight >= MAX_BEATS_IN_FLIGHT) return;
      this.inFlight++;
      const failedBefore = this.lastFailed;
      this.put(lease).then(
        () => (this.lastFailed = false),
        (err) => {
          this.lastFailed = true;
          // once per outage, not once per beat
          if (!failedBefore) this.log.warn({ err, node: this.node, sinceLastOkMs: Date.now() - this.lastOk }, 'cannot rewrite the heartbeat; trying again every beat');
        },
      ).finally(() => this.inFlight--);
    }, heartbeatPeriodMs(this.ttlSeconds));
    this.beatTimer = timer;
  }

  private retry(): void {
    clearTimeout(this.timer);
    clearInterval(this.beatTimer);
    this.lease = undefined;
    this.timer = setTimeout(() => void this.grant(), 500);
  }

  /** Revokes the lease: the heartbeat key goes at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.beatTimer);
    const l = this.lease;
    this.lease = undefined;
    if (!l) return;
    try {
      await Promise.race([l.revoke(), new Promise((_, rej) => setTimeout(() => rej(new Error('revoke timed out')), 2000).unref())]);
    } catch (err) {
      this.log.warn({ err, node: this.node }, 'cannot revoke the heartbeat lease; it expires by its TTL');
      l.release();
    }
  }
}
