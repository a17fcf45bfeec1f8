// Whose a process (or an IPC object) is, for cleanup: the user's own uid, and also the user's
// subordinate uid and gid ranges from /etc/subuid and /etc/subgid, under which the user runs
// processes in a user namespace (newuidmap, podman, unshare --map-auto). A process in such a
// namespace shows its host uid in /proc/PID/status, so a uid-only scan misses it.
import { readFileSync } from 'node:fs';

export interface IdRange {
  start: number;
  count: number;
}

/** Everything that counts as one user's for cleanup. */
export interface Owner {
  uid: number;
  subuids: IdRange[];
  subgids: IdRange[];
}

/** The ranges of `user` (by name or by uid) in /etc/subuid or /etc/subgid text. */
export function parseSubIds(text: string, user: string, uid: number): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [who, s, c] = line.trim().split(':');
    if (who !== user && who !== String(uid)) continue;
    if (!/^\d+$/.test(s ?? '') || !/^\d+$/.test(c ?? '')) continue;
    const start = Number(s);
    const count = Number(c);
    // uid 0..65535 is never anyone's subordinate range here: those are real accounts
    if (count > 0 && start >= 65536) out.push({ start, count });
  }
  return out;
}

const inRanges = (id: number, rs: IdRange[]) => rs.some((r) => id >= r.start && id < r.start + r.count);

/** The user's ids, reading /etc/subuid and /etc/subgid (missing files: no ranges). */
export function ownerOf(user: string, uid: number, etc = '/etc'): Owner {
  const read = (f: string) => {
    try {
      return readFileSync(`${etc}/${f}`, 'utf8');
    } catch {
      return '';
    }
  };
  return { uid, subuids: parseSubIds(read('subuid'), user, uid), subgids: parseSubIds(read('subgid'), user, uid) };
}

export interface Ids {
  ruid: number;
  euid: number;
  rgid?: number;
  egid?: number;
}

/** True when a process with these ids is the owner's: its uid, or one of its subordinate ids. */
export function isOwners(p: Ids, o: Owner): boolean {
  if (p.ruid === o.uid || p.euid === o.uid) return true;
  if (inRanges(p.ruid, o.subuids) || inRanges(p.euid, o.subuids)) return true;
  return (p.rgid !== undefined && inRanges(p.rgid, o.subgids)) || (p.egid !== undefined && inRanges(p.egid, o.subgids));
}

/** True when a uid is the owner's own or subordinate (IPC objects carry a uid only). */
export function isOwnersUid(uid: number, o: Owner): boolean {
  return uid === o.uid || inRanges(uid, o.subuids);
}
