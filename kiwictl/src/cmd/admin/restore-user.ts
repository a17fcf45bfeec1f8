// kiwictl admin restore-user USER [--delete-ended]: gives back the etcd write grants the operator
// revoked from a user who flooded their booking prefix (operator/src/grants), and removes the
// operator's mark (/kiwi/grants/revoked/USER) with an event. Refused while the user still holds
// more than the operator revokes at (crds/api/roles.ts floodReason): it would revoke again at
// once. --delete-ended deletes the user's bookings that are neither Pending nor Active (the
// flood's Rejected ones, and keys that hold no valid booking) first. Needs etcd's root user.
// Light modules only, not crds/api/index.js: that one loads etcd3 at every kiwictl start.
import { CLUSTER_CONFIG_NAME, effectiveConfig } from '../../../../crds/api/config.js';
import { keys } from '../../../../crds/api/keys.js';
import type { KiwiEvent } from '../../../../crds/api/types.js';
import { ConflictError, ForbiddenError, InvalidError } from '../../../../crds/api/errors.js';
import { checkName, floodReason, roleOf, writeGrantsOf } from '../../../../crds/api/roles.js';
import { rfc3339 } from '../../../../crds/api/time.js';
import { usage, type Ctx, type Options } from '../verb.js';

/** Deletes in transactions of at most this many keys (etcd's default --max-txn-ops is 128). */
const DELETES_PER_TXN = 100;

export class RestoreUserOptions implements Options {
  user = '';
  deleteEnded = false;

  complete(args: string[], flags: { deleteEnded?: boolean }): void {
    if (args.length !== 1) throw usage('restore-user takes one USER, e.g. kiwictl admin restore-user alice');
    this.user = args[0];
    this.deleteEnded = Boolean(flags.deleteEnded);
  }

  validate(): void {
    const bad = checkName(this.user, 'user');
    if (bad) throw new InvalidError(bad);
  }

  async run(ctx: Ctx): Promise<void> {
    const store = await ctx.client.store();
    const etcd = store.etcd;
    const u = this.user;
    const mark = await store.call(`read ${u}'s revocation`, () => etcd.get(keys.revoked(u)).string());
    if (mark === null) {
      ctx.out(`${u}'s write grants are not revoked (no ${keys.revoked(u)}); nothing to do\n`);
      return;
    }
    if (this.deleteEnded) {
      const { items, invalid } = await store.listStored('Booking', { namespace: u });
      const ended = [...items.filter((s) => !['Pending', 'Active'].includes(s.object.status?.phase ?? '')).map((s) => keys.spec({ kind: 'Booking', namespace: u, name: s.object.metadata.name! })), ...invalid.map((p) => p.key)];
      for (let i = 0; i < ended.length; i += DELETES_PER_TXN) {
        const part = ended.slice(i, i + DELETES_PER_TXN);
        await store.txn(`delete ${u}'s ended bookings`, [], part.map((k) => ({ request_delete_range: { key: Buffer.from(k) } })));
      }
      ctx.out(`deleted ${ended.length} of ${u}'s bookings that were neither Pending nor Active\n`);
    }
    const prefix = keys.specPrefix('Booking', u);
    const held = await store.call(`count ${u}'s bookings`, () => etcd.getAll().prefix(prefix).exec());
    const now = { keys: held.kvs.length, bytes: held.kvs.reduce((n, kv) => n + kv.value.length, 0) };
    const config = effectiveConfig(await store.get({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME }));
    const still = floodReason(u, now, config.userLimits);
    if (still) throw new ConflictError(`not restored: ${still}, and the operator would revoke the grants again at once; delete them first (\`kiwictl admin restore-user ${u} --delete-ended\` deletes those neither Pending nor Active)`);
    const { etcdPermission } = await import('../../../../crds/api/etcd.js');
    const role = etcd.role(roleOf({ kind: 'user', user: u }));
    try {
      for (const g of writeGrantsOf(u)) await role.grant(etcdPermission(g));
    } catch (e) {
      const m = String((e as Error)?.message ?? e);
      if (/permission denied|not authorized|root/i.test(m)) throw new ForbiddenError(`restore-user needs etcd's root user (root's credential file, written by enable-auth): ${m}`);
      throw store.translate(e, `restore-user ${u}`);
    }
    const time = rfc3339(new Date());
    const ev: KiwiEvent = { time, kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME, type: 'Normal', reason: 'UserWriteRestored', message: `user ${u}'s etcd write grants restored by an admin (they hold ${now.keys} booking keys)`, source: 'kiwictl' };
    await store.txn(`restore ${u}`, [], [{ request_delete_range: { key: Buffer.from(keys.revoked(u)) } }, store.eventOp(ev, `restored-${u}`)]);
    ctx.out(`${u}'s write grants are restored (readwrite ${writeGrantsOf(u).map((g) => g.key).join(' and ')}); they hold ${now.keys} booking keys\n`);
  }
}
