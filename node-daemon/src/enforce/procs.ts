// Reading /proc: processes with their real and effective uid and state, and user lookups.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { systemUsers } from '../../../crds/api/nss.js';
import type { Proc } from '../decide/kill.js';

/** Parses /proc/<pid>/status text into a Proc (undefined if malformed). */
export function parseStatus(pid: number, text: string): Proc | undefined {
  const uid = /^Uid:\s+(\d+)\s+(\d+)/m.exec(text);
  const gid = /^Gid:\s+(\d+)\s+(\d+)/m.exec(text);
  const state = /^State:\s+(\S)/m.exec(text);
  if (!uid || !state) return undefined;
  return { pid, ruid: Number(uid[1]), euid: Number(uid[2]), ...(gid ? { rgid: Number(gid[1]), egid: Number(gid[2]) } : {}), state: state[1] };
}

export function readProc(pid: number, procRoot = '/proc'): Proc | undefined {
  try {
    return parseStatus(pid, readFileSync(`${procRoot}/${pid}/status`, 'utf8'));
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every process on the node (threads are not listed: /proc/<pid> is per process). */
export function listProcs(procRoot = '/proc'): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name), procRoot);
    if (p) out.push(p);
  }
  return out;
}

/** Live (non-zombie) pids whose real or effective uid is `uid`. */
export function pidsOfUid(uid: number, procRoot = '/proc'): number[] {
  return listProcs(procRoot)
    .filter((p) => p.state !== 'Z' && (p.ruid === uid || p.euid === uid))
    .map((p) => p.pid);
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Terminal devices (/dev/pts/N, /dev/ttyN) that a process has open on stdin/stdout/stderr. */
export function terminalsOf(pid: number): string[] {
  const out = new Set<string>();
  for (const fd of [0, 1, 2]) {
    try {
      const t = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (/^\/dev\/(pts\/\d+|tty\d*)$/.test(t)) out.add(t);
    } catch {
      /* gone, or no such fd */
    }
  }
  return [...out];
}

/**
 * A user's uid through the user database (crds/api/nss.ts); undefined when there is no such
 * user, or when the name is not one user (crds/api/users.ts, the duplicate rule): never signalled.
 */
export function uidOf(user: string): number | undefined {
  const u = systemUsers().lookup(user);
  return u && !u.ambiguous ? u.uid : undefined;
}

/** A uid's user name through the user database; undefined if unknown. */
export function userName(uid: number): string | undefined {
  return systemUsers().nameOf(uid);
}
