// kill(-1) as the user: the kernel signals every process the sender may signal (real or saved
// uid equal to the sender's) in one pass under its task list lock, so a process that forks as
// fast as it can, or a chain where each child forks and its parent exits at once (each pid
// living for less time than a /proc scan takes), cannot slip between a scan and the signals
// sent by pid. It is the only command Kiwi runs that is not root, and like every command Kiwi
// runs it is started by absolute path with an empty environment and fixed arguments. Its exit
// status says little (procps' kill reports the last target's error), so the sweep never reads
// success from it: the scans and cgroup.events decide. (The daemon's RLIMIT_NPROC carries over
// to it: a user at a process limit below the daemon's cannot stop it.)
import { spawnSync } from 'node:child_process';
import { systemTool } from '../../../crds/api/tools.js';

export const canKillAs = (): boolean => Boolean(systemTool('setpriv') && systemTool('kill'));

/** Sends `sig` to every process whose real or saved uid is `uid` (never uid 0); false if the helper could not run. */
export function killAllAs(uid: number, sig: 'TERM' | 'KILL'): boolean {
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`refusing kill(-1) as uid ${uid}`);
  const setpriv = systemTool('setpriv');
  const kill = systemTool('kill');
  if (!setpriv || !kill) return false;
  const r = spawnSync(setpriv, [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', kill, `-${sig}`, '-1'], { env: {}, stdio: 'ignore', timeout: 2000, cwd: '/' });
  return !r.error && (r.status === 0 || r.status === 1);
}
