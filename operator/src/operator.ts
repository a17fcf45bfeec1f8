// The operator's run loop, apart from flags and signals so that tests and the bench can run
// it in-process: campaign, lead (reconcile) until the leadership is lost, stand by again.
import { hostname } from 'node:os';
import type { Etcd3 } from 'etcd3';
import type { Logger, Store } from '../../crds/api/index.js';
import { Election } from './election/election.js';
import { warmUp } from './plan/index.js';
import { Reconciler, passwdResolver, type Clock } from './reconcile/index.js';

export interface OperatorOptions {
  client: Etcd3;
  store: Store;
  log: Logger;
  id?: string;
  leaseTtlSeconds?: number;
  resyncMs?: number;
  clock?: Clock;
  uidOf?: (user: string) => number | undefined;
}

export class Operator {
  readonly election: Election;
  reconciler?: Reconciler;
  private stopping = false;
  private running?: Promise<void>;
  private lostWaiter?: () => void;

  constructor(private readonly opts: OperatorOptions) {
    this.election = new Election(opts.client, opts.store, {
      id: opts.id ?? `${hostname()}-${process.pid}`,
      ttlSeconds: opts.leaseTtlSeconds ?? 2,
      log: opts.log,
      clock: opts.clock,
    });
  }

  start(): void {
    warmUp(); // compile the schema validator now, not on the first pass after winning
    this.running = this.run().catch((err) => {
      if (!this.stopping) this.opts.log.error({ err }, 'operator loop failed');
    });
  }

  private async run(): Promise<void> {
    const log = this.opts.log;
    while (!this.stopping) {
      const leader = await this.election.campaign();
      if (this.stopping) return;
      log.info({ createRevision: leader.createRevision, id: this.opts.id }, 'became leader');
      const lost = new Promise<void>((r) => {
        this.lostWaiter = r;
        this.election.once('lost', () => r());
      });
      const rec = new Reconciler({
        store: this.opts.store,
        fence: { key: leader.key, createRevision: leader.createRevision },
        log,
        clock: this.opts.clock,
        resyncMs: this.opts.resyncMs,
        uidOf: this.opts.uidOf ?? passwdResolver(),
        onDeposed: () => this.lostWaiter?.(),
      });
      this.reconciler = rec;
      try {
        await rec.start();
        await lost;
      } catch (err) {
        log.error({ err }, 'leading failed; standing by again');
      } finally {
        await rec.stop();
        this.reconciler = undefined;
      }
      if (!this.stopping) log.warn('no longer leader; standing by');
    }
  }

  /** Stops reconciling, resigns (the key goes at once, so a standby takes over without waiting for the TTL), revokes the lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.lostWaiter?.();
    await this.reconciler?.stop();
    await this.election.resign();
    await this.running;
  }
}
