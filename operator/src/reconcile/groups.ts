// Group membership for the planner's pools and accounts, resolved here in the shell so the
// planner gets it as data: for each user, the groups (of those the pools name in allowGroups and
// the accounts in members.groups) that list them as a member or are their primary group.
// Lookups are the cached NSS ones (crds/api/nss.ts).
import type { Pool } from '../../../crds/api/index.js';
import type { AccountView } from '../plan/index.js';
import type { GroupEntry, UserLookup } from '../../../crds/api/users.js';

export type GroupLookup = (name: string) => GroupEntry | undefined;

/** The groups the accounts' members name. */
export function accountGroups(accounts: Map<string, AccountView>): string[] {
  return [...accounts.values()].flatMap((av) => av.account.spec?.members?.groups ?? []);
}

export function poolGroups(pools: Pool[], users: Iterable<string>, group: GroupLookup | undefined, user: UserLookup | undefined, alsoGroups: string[] = []): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const names = [...new Set([...pools.flatMap((p) => p.spec?.allowGroups ?? []), ...alsoGroups])];
  if (!names.length || !group) return out;
  const entries = names.map((n) => group(n)).filter((g): g is GroupEntry => g !== undefined);
  for (const u of new Set(users)) {
    const gid = user?.(u)?.gid;
    const mine = entries.filter((g) => g.members.includes(u) || (gid !== undefined && g.gid === gid)).map((g) => g.name);
    if (mine.length) out.set(u, mine);
  }
  return out;
}
