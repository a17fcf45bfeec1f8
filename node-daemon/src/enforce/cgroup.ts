// Per-booking cgroups on cgroup v2, where the node has it. Where they go is decided once, at
// start, by cgroupLayout() (pure): under systemd with Delegate=yes, inside the subtree systemd
// granted the daemon's unit (the daemon moves itself into a leaf, `daemon/`, and the bookings go
// beside it, under `bookings/`, so that no cgroup holding processes has children: cgroup v2's
// no-internal-processes rule); on a host without systemd, <cgroup2 mount>/kiwi. The mount is
// found in /proc/self/mountinfo (/sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a
// hybrid one). A booking's processes are moved in while it is active (the daemon adopts them;
// the PAM session module puts a login there at once); at the end the cgroup is frozen, killed
// (cgroup.kill also ends whatever forks during the kill) and checked until cgroup.events says
// `populated 0`.
//
// A booking cgroup's name is the calendar entry's uid, which comes from etcd and is hostile: it
// must match ENTRY_UID_PATTERN (isEntryUid, crds/api/keys.ts) and the path must resolve (realpath) to a direct child of the
// bookings directory, or the cgroup is not touched at all (the uid sweep still runs).
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isEntryUid } from '../../../crds/api/keys.js';


/** The cgroup2 mount point named in mountinfo text, or undefined. */
export function parseCgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    if (post.split(' ')[0] === 'cgroup2') return pre.split(' ')[4];
  }
  return undefined;
}

/** The process's cgroup v2 path (the `0::PATH` line of /proc/PID/cgroup), or undefined. */
export function parseSelfCgroup(text: string): string | undefined {
  const m = /^0::(\/.*)$/m.exec(text);
  return m ? m[1] : undefined;
}

export interface LayoutInput {
  /** The cgroup2 mount point, if any. */
  mount: string | undefined;
  /** The daemon's own cgroup v2 path (relative to the mount), from /proc/self/cgroup. */
  selfCgroup: string | undefined;
  /** systemd is the init system (/run/systemd/system exists). */
  systemd: boolean;
  /** INVOCATION_ID is set: systemd started this process as (part of) a unit. */
  invocationId: boolean;
}

export type Layout =
  | {
      /** Where booking cgroups go (each is <bookings>/<entry uid>). */
      bookings: string;
      /** Where the daemon moves itself first (the delegated subtree's leaf), if anywhere. */
      daemonLeaf?: string;
      /** Where a process that must not be killed is moved out of a booking cgroup to. */
      park: string;
      /** Kiwi's own subtree: nothing is ever created or killed outside it. */
      subtree: string;
      why: string;
    }
  | { none: string };

/**
 * Where booking cgroups go. Pure: a function of the mount, the daemon's own cgroup and whether
 * systemd runs the host and started this process.
 */
export function cgroupLayout(i: LayoutInput): Layout {
  if (!i.mount) return { none: 'no cgroup2 mount in /proc/self/mountinfo' };
  const self = i.selfCgroup;
  if (self === undefined) return { none: 'no cgroup v2 line (0::) in /proc/self/cgroup' };
  const parts = self.split('/').filter(Boolean);
  if (parts.some((p) => p === '.' || p === '..')) return { none: `odd cgroup path ${self} in /proc/self/cgroup` };
  // A unit with Delegate=yes: its own cgroup (…/NAME.service, or …/daemon if we moved there before
  // a restart of the process without a restart of the unit) is ours to manage.
  const leaf = parts[parts.length - 1];
  const unitParts = leaf === 'daemon' && parts.length >= 2 && parts[parts.length - 2].endsWith('.service') ? parts.slice(0, -1) : parts;
  const unit = unitParts[unitParts.length - 1];
  if (i.invocationId && unit?.endsWith('.service')) {
    const subtree = join(i.mount, ...unitParts);
    return { subtree, bookings: join(subtree, 'bookings'), daemonLeaf: join(subtree, 'daemon'), park: join(subtree, 'daemon'), why: `the delegated subtree of ${unit} (Delegate=yes)` };
  }
  if (i.systemd) {
    return { none: `systemd owns the cgroup tree and this process is not in a delegated unit (cgroup ${self}); run it as kiwi-node-daemon.service (Delegate=yes) to get per-booking cgroups` };
  }
  // No systemd: nobody else manages the tree. Kiwi's subtree sits beside the daemon's own cgroup
  // root (the mount's root on a host; the container's root inside a cgroup namespace).
  const subtree = join(i.mount, 'kiwi');
  return { subtree, bookings: subtree, park: i.mount, why: 'no systemd: <cgroup2 mount>/kiwi' };
}

/** The layout of this host, read from /proc and the environment. */
export function hostLayout(): Layout {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return cgroupLayout({
    mount: parseCgroup2Mount(read('/proc/self/mountinfo')),
    selfCgroup: parseSelfCgroup(read('/proc/self/cgroup')),
    systemd: existsSync('/run/systemd/system'),
    invocationId: !!process.env.INVOCATION_ID,
  });
}

/** `populated` from cgroup.events text: true while the cgroup or a descendant has a process. */
export function parsePopulated(events: string): boolean | undefined {
  const m = /^populated (\d)$/m.exec(events);
  return m ? m[1] === '1' : undefined;
}

export class BookingCgroups {
  private constructor(
    /** Where booking cgroups go. */
    readonly root: string,
    private readonly park: string,
    readonly kill: boolean,
    readonly why: string,
  ) {}

  /** Opens the booking cgroups of `layout`; undefined (with the reason) where there are none. */
  static open(layout: Layout = hostLayout()): { cgroups?: BookingCgroups; problem?: string } {
    if ('none' in layout) return { problem: layout.none };
    try {
      if (layout.daemonLeaf) {
        // no-internal-processes: leave the unit's own cgroup empty of processes before adding children
        mkdirSync(layout.daemonLeaf, { recursive: true });
        writeFileSync(join(layout.daemonLeaf, 'cgroup.procs'), String(process.pid));
      }
      mkdirSync(layout.bookings, { recursive: true });
      const root = realpathSync(layout.bookings);
      // cgroup.kill exists since Linux 5.14; without it the /proc sweep does all the work.
      const probe = join(root, '.probe');
      mkdirSync(probe, { recursive: true });
      const hasKill = existsSync(join(probe, 'cgroup.kill'));
      rmdirSync(probe);
      return { cgroups: new BookingCgroups(root, layout.park, hasKill, layout.why) };
    } catch (e) {
      return { problem: `cannot set up booking cgroups under ${layout.bookings}: ${(e as Error).message}` };
    }
  }

  /** The booking's cgroup path, or undefined when the uid is not a safe name. */
  path(entryUid: string): string | undefined {
    return isEntryUid(entryUid) ? join(this.root, entryUid) : undefined;
  }

  /** The path if it exists and resolves to a direct child of the bookings directory. */
  private inside(entryUid: string): string | undefined {
    const p = this.path(entryUid);
    if (!p) return undefined;
    try {
      const real = realpathSync(p);
      return dirname(real) === this.root && real === p ? real : undefined;
    } catch {
      return undefined;
    }
  }

  ensure(entryUid: string): string | undefined {
    const p = this.path(entryUid);
    if (!p) return undefined;
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
    return this.inside(entryUid);
  }

  /** Moves processes into the booking's cgroup; returns the pids moved (vanished ones are skipped). */
  adopt(entryUid: string, pids: number[]): number[] {
    if (!pids.length) return [];
    const dir = this.ensure(entryUid);
    if (!dir) return [];
    const procs = join(dir, 'cgroup.procs');
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
    const p = this.inside(entryUid);
    if (!p) return [];
    try {
      return readFileSync(join(p, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** True while the booking's cgroup (or a child of it) holds a process; false when empty or absent. */
  populated(entryUid: string): boolean {
    const p = this.inside(entryUid);
    if (!p) return false;
    try {
      return parsePopulated(readFileSync(join(p, 'cgroup.events'), 'utf8')) ?? this.pids(entryUid).length > 0;
    } catch {
      return existsSync(p);
    }
  }

  /**
   * Freezes the booking's cgroup (no process in it runs, so none forks or moves itself away),
   * then SIGKILLs everything in it (cgroup.kill); false when that is not possible. A member that
   * is not the user's and that the rules protect (`mayPark`: a root sshd monitor of a login, say)
   * is first moved out; nothing of the user's ever is.
   */
  killAll(entryUid: string, mayPark: (pid: number) => boolean = () => false): boolean {
    const p = this.inside(entryUid);
    if (!this.kill || !p) return false;
    try {
      writeFileSync(join(p, 'cgroup.freeze'), '1');
    } catch {
      /* no freezer (before 5.2): cgroup.kill alone */
    }
    for (const pid of this.pids(entryUid)) {
      if (!mayPark(pid)) continue;
      try {
        writeFileSync(join(this.park, 'cgroup.procs'), String(pid));
      } catch {
        /* exited meanwhile */
      }
    }
    try {
      writeFileSync(join(p, 'cgroup.kill'), '1');
      return true;
    } catch {
      return false;
    }
  }

  /** Removes the booking's cgroup once it is empty; false while processes remain. */
  remove(entryUid: string): boolean {
    const p = this.inside(entryUid);
    if (!p) return true;
    try {
      rmdirSync(p);
      return true;
    } catch {
      return false;
    }
  }

  /** Booking cgroups present (the entry uids; names that are not safe are left alone). */
  list(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true }).filter((d) => d.isDirectory() && isEntryUid(d.name)).map((d) => d.name);
    } catch {
      return [];
    }
  }
}
