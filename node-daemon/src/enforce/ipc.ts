// What a user's processes leave behind that outlives them, removed at the end of a cleanup as
// systemd-logind's RemoveIPC= does when a user's last session ends: SysV shared memory,
// semaphores and message queues owned by the user (their uid or a subordinate one), and POSIX
// shared memory and message queues (files in /dev/shm and /dev/mqueue, FIFOs and sockets there
// included). Files elsewhere (/tmp, /var/tmp) are not touched: that is systemd-tmpfiles' job.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isOwnersUid, type Owner } from './owner.js';
import { systemTool } from '../../../crds/api/tools.js';

export type SysvKind = 'shm' | 'sem' | 'msg';

export interface SysvObject {
  kind: SysvKind;
  id: number;
  uid: number;
  cuid: number;
}

/** Parses /proc/sysvipc/{shm,sem,msg} text (a header line naming the columns, then one object a line). */
export function parseSysvipc(kind: SysvKind, text: string): SysvObject[] {
  const [head, ...rows] = text.split('\n');
  const cols = (head ?? '').trim().split(/\s+/);
  const at = (name: string) => cols.indexOf(name);
  const idCol = at(kind === 'shm' ? 'shmid' : kind === 'sem' ? 'semid' : 'msqid');
  const uidCol = at('uid');
  const cuidCol = at('cuid');
  if (idCol < 0 || uidCol < 0 || cuidCol < 0) return [];
  const out: SysvObject[] = [];
  for (const r of rows) {
    const f = r.trim().split(/\s+/);
    if (f.length <= Math.max(idCol, uidCol, cuidCol)) continue;
    const [id, uid, cuid] = [f[idCol], f[uidCol], f[cuidCol]].map(Number);
    if ([id, uid, cuid].every(Number.isInteger)) out.push({ kind, id, uid, cuid });
  }
  return out;
}

export interface IpcRemoved {
  sysv: SysvObject[];
  files: string[];
  failed: string[];
}

const IPCRM_FLAG: Record<SysvKind, string> = { shm: '-m', sem: '-s', msg: '-q' };

/**
 * Runs a fixed command as `uid` (an object's owner may remove it: no CAP_SYS_ADMIN or CAP_FOWNER
 * needed, which the hardened unit does not grant), else as root; absolute paths, empty
 * environment. True when one of the two succeeded.
 */
function runAsOwner(uid: number, name: 'ipcrm' | 'rm', args: string[]): boolean {
  const opts = { env: {}, stdio: 'ignore' as const, timeout: 2000, cwd: '/' };
  const bin = systemTool(name); // by absolute path (crds/api/tools.ts)
  if (!bin) return false;
  const argv = [bin, ...args];
  const setpriv = systemTool('setpriv');
  if (uid > 0 && setpriv) {
    try {
      execFileSync(setpriv, [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv], opts);
      return true;
    } catch {
      /* no CAP_SETUID here: try as root */
    }
  }
  try {
    execFileSync(argv[0], argv.slice(1), opts);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the owner's SysV IPC objects and POSIX shm/mqueue files: ipcrm and rm by absolute path,
 * as the object's owner, with an empty environment and fixed arguments (ids are integers read
 * from /proc, file names follow `--`).
 */
export function removeIpcOf(owner: Owner, roots: { proc?: string; dirs?: string[] } = {}): IpcRemoved {
  const proc = roots.proc ?? '/proc';
  const out: IpcRemoved = { sysv: [], files: [], failed: [] };
  for (const kind of ['shm', 'sem', 'msg'] as const) {
    let text = '';
    try {
      text = readFileSync(join(proc, 'sysvipc', kind), 'utf8');
    } catch {
      continue;
    }
    for (const o of parseSysvipc(kind, text)) {
      if (!isOwnersUid(o.uid, owner) && !isOwnersUid(o.cuid, owner)) continue;
      if (runAsOwner(isOwnersUid(o.uid, owner) ? o.uid : o.cuid, 'ipcrm', [IPCRM_FLAG[kind], String(o.id)])) out.sysv.push(o);
      else out.failed.push(`${kind} ${o.id}`);
    }
  }
  for (const dir of roots.dirs ?? ['/dev/shm', '/dev/mqueue']) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(dir, n);
      let st;
      try {
        st = lstatSync(p); // never follows a link: the link itself is what is removed
      } catch {
        continue; // gone meanwhile
      }
      if (st.isDirectory() || !isOwnersUid(st.uid, owner)) continue;
      // as the owner (rm, by absolute path, the name after --), which a sticky /dev/shm allows
      if (runAsOwner(st.uid, 'rm', ['-f', '--', p]) && !existsSync(p)) out.files.push(p);
      else out.failed.push(p);
    }
  }
  return out;
}
