// Pure: an account manager's change (kiwictl account add-member | remove-member | set-cap),
// applied to the Account's spec. Managers add and remove members and set member caps, nothing
// else: the allocation, the managers and the account's policy stay an admin's. The requester is
// the user whose request prefix the change was written under (identity from the key), never a
// name in the value; the value is hostile, decoded first (crds/api/account-change.ts).
import type { Account, AccountSpec } from '../../../crds/api/types.js';
import type { AccountChange } from '../../../crds/api/account-change.js';
import { validateObject } from '../../../crds/api/validate.js';

/**
 * The Account's spec after `requester`'s change, or why it is refused. Admins may also use this
 * way (they may as well write the Account). Nothing changes when the change is already true.
 */
export function applyAccountChange(account: Account, requester: string, isAdmin: boolean, c: AccountChange): { spec: AccountSpec; changed: boolean } | { error: string } {
  const managers = account.spec?.managers ?? [];
  if (!isAdmin && !managers.includes(requester))
    return { error: `${requester} does not manage account ${c.account}; its managers are ${managers.join(', ') || 'none (only admins)'}` };
  const spec: AccountSpec = structuredClone(account.spec ?? {});
  const members = { users: [...(spec.members?.users ?? [])], groups: [...(spec.members?.groups ?? [])] };
  const edit = (list: string[], add: string[] = [], remove: string[] = []) => [...new Set([...list.filter((x) => !remove.includes(x)), ...add])];
  members.users = edit(members.users, c.addUsers, c.removeUsers);
  members.groups = edit(members.groups, c.addGroups, c.removeGroups);
  spec.members = { ...(members.users.length ? { users: members.users } : {}), ...(members.groups.length ? { groups: members.groups } : {}) };
  if (c.memberCaps) {
    const caps = { ...(spec.memberCaps ?? {}) };
    for (const [u, n] of Object.entries(c.memberCaps)) {
      if (n === null) delete caps[u];
      else caps[u] = n;
    }
    if (Object.keys(caps).length) spec.memberCaps = caps;
    else delete spec.memberCaps;
  }
  if (!Object.keys(spec.members).length) delete spec.members;
  const changed = JSON.stringify(spec) !== JSON.stringify(account.spec ?? {});
  try {
    validateObject({ ...account, spec }, `account ${c.account} after the change`); // the schema's bounds (maxItems) hold
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { spec, changed };
}
