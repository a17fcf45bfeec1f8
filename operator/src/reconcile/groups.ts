// Group membership for the planner's pools, resolved here in the shell so the planner gets it
// as data: for each user, the groups (of those the pools name in allowGroups) that list them as
// a member or are their primary group. Lookups are the cached NSS ones (crds/api/nss.ts).
import type { Pool } from '../../../crds/api/index.js';
import type { GroupEntry, UserLookup } from '../../../crds/api/users.js';

export type GroupLookup = (name: string) => GroupEntry | undefined;

export function poolGroups(pools: Pool[], users: Iterable<string>, group: GroupLookup | undefined, user: UserLookup | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const names = [...new Set(pools.flatMap((p) => p.spec?.allowGroups ?? []))];
  if (!names.length || !group) return out;
  const entries = names.map((n) => group(n)).filter((g): g is GroupEntry => g !== undefined);
  for (const u of new Set(users)) {
    const gid = user?.(u)?.gid;
    const mine = entries.filter((g) => g.members.includes(u) || (gid !== undefined && g.gid === gid)).map((g) => g.name);
    if (mine.length) out.set(u, mine);
  }
  return out;
}
