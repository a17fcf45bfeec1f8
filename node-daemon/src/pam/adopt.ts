// The session hook's doing part: moves a new login's process (the sshd process that opens the
// PAM session, so that everything it forks afterwards follows) into the cgroup of the user's
// active booking, named as enforce/cgroup.ts names it (<cgroup2 mount>/kiwi/<entry uid>).
// The booking's cleanup then ends everything started over SSH with cgroup.kill, as
// pam_slurm_adopt does for Slurm jobs. Deciding is adoptTarget() in decide/pam.ts.
import { existsSync } from 'node:fs';
import type { LocalView } from '../view.js';
import { adoptTarget, type PamUser } from '../decide/pam.js';
import { protectedReason } from '../decide/kill.js';
import type { BookingCgroups } from '../enforce/cgroup.js';

export interface AdopterOptions {
  getView: () => LocalView | undefined;
  now: () => number;
  cgroups: BookingCgroups | undefined;
  /** Test-mode guard of the daemon: users outside it are never adopted (their cgroup is killed at the end). */
  onlyUsers?: RegExp;
}

/** Returns the socket's adopt handler: "ok" or "skip WHY". */
export function cgroupAdopter(o: AdopterOptions): (user: PamUser, pid: number) => string {
  return (user, pid) => {
    const view = o.getView();
    const t = adoptTarget(user, view, o.now());
    if ('skip' in t) return `skip ${t.skip}`;
    if (view && protectedReason(user.name, user.uid, view.config, o.onlyUsers)) return 'skip protected';
    if (!o.cgroups) return 'skip noCgroups';
    if (pid <= 1 || pid === process.pid || !existsSync(`/proc/${pid}`)) return 'skip noSuchProcess';
    return o.cgroups.adopt(t.entry.uid, [pid]).length ? 'ok' : 'skip notMoved';
  };
}
