// The shell of the server-side dry run: while leading, watch /kiwi/dryrun/ for requests, answer
// each from the leader's cache (dryRunAnswer, pure), and put the answer under the request's own
// lease, so both keys go when the client revokes it or the lease runs out. A request without a
// lease is ignored (its answer would outlive it); one that is not JSON is answered with an error.
import type { IKeyValue, Watcher } from 'etcd3';
import { DRYRUN_PREFIX, dryRunKeys, parseDryRunRequestKey, type DryRunAnswer } from '../../../crds/api/dryrun.js';
import { cancelWatchers, effectiveConfig, effectivePower, putOp, type Logger, type Store } from '../../../crds/api/index.js';
import type { ClusterCache } from '../reconcile/cache.js';
import { dryRunAnswer } from './answer.js';
import type { UserLookup } from '../../../crds/api/users.js';
import { accountGroups, poolGroups, type GroupLookup } from '../reconcile/groups.js';

export interface DryRunServerOptions {
  store: Store;
  cache: ClusterCache;
  log: Logger;
  id: string;
  now?: () => number;
  users?: UserLookup;
  groups?: GroupLookup;
}

export class DryRunServer {
  private watcher?: Watcher;

  constructor(private readonly o: DryRunServerOptions) {}

  async start(): Promise<void> {
    const w = await this.o.store.etcd.watch().prefix(DRYRUN_PREFIX).create();
    w.on('put', (kv) => void this.answer(kv));
    w.on('error', (err: Error) => this.o.log.warn({ err }, 'dry-run watch broke; dry runs go unanswered until the next leadership'));
    this.watcher = w;
  }

  async stop(): Promise<void> {
    if (this.watcher) await cancelWatchers([this.watcher]);
    this.watcher = undefined;
  }

  private async answer(kv: IKeyValue): Promise<void> {
    const key = kv.key.toString();
    const req = parseDryRunRequestKey(key);
    if (!req || kv.lease === '0') return;
    const now = (this.o.now ?? Date.now)();
    let a: DryRunAnswer;
    try {
      const value = JSON.parse(kv.value.toString());
      const c = this.o.cache;
      const pools = c.pools();
      const bookings = c.bookings();
      const inAccounts = accountGroups(c.accounts());
      a = dryRunAnswer({ now, config: effectiveConfig(c.config()), bookings, nodes: new Map(c.nodes()), calendars: new Map(c.calendars), users: this.o.users, accounts: new Map(c.accounts()), power: { settings: effectivePower(c.config()), recentOff: [], recentOn: [] }, ...(pools.length ? { pools } : {}), ...(pools.length || inAccounts.length ? { groups: poolGroups(pools, [req.user, ...bookings.map((b) => b.key.split('/')[0])], this.o.groups, this.o.users, inAccounts) } : {}) }, req.user, value); // the answer includes the boot time of a node that is off
    } catch (err) {
      a = { error: err instanceof SyntaxError ? 'the request is not JSON' : `the operator could not plan it: ${(err as Error).message}`, time: new Date(now).toISOString() };
      if (!(err instanceof SyntaxError)) this.o.log.error({ err, key }, 'dry run failed');
    }
    a.answeredBy = this.o.id;
    try {
      await this.o.store.txn('answer dry run', [], [putOp(dryRunKeys.answer(req.user, req.id), a, kv.lease)]);
    } catch (err) {
      this.o.log.debug({ err, key }, 'dry-run answer not written (the client gave up: lease gone)');
    }
  }
}
