// The shell of the server-side dry run: while leading, watch /kiwi/dryrun/ for requests, answer
// each from the leader's cache (dryRunAnswer, pure), and put the answer under the request's own
// lease, so both keys go when the client revokes it or the lease runs out. A request without a
// lease is ignored (its answer would outlive it); one that is not JSON is answered with an error.
// A request holding `accountChange` is an account manager's change (../accounting/manage.ts),
// applied to the Account with a compare-and-swap and answered with the spec after it.
// The same watch counts each user's keys under /kiwi/dryrun/<user>/ (listed first, then watched
// from the revision after): they are that user's writes, held as long as the user keeps their
// lease alive (or for ever, without one), so they count against userLimits with the user's
// bookings, and in the flood detector (operator/src/grants). Beyond a limit a request is
// answered with the limit, unplanned.
import type { IKeyValue } from 'etcd3';
import { DRYRUN_PREFIX, dryRunKeys, parseDryRunRequestKey, type DryRunAnswer } from '../../../crds/api/dryrun.js';
import { ListWatch, effectiveConfig, putOp, type Logger, type Store } from '../../../crds/api/index.js';
import { guaranteedUpdate } from '../../../crds/api/update.js';
import { NotFoundError } from '../../../crds/api/errors.js';
import { applyAccountChange } from '../accounting/manage.js';
import { decodeAccountChange } from '../../../crds/api/account-change.js';
import type { ClusterCache } from '../reconcile/cache.js';
import { dryRunAnswer } from './answer.js';
import { isAdmin, type UserLookup } from '../../../crds/api/users.js';
import type { GroupLookup } from '../reconcile/groups.js';
import { planInputOf } from '../reconcile/plan-input.js';
import type { PlanInput } from '../plan/index.js';
import { keyOwner } from '../../../crds/api/roles.js';
import { KeyUsage } from '../grants/usage.js';

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
  private lw?: ListWatch;
  /** Each user's keys under /kiwi/dryrun/<user>/ (requests, answers, anything else they put there). */
  readonly usage = new KeyUsage();

  constructor(private readonly o: DryRunServerOptions) {
    o.cache.alsoCounted = this.usage; // a user's dry-run keys count against their limits with their bookings
  }

  /** Lists the prefix (to count what is held), then watches from the revision after it (ListWatch: a broken watch lists again). */
  async start(): Promise<void> {
    this.lw = new ListWatch(this.o.store, {
      what: 'list dry-run keys',
      list: [{ prefix: DRYRUN_PREFIX }],
      onList: ([held]) => {
        this.usage.clear();
        for (const kv of held!) this.count(kv, false);
      },
      onEvents: (events) => {
        for (const { kv, deleted } of events) {
          this.count(kv, deleted);
          if (!deleted) void this.answer(kv);
        }
      },
      onBroken: (err) => this.o.log.warn({ err }, 'dry-run watch broke; listing again'),
      onListFailed: (err, retryMs) => this.o.log.error({ err, retryMs }, 'dry-run keys could not be listed; trying again'),
    });
    await this.lw.start();
  }

  async stop(): Promise<void> {
    await this.lw?.stop();
    this.lw = undefined;
  }

  private count(kv: IKeyValue, deleted: boolean): void {
    const key = kv.key.toString();
    const user = keyOwner(key);
    if (user) this.usage.set(key, user, deleted ? undefined : kv.value.length);
  }

  /** Why the user may not ask now (past a userLimits limit, bookings and dry-run keys together), or ''. */
  private overLimit(user: string): string {
    const why = this.o.cache.limitReason(user);
    return why && `${why}: dry runs are refused until some go (kiwictl delete booking NAME; a dry run's keys go with its lease)`;
  }

  private async answer(kv: IKeyValue): Promise<void> {
    const key = kv.key.toString();
    const req = parseDryRunRequestKey(key);
    if (!req || kv.lease === '0') return;
    const now = (this.o.now ?? Date.now)();
    let a: DryRunAnswer;
    const over = this.overLimit(req.user);
    if (over) return await this.put(req, { error: over, time: new Date(now).toISOString() }, kv);
    try {
      const value = JSON.parse(kv.value.toString());
      if (value && typeof value === 'object' && 'accountChange' in value) {
        a = { ...(await this.changeAccount(req.user, value.accountChange)), time: new Date(now).toISOString() };
        return await this.put(req, a, kv);
      }
      a = dryRunAnswer(this.planInput(req.user, now), req.user, value); // the answer includes the boot time of a node that is off
    } catch (err) {
      a = { error: err instanceof SyntaxError ? 'the request is not JSON' : `the operator could not plan it: ${(err as Error).message}`, time: new Date(now).toISOString() };
      if (!(err instanceof SyntaxError)) this.o.log.error({ err, key }, 'dry run failed');
    }
    await this.put(req, a, kv);
  }

  /** What the dry run plans: what a whole pass of the reconciler would (planInputOf), with the asking user's groups resolved too. */
  planInput(user: string, now: number): PlanInput {
    return planInputOf(this.o.cache, { now, users: this.o.users, groups: this.o.groups, alsoUsers: [user] });
  }

  /** A manager's change, decided from the Account as it is now (re-read on a conflict). */
  private async changeAccount(user: string, value: unknown): Promise<DryRunAnswer> {
    const change = decodeAccountChange(value);
    if ('error' in change) return { error: change.error };
    const admin = isAdmin(user, effectiveConfig(this.o.cache.config()).admins);
    let answer: DryRunAnswer = {};
    try {
      const r = await guaranteedUpdate(this.o.store, { kind: 'Account', name: change.account }, (acct) => {
        const out = applyAccountChange(acct, user, admin, change);
        if ('error' in out) {
          answer = { error: out.error };
          return false;
        }
        answer = { account: out.spec, changed: out.changed };
        if (!out.changed) return false;
        acct.spec = out.spec;
        return true;
      });
      if (answer.changed) this.o.log.info({ account: change.account, by: user, change }, 'account changed by its manager');
      return 'error' in answer ? answer : { account: r.object.spec, changed: r.changed };
    } catch (err) {
      if (err instanceof NotFoundError) return { error: `account ${change.account} does not exist (kiwictl get accounts lists them)` };
      this.o.log.error({ err, account: change.account, by: user }, 'account change failed');
      return { error: `the operator could not change account ${change.account}: ${(err as Error).message}` };
    }
  }

  private async put(req: { user: string; id: string }, a: DryRunAnswer, kv: IKeyValue): Promise<void> {
    const key = kv.key.toString();
    a.answeredBy = this.o.id;
    try {
      await this.o.store.txn('answer dry run', [], [putOp(dryRunKeys.answer(req.user, req.id), a, kv.lease)]);
    } catch (err) {
      this.o.log.debug({ err, key }, 'dry-run answer not written (the client gave up: lease gone)');
    }
  }
}
