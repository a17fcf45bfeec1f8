// Users and groups as the system's user database (NSS: files, LDAP, SSSD, extrausers) lists
// them, and the two rules every Kiwi program applies to them alike (operator admission, the PAM
// decision, the kill path). Pure: parsing and rules; crds/api/nss.ts runs getent.
//
// The duplicate rule: a name resolves to its first entry, as getpwnam(3) does (the uid a login
// of that name runs as). A name is *ambiguous* when its entries disagree on the uid, or when its
// uid is also another name's (to the kernel, and so to the kill path, they are one user): an
// ambiguous name may not book (admission Rejects it), is not let in by a booking (PAM denies
// it) and is never signalled by a cleanup. Protected users come first: an alias of root
// (toor, uid 0) is root.
//
// The protected rule (protectedUser): root (by name or uid 0), uids below minUid, nobody (by
// name or uid 65534) and sshBypassUsers never book and are never signalled. PAM lets root,
// system users and bypass users in without a booking; nobody is not let in by that rule.
import type { EffectiveConfig } from './config.js';

/**
 * Is `user` a Kiwi admin: root (by name, or uid 0 where the caller knows it), or one of the
 * ClusterConfig's `admins`. The one test every program applies (admission's pools, the dry run's
 * account changes, kiwi-web's and kiwictl's early refusals, the flood detector's exemption).
 */
export function isAdmin(user: string, admins: readonly string[] | undefined, uid?: number): boolean {
  return uid === 0 || user === 'root' || (admins ?? []).includes(user);
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  /** Why this name does not stand for one user (the duplicate rule), when it does not. */
  ambiguous?: string;
}

/** Resolves a user name through the user database; undefined when there is no such user. */
export type UserLookup = (name: string) => SystemUser | undefined;

const ID = /^\d{1,10}$/;

/** passwd(5) lines (getent passwd prints them): malformed lines, comments and NIS +/- lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    if (f.length < 7 || !f[0] || !ID.test(f[2]) || !ID.test(f[3])) continue;
    const uid = Number(f[2]);
    if (uid > 0xffffffff) continue;
    out.push({ name: f[0], uid, gid: Number(f[3]), home: f[5], shell: f[6] });
  }
  return out;
}

/** group(5) lines. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    if (f.length < 4 || !f[0] || !ID.test(f[2])) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: f[3] ? f[3].split(',').filter(Boolean) : [] });
  }
  return out;
}

/** The entries of a user database by name, with the duplicate rule applied. */
export class UserTable {
  private readonly byName = new Map<string, PasswdEntry[]>();
  private readonly byUid = new Map<number, string[]>();

  constructor(entries: PasswdEntry[] = []) {
    for (const e of entries) this.add(e);
  }

  /** Adds an entry after those already there (a later NSS source, a name looked up alone). */
  add(e: PasswdEntry): void {
    const es = this.byName.get(e.name) ?? [];
    if (es.some((x) => x.uid === e.uid && x.gid === e.gid)) return; // the same entry from two sources
    es.push(e);
    this.byName.set(e.name, es);
    const names = this.byUid.get(e.uid) ?? [];
    if (!names.includes(e.name)) names.push(e.name);
    this.byUid.set(e.uid, names);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): SystemUser | undefined {
    const es = this.byName.get(name);
    if (!es) return undefined;
    const first = es[0];
    const u: SystemUser = { name, uid: first.uid, gid: first.gid };
    const why = ambiguity(name, es, this.byUid.get(first.uid) ?? []);
    if (why) u.ambiguous = why;
    return u;
  }

  /** The name of a uid: its first name. */
  nameOf(uid: number): string | undefined {
    return this.byUid.get(uid)?.[0];
  }
}

function ambiguity(name: string, entries: PasswdEntry[], sameUid: string[]): string | undefined {
  const uids = [...new Set(entries.map((e) => e.uid))];
  if (uids.length > 1) return `the user database has ${entries.length} entries named ${name} with different uids (${uids.join(', ')}); remove all but one`;
  const others = sameUid.filter((n) => n !== name);
  if (others.length) return `uid ${uids[0]} of ${name} is also ${others.join(', ')}'s: to the kernel they are one user, and ending ${name}'s processes would end theirs; give each name its own uid`;
  return undefined;
}

export const NOBODY_UID = 65534;

export type ProtectedReason = 'root' | 'system-user' | 'nobody' | 'bypass-user';

/**
 * Why this user never books and is never signalled (the one place that decides it), or
 * undefined. `uid` undefined: the user database does not know the name; the name rules still hold.
 */
export function protectedUser(name: string, uid: number | undefined, config: Pick<EffectiveConfig, 'minUid' | 'sshBypassUsers'>): { reason: ProtectedReason; message: string } | undefined {
  if (uid === 0 || name === 'root') return { reason: 'root', message: uid === 0 && name !== 'root' ? `${name} has uid 0 (root)` : 'root is never touched' };
  if (uid !== undefined && uid < config.minUid) return { reason: 'system-user', message: `${name} has uid ${uid}, below minUid ${config.minUid} (a system user)` };
  if (name === 'nobody' || uid === NOBODY_UID) return { reason: 'nobody', message: `${name} is nobody (uid ${NOBODY_UID}), which daemons run as` };
  if (config.sshBypassUsers.includes(name)) return { reason: 'bypass-user', message: `${name} is in sshBypassUsers` };
  return undefined;
}
