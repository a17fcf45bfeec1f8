// The commands Kiwi runs (as root on a node: getent, setpriv, kill, ipcrm, rm, nvidia-smi) are
// found by absolute path in a fixed list of system directories, once per process, and never
// through the environment's PATH: a PATH entry a user controls (a unit's Environment=, a shell
// an admin started the daemon from) would run that user's program as root. A candidate must be a
// regular, executable file owned by root in a root-owned directory, neither writable by group or
// others.
import { constants, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export const SYSTEM_DIRS: readonly string[] = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const safe = (st: Stats) => st.uid === 0 && (st.mode & 0o022) === 0;

/** The absolute path of `name` in the first of `dirs` that holds a safe one, or undefined. */
export function findTool(name: string, dirs: readonly string[] = SYSTEM_DIRS, stat: (p: string) => Stats = statSync): string | undefined {
  if (!/^[a-z][a-z0-9._-]*$/i.test(name)) throw new Error(`not a command name: ${JSON.stringify(name)}`);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      const f = stat(p);
      if (f.isFile() && (f.mode & constants.S_IXUSR) !== 0 && safe(f) && safe(stat(d))) return p;
    } catch {
      /* not there */
    }
  }
  return undefined;
}

const found = new Map<string, string | undefined>();

/** findTool over SYSTEM_DIRS, resolved once per process (a missing tool stays missing until restart). */
export function systemTool(name: string): string | undefined {
  if (!found.has(name)) found.set(name, findTool(name));
  return found.get(name);
}
