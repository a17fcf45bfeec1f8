// kill(-1) as the user: the kernel signals every process the sender may signal (real or saved
// uid equal to the sender's) in one pass under its task list lock, so a process that forks as
// fast as it can, or a chain where each child forks and its parent exits at once, cannot slip
// between a /proc scan and the signals sent by pid. It is the only command Kiwi runs that is
// not root, and like every command Kiwi runs it is started by absolute path with an empty
// environment and fixed arguments. prlimit lifts RLIMIT_NPROC first, so that the final execve
// as the user succeeds even when a fork bomb has the user at their process limit.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PROGRAMS = ['/usr/bin/prlimit', '/usr/bin/setpriv', '/bin/kill'];

export const canKillAs = (): boolean => PROGRAMS.every((p) => existsSync(p));

/** Sends `sig` to every process whose real or saved uid is `uid` (never uid 0); true if it ran. */
export function killAllAs(uid: number, sig: 'TERM' | 'KILL'): boolean {
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`refusing kill(-1) as uid ${uid}`);
  const r = spawnSync(
    PROGRAMS[0],
    ['--nproc=unlimited', '--', PROGRAMS[1], `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', PROGRAMS[2], '-s', sig, '--', '-1'],
    { env: {}, stdio: 'ignore', timeout: 2000, cwd: '/' },
  );
  return r.status === 0 || r.status === 1; // 1: kill found nothing to signal
}
