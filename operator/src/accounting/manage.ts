// Pure: an account manager's change (kiwictl account add-member | remove-member | set-cap),
// applied to the Account's spec. Managers add and remove members and set member caps, nothing
// else: the allocation, the managers and the account's policy stay an admin's. The requester is
// the user whose request prefix the change was written under (identity from the key), never a
// name in the value; the value is hostile and decoded field by field.
import type { Account, AccountSpec } from '../../../crds/api/types.js';
import type { AccountChange } from '../../../crds/api/dryrun.js';
import { checkName } from '../../../crds/api/roles.js';
import { validateObject } from '../../../crds/api/validate.js';
import { isKeySegment } from '../../../crds/api/keys.js';

const LISTS = ['addUsers', 'removeUsers', 'addGroups', 'removeGroups'] as const;
const FIELDS = new Set<string>(['account', ...LISTS, 'memberCaps']);
/** The most units a cap may name (the schema's ledger counts in thousandths within 2^53). */
const MAX_CAP = 1e12;

/** Why a member name is refused: checkName's rules (add-user's), and __proto__, which a JSON object used as a map of names (memberCaps, the ledger's charges) cannot hold as a key. */
function badName(x: unknown): string | undefined {
  if (x === '__proto__') return 'the name __proto__ is not allowed';
  return checkName(x as string, 'user');
}

/** The change a request value asks for, or the problem with it, naming the field. */
export function decodeAccountChange(value: unknown): AccountChange | { error: string } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { error: 'the account change is not an object ({"account": NAME, "addUsers": [...], ...})' };
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).filter((k) => !FIELDS.has(k));
  if (unknown.length) return { error: `the account change has unknown field(s) ${unknown.join(', ')}: a manager may only add or remove members and set member caps (the rest is an admin's: kiwictl apply -f account.yaml)` };
  if (typeof v.account !== 'string' || !v.account) return { error: 'the account change names no account' };
  if (!isKeySegment(v.account, 'name')) return { error: `account name ${JSON.stringify(v.account.slice(0, 64))} is not an object name (lower-case letters, digits, - and .)` };
  const out: AccountChange = { account: v.account };
  for (const f of LISTS) {
    if (v[f] === undefined) continue;
    const xs = v[f];
    if (!Array.isArray(xs) || xs.length > 1000) return { error: `${f} must be a list of at most 1000 names` };
    for (const x of xs) {
      const bad = badName(x);
      if (bad) return { error: `${f}: ${f.endsWith('Groups') ? bad.replace(/\buser\b/g, 'group') : bad}` };
    }
    out[f] = xs as string[];
  }
  if (v.memberCaps !== undefined) {
    const caps = v.memberCaps;
    if (!caps || typeof caps !== 'object' || Array.isArray(caps)) return { error: 'memberCaps must be an object of user: units (null clears a cap)' };
    for (const [u, n] of Object.entries(caps)) {
      const bad = badName(u);
      if (bad) return { error: `memberCaps: ${bad}` };
      if (n !== null && (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_CAP)) return { error: `memberCaps.${u} must be a number of units from 0 to ${MAX_CAP}, or null to clear it; got ${JSON.stringify(n)}` };
    }
    out.memberCaps = caps as Record<string, number | null>;
  }
  return out;
}

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
