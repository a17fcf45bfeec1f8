// Who may log in to this node now: the PAM account check, pure (no I/O, no clock).
//
// Named outcomes, in the order they are tried, each with its fixed action (STYLE.md section 6,
// after pam_slurm_adopt's README):
//
//   outcome      when                                             action
//   root         uid 0, or the name root                          allow
//   systemUser   uid below config.minUid                          allow
//   bypass       the name is in config.sshBypassUsers             allow
//                (these three: crds/api/users.ts protectedUser, the rule admission and
//                the kill path use; nobody is protected from bookings but not let in by it)
//   ambiguous    the name is not one user (duplicate entries, a   deny: how to fix it
//                shared uid: crds/api/users.ts)
//   admin        the name is in config.admins                     allow
//   booked       the user holds an entry of this node's calendar  allow
//                at `now` (start <= now < end)
//   noView       the daemon has no view of its calendar yet       deny (as pamFailMode closed)
//   heldByOther  somebody else's entry holds the node now         deny: who, until when, how to book
//   notYet       the user's own entry starts later                deny: when it starts
//   noBooking    nobody holds the node now                        deny: how to book it
//
// When the daemon cannot be asked at all (down, hung, socket missing) the helper script decides
// alone from the bypass file: the always-allowed users get in, everyone else follows
// pamFailMode (closed by default). See node-daemon/pam/pam_kiwi.c.
import type { CalendarEntry } from '../../../crds/api/pure.js';
import { DEFAULT_CONFIG } from '../../../crds/api/config.js';
import { isAdmin, protectedUser, type ProtectedReason } from '../../../crds/api/users.js';
import type { LocalView } from '../view.js';

export type PamOutcome = 'root' | 'systemUser' | 'bypass' | 'ambiguous' | 'admin' | 'booked' | 'noView' | 'heldByOther' | 'notYet' | 'noBooking';

export interface PamUser {
  name: string;
  /** From the user database (NSS); undefined when it has no such name. */
  uid?: number;
  /** Set when the name is not one user (crds/api/users.ts, the duplicate rule). */
  ambiguous?: string;
}

/** Protected users PAM lets in without a booking. */
const LET_IN: Partial<Record<ProtectedReason, PamOutcome>> = { root: 'root', 'system-user': 'systemUser', 'bypass-user': 'bypass' };

export interface PamDecision {
  allow: boolean;
  outcome: PamOutcome;
  /** One line the user sees when denied; "" when allowed. */
  reason: string;
}

/** The hint every denial ends with; one place, so that kiwictl's spelling can change here. */
export function bookHint(node: string): string {
  return `book it with: kiwictl alloc -w ${node}`;
}

export function pamDecision(user: PamUser, view: LocalView | undefined, now: number): PamDecision {
  const allow = (outcome: PamOutcome): PamDecision => ({ allow: true, outcome, reason: '' });
  const deny = (outcome: PamOutcome, reason: string): PamDecision => ({ allow: false, outcome, reason: oneLine(`kiwi: ${reason}`) });
  const config = view?.config ?? DEFAULT_CONFIG;

  const prot = protectedUser(user.name, user.uid, config);
  const letIn = prot && LET_IN[prot.reason];
  if (letIn) return allow(letIn);
  if (user.ambiguous) return deny('ambiguous', `${user.ambiguous}. Until then ${user.name} cannot log in by a booking.`);
  if (isAdmin(user.name, config.admins, user.uid)) return allow('admin');
  if (!view) return deny('noView', 'this node has not loaded its booking calendar yet; only administrators may log in now. Try again in a minute.');

  const node = view.node;
  const current = activeEntry(view.entries, now);
  if (current && current.user === user.name) return allow('booked');
  if (current) {
    const next = nextFree(view.entries, current);
    return deny('heldByOther', `node ${node} is booked by ${current.user} until ${fmtTime(next)}; ${bookHint(node)}`);
  }
  const own = view.entries.find((e) => e.user === user.name && e.start > now);
  if (own) return deny('notYet', `your booking ${own.booking} of node ${node} starts at ${fmtTime(own.start)}; log in then.`);
  const upcoming = view.entries.find((e) => e.start > now);
  const when = upcoming ? ` (the next booking, by ${upcoming.user}, starts at ${fmtTime(upcoming.start)})` : '';
  return deny('noBooking', `you have no booking on node ${node} now${when}; ${bookHint(node)}`);
}

/** The entry holding the node at `now`, if any: [start, end). */
export function activeEntry(entries: readonly CalendarEntry[], now: number): CalendarEntry | undefined {
  return entries.find((e) => e.start <= now && now < e.end);
}

/** When the node is next free after `from`: back-to-back entries of the same user count as one hold. */
function nextFree(entries: readonly CalendarEntry[], from: CalendarEntry): number {
  let end = from.end;
  for (const e of entries) if (e.user === from.user && e.start === end) end = e.end;
  return end;
}

/** "2026-11-22 23:05 UTC", with seconds only when they are not zero. */
export function fmtTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-22T23:05:07.000Z
  const hm = iso.slice(11, 16);
  const s = iso.slice(17, 19);
  return `${iso.slice(0, 10)} ${hm}${s === '00' ? '' : ':' + s} UTC`;
}

/** Printable ASCII only, bounded: the reason is shown on a terminal and sent as one protocol line. */
export function oneLine(s: string, max = 400): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? clean.slice(0, max - 3) + '...' : clean;
}

/**
 * The session hook (pam_slurm_adopt's "adopt"): which booking's cgroup a new login of `user`
 * goes into, so that the booking's cleanup ends everything started over SSH. Only the user who
 * holds the node's entry now is adopted; `skip` says why not otherwise.
 */
export function adoptTarget(user: PamUser, view: LocalView | undefined, now: number): { entry: CalendarEntry } | { skip: string } {
  if (user.uid === 0 || user.name === 'root') return { skip: 'root' };
  if (!view) return { skip: 'noView' };
  const prot = protectedUser(user.name, user.uid, view.config);
  if (prot) return { skip: LET_IN[prot.reason] ?? prot.reason }; // never killed, so never adopted
  if (user.ambiguous) return { skip: 'ambiguous' };
  const e = activeEntry(view.entries, now);
  if (!e || e.user !== user.name) return { skip: 'notBooked' };
  return { entry: e };
}
