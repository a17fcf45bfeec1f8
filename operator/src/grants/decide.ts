// Which users lose their write grants: pure. Beyond the ClusterConfig's userLimits a user's new
// bookings are Rejected (the cache's overLimit) and their dry runs refused (dryrun/server.ts); a user who keeps writing past REVOKE_FACTOR
// times a limit (crds/api/roles.ts floodReason) is flooding etcd (its space quota, its write
// rate, the operator's attention), and only taking the grant away stops that: etcd has no
// per-user quota nor rate limit. Admins are never revoked here: they write for others, and
// their role is shared.
import type { EffectiveConfig } from '../../../crds/api/index.js';
import { floodReason } from '../../../crds/api/roles.js';
import type { Usage } from './usage.js';
import { isAdmin } from '../../../crds/api/users.js';

export type { Usage } from './usage.js';

export interface Revocation {
  user: string;
  /** Why, naming the limit and the way back (restore-user). */
  reason: string;
  keys: number;
  bytes: number;
}

/** The users to revoke now: flooding, not an admin, not already revoked. Sorted by name. */
export function toRevoke(usage: ReadonlyMap<string, Usage>, config: Pick<EffectiveConfig, 'userLimits' | 'admins'>, revoked: ReadonlySet<string>): Revocation[] {
  const out: Revocation[] = [];
  for (const [user, u] of usage) {
    if (revoked.has(user) || isAdmin(user, config.admins)) continue;
    const why = floodReason(user, u, config.userLimits);
    if (why) out.push({ user, keys: u.keys, bytes: u.bytes, reason: `${why}: their etcd write grants are revoked so that the cluster keeps writing; an admin restores them with \`kiwictl admin restore-user ${user}\`` });
  }
  return out.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}
