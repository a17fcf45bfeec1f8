// The heartbeat: keys.heartbeat(node) = {time, daemonVersion} under an etcd lease that etcd3
// keeps alive. The operator marks the Node NotReady when the key vanishes (lease expired:
// the daemon or its link died). A lost lease is granted again; stop() revokes it.
import type { Etcd3, Lease } from 'etcd3';
import { keys, type Logger } from '../../../crds/api/index.js';

export class Heartbeat {
  private lease: Lease | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Local time of the last successful put or keepalive. */
  lastOk = 0;

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
    const lease = this.etcd.lease(this.ttlSeconds, { autoKeepAlive: true });
    this.lease = lease;
    lease.on('lost', (err) => {
      if (this.stopped || this.lease !== lease) return;
      this.log.warn({ err, node: this.node }, 'heartbeat lease lost; granting a new one');
      this.retry();
    });
    lease.on('keepaliveSucceeded', () => (this.lastOk = Date.now()));
    try {
      await lease.put(keys.heartbeat(this.node)).value(JSON.stringify({ time: new Date().toISOString(), daemonVersion: this.daemonVersion }));
      this.lastOk = Date.now();
      this.firstPut?.();
      this.log.debug({ node: this.node, lease: await lease.grant() }, 'heartbeat key written');
    } catch (err) {
      if (this.stopped || this.lease !== lease) return;
      this.log.warn({ err, node: this.node }, 'cannot write the heartbeat; retrying');
      lease.release();
      this.retry();
    }
  }

  private retry(): void {
    clearTimeout(this.timer);
    this.lease = undefined;
    this.timer = setTimeout(() => void this.grant(), 500);
  }

  /** Revokes the lease: the heartbeat key goes at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
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
