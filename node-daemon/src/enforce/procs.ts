// Reading /proc: processes with their real and effective uid and state, and user lookups.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
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

const uidCache = new Map<string, { uid: number | undefined; at: number }>();

/** A user's uid through NSS (getent), cached for a minute; undefined if there is no such user. */
export function uidOf(user: string): number | undefined {
  const c = uidCache.get(user);
  if (c && Date.now() - c.at < 60_000) return c.uid;
  let uid: number | undefined;
  if (/^[a-z_][a-z0-9_.-]*[$]?$/i.test(user)) {
    try {
      const line = execFileSync('getent', ['passwd', user], { encoding: 'utf8', timeout: 2000 });
      const n = Number(line.split(':')[2]);
      uid = Number.isInteger(n) ? n : undefined;
    } catch {
      uid = undefined;
    }
  }
  uidCache.set(user, { uid, at: Date.now() });
  return uid;
}

const nameCache = new Map<number, { name: string | undefined; at: number }>();

/** A uid's user name through NSS (getent), cached for a minute; undefined if unknown. */
export function userName(uid: number): string | undefined {
  const c = nameCache.get(uid);
  if (c && Date.now() - c.at < 60_000) return c.name;
  let name: string | undefined;
  try {
    name = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', timeout: 2000 }).split(':')[0] || undefined;
  } catch {
    name = undefined;
  }
  nameCache.set(uid, { name, at: Date.now() });
  return name;
}
