// Who a PAM login's name is: the system's user database through NSS (crds/api/nss.ts, the one
// resolver the operator and the kill path use too), so LDAP, SSSD and extrausers users are
// real users. The cached table costs one stat(2) per check; only a name it does not list
// spawns getent.
import { systemUsers } from '../../../crds/api/nss.js';
import type { UserLookup } from '../../../crds/api/users.js';
import type { PamUser } from '../decide/pam.js';

export type PamUserLookup = (name: string) => PamUser;

export function nssPamUser(users: UserLookup = systemUsers().lookup): PamUserLookup {
  return (name) => {
    const u = users(name);
    return { name, ...(u ? { uid: u.uid } : {}), ...(u?.ambiguous ? { ambiguous: u.ambiguous } : {}) };
  };
}
