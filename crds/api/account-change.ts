// An account manager's change (kiwictl account add-member | remove-member | set-cap), as a
// request value: what it may name, decoded field by field as hostile input. One decoder for the
// client (kiwictl refuses bad input itself, exit 2) and the operator, which applies it
// (operator/src/accounting/manage.ts). Pure.
import { checkName } from './roles.js';
import { isKeySegment } from './keys.js';

/** An account manager's change: members added or removed, member caps set (a number) or cleared (null). Nothing else of the Account. */
export interface AccountChange {
  account: string;
  addUsers?: string[];
  removeUsers?: string[];
  addGroups?: string[];
  removeGroups?: string[];
  memberCaps?: Record<string, number | null>;
}

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
