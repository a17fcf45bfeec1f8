// Pure: which bookings are owed a cleanup, and whose processes that cleanup may end.
// No /proc, no signals, no clock: callers pass `now` and what they read.
import type { CalendarEntry, EffectiveConfig } from '../../../crds/api/pure.js';
import { protectedUser, type ProtectedReason, type UserLookup } from '../../../crds/api/users.js';
import { begunSlotsMovedLater } from './timers.js';

/** One process as read from /proc/<pid>/status. */
export interface Proc {
  pid: number;
  /** Real uid. */
  ruid: number;
  /** Effective uid. */
  euid: number;
  /** Real and effective gid (subordinate gid ranges count as the user's: enforce/owner.ts). */
  rgid?: number;
  egid?: number;
  /** State letter (R, S, D, T, Z, ...). */
  state: string;
}

/** A booking the daemon has seen and not yet cleaned up after. */
export interface Tracked extends CalendarEntry {
  /** Epoch ms when it was seen to be gone from the calendar (cancelled, shortened away, expired). */
  goneAt?: number;
}

export const isActive = (e: CalendarEntry, now: number) => e.start <= now && now < e.end;

/** The user's active entry other than the ended ones (`except`: their uids): they still hold the node. */
export const heldAgain = (entries: CalendarEntry[], user: string, now: number, except: string[]): CalendarEntry | undefined =>
  entries.find((e) => e.user === user && isActive(e, now) && !except.includes(e.uid));

/** The mark of a finished cleanup: entry uid and the end it was done for (a moved end is new). */
export const doneKey = (e: CalendarEntry) => `${e.uid}@${e.end}`;

/**
 * Merges the calendar into what the daemon tracks. Calendar entries replace tracked ones of the
 * same uid (an end may have moved); a tracked entry no longer in the calendar is kept, marked
 * gone, if it had begun (its user may have processes left), and forgotten if it had not.
 * Entries already cleaned up after (`done`, by doneKey) are not tracked again while the
 * calendar still lists them (the operator removes them in its own time, or never when it is down).
 * A begun entry that the calendar now starts after now has ended too (begunSlotsMovedLater): it
 * is kept, marked gone, and its later copy is tracked once that cleanup is done.
 */
export function track(known: Tracked[], calendar: CalendarEntry[], now: number, done: ReadonlySet<string> = new Set()): Tracked[] {
  const moved = begunSlotsMovedLater(known, calendar, now);
  const inCal = new Set(calendar.filter((e) => !moved.has(e.uid)).map((e) => e.uid));
  const out: Tracked[] = calendar.filter((e) => !done.has(doneKey(e)) && !moved.has(e.uid)).map((e) => ({ ...e }));
  for (const k of known) {
    if (inCal.has(k.uid) || done.has(doneKey(k))) continue;
    if (k.start > now) continue; // cancelled before it began: nothing to clean
    out.push({ ...k, goneAt: k.goneAt ?? now });
  }
  return out.sort((a, b) => a.start - b.start || a.uid.localeCompare(b.uid));
}

/** Tracked bookings whose cleanup is due now: ended by the clock, or gone from the calendar. */
export function dueCleanups(known: Tracked[], now: number): Tracked[] {
  return known.filter((k) => k.end <= now || k.goneAt !== undefined);
}

export type SpareReason = ProtectedReason | 'holds-active-booking' | 'unknown-user' | 'ambiguous-user' | 'guard';

export interface KillTarget {
  user: string;
  uid: number;
  /** Bookings (ns/name) whose end this cleanup is for. */
  bookings: string[];
  /** Calendar entry uids that are done once the user's processes are gone. */
  entryUids: string[];
  /** The user's live processes (not zombies), by real or effective uid. */
  pids: number[];
  reason: string;
}

export interface Spared {
  user: string;
  bookings: string[];
  entryUids: string[];
  reason: SpareReason;
  message: string;
}

export interface KillInput {
  due: Tracked[];
  /** The current calendar entries (to find users who still hold an active booking). */
  entries: CalendarEntry[];
  procs: Proc[];
  config: EffectiveConfig;
  now: number;
  /** The user database (crds/api/nss.ts); undefined when the user does not exist on this node. */
  users: UserLookup;
  /** Test-mode guard: only users whose name matches may be touched. */
  onlyUsers?: RegExp;
}

/** Why a user must never be touched, or undefined when they may be. */
export function protectedReason(user: string, uid: number | undefined, config: EffectiveConfig, onlyUsers?: RegExp): { reason: SpareReason; message: string } | undefined {
  if (uid === undefined) return { reason: 'unknown-user', message: `user ${user} does not exist on this node` };
  const p = protectedUser(user, uid, config);
  if (p) return p;
  if (onlyUsers && !onlyUsers.test(user)) return { reason: 'guard', message: `${user} does not match --only-users-matching ${onlyUsers}` };
  return undefined;
}

/**
 * Decides, for the due cleanups, whose processes to end. One target per user (a user may have
 * several due bookings). A user who still holds an active booking on the node, root, system
 * users, bypass users (and, in test mode, users outside the guard) are spared with a reason.
 */
export function whoToKill(input: KillInput): { kill: KillTarget[]; spared: Spared[] } {
  const byUser = new Map<string, Tracked[]>();
  for (const d of input.due) byUser.set(d.user, [...(byUser.get(d.user) ?? []), d]);
  const kill: KillTarget[] = [];
  const spared: Spared[] = [];
  for (const [user, ds] of [...byUser].sort(([a], [b]) => a.localeCompare(b))) {
    const bookings = [...new Set(ds.map((d) => d.booking))];
    const entryUids = ds.map((d) => d.uid);
    const u = input.users(user);
    const uid = u?.uid;
    const prot = protectedReason(user, uid, input.config, input.onlyUsers);
    if (prot) {
      spared.push({ user, bookings, entryUids, ...prot });
      continue;
    }
    if (u?.ambiguous) {
      spared.push({ user, bookings, entryUids, reason: 'ambiguous-user', message: u.ambiguous });
      continue;
    }
    const holding = heldAgain(input.entries, user, input.now, entryUids);
    if (holding) {
      spared.push({ user, bookings, entryUids, reason: 'holds-active-booking', message: `${user} still holds booking ${holding.booking} until ${new Date(holding.end).toISOString()}` });
      continue;
    }
    const pids = input.procs.filter((p) => p.state !== 'Z' && (p.ruid === uid || p.euid === uid)).map((p) => p.pid).sort((a, b) => a - b);
    const why = ds.map((d) => (d.goneAt !== undefined && d.end > input.now ? `${d.booking} removed from the calendar` : `${d.booking} ended at ${new Date(d.end).toISOString()}`));
    kill.push({ user, uid: uid!, bookings, entryUids, pids, reason: why.join('; ') });
  }
  return { kill, spared };
}

/** Keeps the done marks of entries still in the calendar (the others can never come back). */
export function pruneDone(done: Iterable<string>, calendar: CalendarEntry[]): string[] {
  const keep = new Set(calendar.map(doneKey));
  return [...done].filter((k) => keep.has(k));
}
