// Reading a user's activity on this node from /proc and their terminals: the CPU time of their
// processes (utime + stime + the reaped children's cutime + cstime, so that short-lived jobs
// under a live shell count) and the latest input on or creation of (a login) a terminal they own.
// Read-only: nothing here signals or writes.
import { readFileSync, statSync } from 'node:fs';
import { pidsOfUid, terminalsOf } from './procs.js';
import type { ActivitySample } from '../decide/idle.js';

/** /proc times are in USER_HZ, which Linux fixes at 100 for user space. */
const MS_PER_TICK = 10;

/** CPU ms of one process from its /proc/<pid>/stat text (undefined when malformed). */
export function cpuMsOfStat(text: string): number | undefined {
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime..cstime are fields 14..17.
  const t = rest.slice(11, 15).map(Number);
  if (t.length !== 4 || t.some((x) => !Number.isFinite(x) || x < 0)) return undefined;
  return (t[0] + t[1] + t[2] + t[3]) * MS_PER_TICK;
}

export function sampleActivity(uid: number, at: number, procRoot = '/proc'): ActivitySample {
  let cpuMs = 0;
  let lastInput: number | undefined;
  const ttys = new Set<string>();
  for (const pid of pidsOfUid(uid, procRoot)) {
    try {
      cpuMs += cpuMsOfStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8')) ?? 0;
    } catch {
      /* gone meanwhile */
    }
    for (const t of terminalsOf(pid)) ttys.add(t);
  }
  for (const t of ttys) {
    try {
      const st = statSync(t);
      if (st.uid !== uid) continue;
      // atime: the last read (typing); ctime: the chown at login. The kernel updates a tty's times coarsely (seconds).
      const t1 = Math.max(st.atimeMs, st.ctimeMs);
      if (lastInput === undefined || t1 > lastInput) lastInput = t1;
    } catch {
      /* closed meanwhile */
    }
  }
  return lastInput === undefined ? { at, cpuMs } : { at, cpuMs, lastInput };
}
