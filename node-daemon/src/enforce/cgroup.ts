// Per-booking cgroups on cgroup v2, where the node has it: <mount>/kiwi/<booking uid>/.
// The mount is found in /proc/self/mountinfo (it is /sys/fs/cgroup on a pure v2 host and
// e.g. /sys/fs/cgroup/unified on a hybrid one). A booking's processes are moved in while it
// is active (the daemon adopts them; a PAM session may put a login there at once), and at the
// end cgroup.kill ends every process in it, including those forked during the kill.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup2 mount point named in mountinfo text, or undefined. */
export function parseCgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    if (post.split(' ')[0] === 'cgroup2') return pre.split(' ')[4];
  }
  return undefined;
}

export function findCgroup2Mount(): string | undefined {
  try {
    return parseCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

export class BookingCgroups {
  readonly root: string;

  private constructor(readonly mount: string, readonly kill: boolean) {
    this.root = join(mount, 'kiwi');
  }

  /** Opens the kiwi/ cgroup under the v2 mount; undefined where there is no usable cgroup v2. */
  static open(mount = findCgroup2Mount()): BookingCgroups | undefined {
    if (!mount) return undefined;
    try {
      mkdirSync(join(mount, 'kiwi'), { recursive: true });
      const cg = new BookingCgroups(mount, false);
      // cgroup.kill exists since Linux 5.14; without it the /proc sweep does all the work.
      const probe = join(cg.root, '.probe');
      mkdirSync(probe, { recursive: true });
      const hasKill = existsSync(join(probe, 'cgroup.kill'));
      rmdirSync(probe);
      return new BookingCgroups(mount, hasKill);
    } catch {
      return undefined;
    }
  }

  path(entryUid: string): string {
    return join(this.root, safe(entryUid));
  }

  ensure(entryUid: string): string {
    const p = this.path(entryUid);
    mkdirSync(p, { recursive: true });
    return p;
  }

  /** Moves processes into the booking's cgroup; returns the pids moved (vanished ones are skipped). */
  adopt(entryUid: string, pids: number[]): number[] {
    if (!pids.length) return [];
    const procs = join(this.ensure(entryUid), 'cgroup.procs');
    const moved: number[] = [];
    for (const pid of pids) {
      try {
        writeFileSync(procs, String(pid));
        moved.push(pid);
      } catch {
        /* exited meanwhile, or a kernel thread */
      }
    }
    return moved;
  }

  pids(entryUid: string): number[] {
    try {
      return readFileSync(join(this.path(entryUid), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /**
   * SIGKILLs everything in the booking's cgroup (cgroup.kill); false when that is not possible.
   * Members for which `isProtected` holds (a root child of a setuid program, say) are first
   * moved out to the root cgroup, so that cgroup.kill never ends a process the rules protect.
   */
  killAll(entryUid: string, isProtected: (pid: number) => boolean = () => false): boolean {
    if (!this.kill || !existsSync(this.path(entryUid))) return false;
    for (const pid of this.pids(entryUid)) {
      if (!isProtected(pid)) continue;
      try {
        writeFileSync(join(this.mount, 'cgroup.procs'), String(pid));
      } catch {
        /* exited meanwhile */
      }
    }
    try {
      writeFileSync(join(this.path(entryUid), 'cgroup.kill'), '1');
      return true;
    } catch {
      return false;
    }
  }

  /** Removes the booking's cgroup once it is empty; false while processes remain. */
  remove(entryUid: string): boolean {
    const p = this.path(entryUid);
    if (!existsSync(p)) return true;
    try {
      rmdirSync(p);
      return true;
    } catch {
      return false;
    }
  }

  /** Booking cgroups present (entry uids, as sanitised). */
  list(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  }
}
