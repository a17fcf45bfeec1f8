// The only kill path of the daemon. Every signal it sends goes through here, behind the same
// guard as the decision (root, uid < minUid, sshBypassUsers and, in test mode, users outside
// --only-users-matching are refused), re-checking each pid's uid right before signalling it.
import { closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import type { EffectiveConfig } from '../../../crds/api/index.js';
import type { Logger } from '../../../crds/api/index.js';
import { protectedReason } from '../decide/kill.js';
import type { Proc } from '../decide/kill.js';
import { listProcs, pidsOfUid, readProc, terminalsOf, userName } from './procs.js';
import type { BookingCgroups } from './cgroup.js';
import { isEntryUid } from '../../../crds/api/keys.js';
import { isOwners, ownerOf, type Owner } from './owner.js';
import { canKillAs, killAllAs } from './killas.js';

export interface Guard {
  config: EffectiveConfig;
  onlyUsers?: RegExp;
}

export interface SweepOptions {
  user: string;
  uid: number;
  /** Calendar entry uids of the bookings ended (their cgroups are killed and removed). */
  entryUids: string[];
  killWaitMs: number;
  /** How long SIGKILL rounds go on before the leftovers are reported. */
  timeoutMs: number;
  guard: Guard;
  cgroups?: BookingCgroups;
  log: Logger;
  /** Interval between rounds (ms). */
  pollMs?: number;
  /**
   * Test seam: pids for which this returns true are never signalled nor moved into a cgroup,
   * so that they survive like an unkillable process would. Set only in test mode.
   */
  spare?: (pid: number) => boolean;
  /** Aborts the sweep (daemon shutdown); it is resumed on restart. */
  signal?: AbortSignal;
  /** The user's ids (default: their uid and /etc/subuid, /etc/subgid ranges). */
  owner?: Owner;
  /**
   * Asked before every round: the booking the user holds again (one that began during the
   * sweep), or undefined. Once they do, the sweep stops signalling: the processes are now that
   * booking's (a login under it must not get the ended booking's SIGKILL).
   */
  heldAgain?: () => string | undefined;
}

export interface SweepResult {
  ok: boolean;
  /** Every pid seen and signalled during the sweep. */
  seen: number;
  leftover: number[];
  usedCgroupKill: boolean;
  durationMs: number;
  aborted?: boolean;
  /** The sweep stopped early: the user holds this booking again (SweepOptions.heldAgain). */
  heldAgain?: string;
}

/** How many scans in a row must find none of the user's processes before a sweep succeeds. */
export const CONFIRM_SCANS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function assertMayTouch(user: string, uid: number, guard: Guard): void {
  const p = protectedReason(user, uid, guard.config, guard.onlyUsers);
  if (p) throw new Error(`refusing to signal processes of ${user} (uid ${uid}): ${p.message}`);
}

/**
 * The predicate "this process is the user's": their uid, or their subordinate uid and gid ranges
 * (enforce/owner.ts), never a zombie. A subordinate id that NSS knows as another user's uid is
 * not counted (overlapping ranges are an admin's mistake, and that user must not pay for it).
 */
export function ownedBy(user: string, owner: Owner): (p: Proc) => boolean {
  return (p) => {
    if (p.state === 'Z' || !isOwners(p, owner)) return false;
    if (p.ruid === owner.uid || p.euid === owner.uid) return true;
    for (const id of new Set([p.ruid, p.euid])) if (userName(id) !== undefined) return false;
    return true;
  };
}

/** A pid the rules protect: owned (real or effective) by root, a system or bypass user, or spared. */
function isProtectedPid(pid: number, guard: Guard, spare: (pid: number) => boolean): boolean {
  const p = readProc(pid);
  if (!p) return false;
  if (spare(pid)) return true;
  for (const uid of new Set([p.ruid, p.euid])) {
    const name = userName(uid);
    if (protectedReason(name ?? String(uid), name === undefined ? undefined : uid, guard.config, guard.onlyUsers)) return true;
  }
  return false;
}

/** Sends `sig` to `pid` if it is still the user's (the pid may have been reused); false if gone. */
function signalIfOwned(pid: number, owned: (p: Proc) => boolean, sig: NodeJS.Signals): boolean {
  const p = readProc(pid);
  if (!p || !owned(p)) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends every process of a user: SIGTERM to all (and to any that appear), then after killWait,
 * round after round, the booking cgroups frozen and killed (cgroup.kill) plus SIGKILL to every
 * process of the user (their uid and subordinate ids), until CONFIRM_SCANS scans in a row find
 * none (zombies do not count) and every booking cgroup reports `populated 0`, or the timeout
 * passes, which is reported with the leftover pids.
 */
export async function sweepUser(o: SweepOptions): Promise<SweepResult> {
  assertMayTouch(o.user, o.uid, o.guard);
  const started = Date.now();
  const poll = o.pollMs ?? 25;
  const spare = o.spare ?? (() => false);
  const owner = o.owner ?? ownerOf(o.user, o.uid);
  const owned = ownedBy(o.user, owner);
  const seen = new Set<number>();
  const termed = new Set<number>();
  let usedCgroupKill = false;
  const bad = o.entryUids.filter((u) => !isEntryUid(u));
  if (bad.length) o.log.warn({ user: o.user, entryUids: bad }, 'calendar entry uids that are not safe cgroup names: their cgroups are not touched, the uid sweep alone cleans up');
  const uids = o.entryUids.filter(isEntryUid);
  const adoptInto = uids[0];
  const liveProcs = () => listProcs().filter(owned);
  const live = () => liveProcs().map((p) => p.pid);
  const populated = () => !!o.cgroups && uids.some((u) => o.cgroups!.populated(u));
  const mayPark = (pid: number) => {
    const p = readProc(pid);
    return !!p && !owned(p) && isProtectedPid(pid, o.guard, spare);
  };
  // kill(-1) as each uid of the user's seen (their own, and subordinate ones in use); not while a
  // test seam spares pids, which a kill(-1) could not respect
  const byUid = !o.spare && canKillAs();
  const idsInUse = (procs: Proc[]) => {
    const ids = new Set<number>([o.uid]);
    for (const p of procs) for (const id of [p.ruid, p.euid]) if (id !== 0 && id !== o.uid && userName(id) === undefined) ids.add(id);
    return ids;
  };
  const killAs = (sig: 'TERM' | 'KILL', procs: Proc[]) => {
    if (byUid) for (const id of idsInUse(procs)) killAllAs(id, sig);
  };
  const result = (ok: boolean, leftover: number[], aborted = false, heldAgain?: string): SweepResult => {
    if (ok && o.cgroups) for (const u of uids) o.cgroups.remove(u);
    return { ok, seen: seen.size, leftover, usedCgroupKill, durationMs: Date.now() - started, ...(aborted ? { aborted } : {}), ...(heldAgain ? { heldAgain } : {}) };
  };
  const again = () => o.heldAgain?.();

  const termUntil = started + o.killWaitMs;
  let termedAll = false;
  for (;;) {
    const pids = live();
    if (!pids.length && !populated()) break; // confirmed below, by consecutive scans
    if (o.signal?.aborted) return result(false, pids, true);
    const held = again();
    if (held) return result(true, [], false, held);
    if (Date.now() >= termUntil) break;
    const fresh = pids.filter((p) => !termed.has(p) && !spare(p));
    for (const pid of fresh) {
      seen.add(pid);
      termed.add(pid);
      signalIfOwned(pid, owned, 'SIGTERM');
    }
    // by pid first (no process to start: what ends most processes soonest), then once by kill(-1)
    // for what the scan missed; then move the survivors-to-be into the booking cgroup so that
    // cgroup.kill catches whatever they fork later
    if (!termedAll) killAs('TERM', liveProcs());
    termedAll = true;
    if (o.cgroups && adoptInto) o.cgroups.adopt(adoptInto, fresh);
    await sleep(Math.min(poll, Math.max(1, termUntil - Date.now())));
  }

  const killUntil = Math.max(termUntil, Date.now()) + o.timeoutMs;
  let empty = 0;
  for (;;) {
    const held = again();
    if (held) return result(true, [], false, held);
    if (o.cgroups) for (const u of uids) usedCgroupKill = o.cgroups.killAll(u, mayPark) || usedCgroupKill;
    killAs('KILL', liveProcs());
    const procs = liveProcs();
    const pids = procs.map((p) => p.pid);
    const stillPopulated = populated();
    empty = !pids.length && !stillPopulated ? empty + 1 : 0;
    if (empty >= CONFIRM_SCANS) return result(true, []);
    if (o.signal?.aborted) return result(false, pids, true);
    if (Date.now() >= killUntil) {
      const inCgroups = o.cgroups ? uids.flatMap((u) => o.cgroups!.pids(u)) : [];
      return result(false, [...new Set([...pids, ...inCgroups])].sort((a, b) => a - b));
    }
    const targets = pids.filter((p) => !spare(p));
    for (const pid of targets) {
      seen.add(pid);
      signalIfOwned(pid, owned, 'SIGKILL');
    }
    if (o.cgroups && adoptInto) o.cgroups.adopt(adoptInto, targets);
    await sleep(poll);
  }
}

/** Sends a signal once to every live process of a user (the opt-in end signal). */
export function signalUser(user: string, uid: number, sig: NodeJS.Signals, guard: Guard, spare: (pid: number) => boolean = () => false): number {
  assertMayTouch(user, uid, guard);
  const owned = ownedBy(user, ownerOf(user, uid));
  let n = 0;
  for (const p of listProcs()) if (owned(p) && !spare(p.pid) && signalIfOwned(p.pid, owned, sig)) n++;
  return n;
}

/** Moves a user's live processes (subordinate ids included) into a booking's cgroup (while it is active). */
export function adoptUser(user: string, uid: number, entryUid: string, cgroups: BookingCgroups, guard: Guard, spare: (pid: number) => boolean = () => false): number {
  if (protectedReason(user, uid, guard.config, guard.onlyUsers)) return 0;
  if (!isEntryUid(entryUid)) return 0;
  const owned = ownedBy(user, ownerOf(user, uid));
  const have = new Set(cgroups.pids(entryUid));
  const fresh = listProcs().filter((p) => owned(p) && !have.has(p.pid) && !spare(p.pid)).map((p) => p.pid);
  return cgroups.adopt(entryUid, fresh).length;
}

/**
 * Writes a message to every terminal the user's processes have open and the user owns;
 * returns the terminals written to.
 */
export function warnUser(uid: number, message: string): string[] {
  const ttys = new Set<string>();
  for (const pid of pidsOfUid(uid)) for (const t of terminalsOf(pid)) ttys.add(t);
  const written: string[] = [];
  for (const t of ttys) {
    try {
      if (statSync(t).uid !== uid) continue;
      const fd = openSync(t, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
      try {
        writeSync(fd, `\r\n\x07${message}\r\n`);
        written.push(t);
      } finally {
        closeSync(fd);
      }
    } catch {
      /* closed meanwhile, or not writable */
    }
  }
  return written;
}
