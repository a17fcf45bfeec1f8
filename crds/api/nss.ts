// The system's user database through NSS (getent), cached; the rules are crds/api/users.ts.
//
// `getent passwd` lists every source that enumerates (files, extrausers, LDAP/SSSD when they
// enumerate), in nsswitch.conf order: that table answers most lookups with no process spawned,
// and it is read again at once when /etc/passwd changes (one stat per lookup: the PAM path stays
// fast), and in the background when older than ttlMs: the lookup that finds it old answers from
// it while getent runs (a synchronous `getent passwd` took 3 ms, up to 14, and was paid by the
// first PAM check after every quiet half minute). A name not in it (LDAP/SSSD without enumeration) is asked
// alone (`getent passwd NAME`) and the answer, found or not, kept for missTtlMs.
import { execFile, execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { SYSTEM_DIRS, systemTool } from './tools.js';
import { parseGroup, parsePasswd, UserTable, type GroupEntry, type SystemUser, type UserLookup } from './users.js';

/** Runs getent; the output, or undefined when the key is not found (exit 2). Throws on other failures. */
export type Getent = (args: string[]) => string | undefined;

/** The same, without blocking: for the refresh that runs behind the lookups. */
export type GetentAsync = (args: string[]) => Promise<string | undefined>;

function getentCommand(): { bin: string; opts: { encoding: 'utf8'; timeout: number; maxBuffer: number; env: NodeJS.ProcessEnv } } {
  // By absolute path (tools.ts), with nothing of our environment: getent runs as whoever we are (root on a node).
  const bin = systemTool('getent');
  if (!bin) throw new Error(`getent not found in ${SYSTEM_DIRS.join(', ')} (root-owned, not group- or world-writable): Kiwi resolves users through it`);
  return { bin, opts: { encoding: 'utf8', timeout: 5000, maxBuffer: 256 << 20, env: { PATH: '/usr/bin:/bin', LANG: 'C' } } };
}

export const getent: Getent = (args) => {
  try {
    const { bin, opts } = getentCommand();
    return execFileSync(bin, args, { ...opts, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    if ((err as { status?: number }).status === 2) return undefined;
    throw err;
  }
};

export const getentAsync: GetentAsync = (args) => new Promise((resolve, reject) => {
  const { bin, opts } = getentCommand();
  execFile(bin, args, opts, (err, stdout) => {
    if (!err) return resolve(stdout);
    if ((err as { code?: unknown }).code === 2) return resolve(undefined);
    reject(err);
  });
});

/** Names getent may be asked about: Unix-like user and group names, nothing an option could hide in. */
const NAME = /^[a-z_][a-z0-9_.-]{0,62}\$?$/i;

export interface NssOptions {
  /** The enumerated table is re-read when older than this (default 30 s). */
  ttlMs?: number;
  /** A name asked alone is asked again after this (default 5 s). */
  missTtlMs?: number;
  /** lookupCached answers a name not found from the last answer this long, re-asking in the background (default 60 s). */
  staleMissMs?: number;
  /** Its change triggers a re-read at once (default /etc/passwd). */
  passwdFile?: string;
  getent?: Getent;
  /** The background refresh's runner (default: getent without blocking; with `getent` given, that one). */
  getentAsync?: GetentAsync;
  now?: () => number;
}

export class NssUsers {
  private table = new UserTable();
  private loadedAt = -Infinity;
  private stamp = '';
  private readonly asked = new Map<string, { user: SystemUser | undefined; at: number }>();
  private readonly names = new Map<number, { name: string | undefined; at: number }>();
  private readonly groups = new Map<string, { group: GroupEntry | undefined; at: number }>();
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly staleMissMs: number;
  private readonly reasking = new Set<string>();
  private readonly run: Getent;
  private readonly runAsync: GetentAsync;
  private refreshing = false;
  private readonly now: () => number;

  constructor(private readonly o: NssOptions = {}) {
    this.ttlMs = o.ttlMs ?? 30_000;
    this.missTtlMs = o.missTtlMs ?? 5_000;
    this.staleMissMs = Math.max(this.missTtlMs, o.staleMissMs ?? 60_000);
    this.run = o.getent ?? getent;
    this.runAsync = o.getentAsync ?? (o.getent ? async (a) => o.getent!(a) : getentAsync);
    this.now = o.now ?? Date.now;
  }

  /** The user of this name, with the duplicate rule applied; undefined when the database has none. */
  readonly lookup: UserLookup = (name) => {
    if (typeof name !== 'string' || !NAME.test(name)) return undefined;
    this.refresh();
    if (this.table.has(name)) return this.table.get(name);
    const c = this.asked.get(name);
    if (c && this.now() - c.at < this.missTtlMs) return c.user;
    let user: SystemUser | undefined;
    try {
      const found = parsePasswd(this.run(['passwd', name]) ?? '');
      for (const e of found) if (e.name === name) this.table.add(e);
      user = this.table.get(name);
    } catch {
      user = c?.user; // getent failed: keep what we knew
    }
    this.asked.set(name, { user, at: this.now() });
    return user;
  };

  /**
   * lookup for a caller that asks about the same names over and over (the operator's admission,
   * every pass): a name not found, asked again past missTtlMs but within staleMissMs, is answered
   * from what getent last said while it is asked again in the background. A synchronous
   * `getent passwd NAME` per name every 5 s was 14 s of 75 s of the operator's CPU at 100,000
   * bookings of 50 users not in /etc/passwd, with its event loop held for each. PAM keeps lookup.
   */
  readonly lookupCached: UserLookup = (name) => {
    if (typeof name !== 'string' || !NAME.test(name)) return undefined;
    this.refresh();
    if (this.table.has(name)) return this.table.get(name);
    const c = this.asked.get(name);
    if (!c || this.now() - c.at >= this.staleMissMs) return this.lookup(name);
    if (this.now() - c.at >= this.missTtlMs && !this.reasking.has(name)) {
      this.reasking.add(name);
      new Promise<void>((r) => setImmediate(r))
        .then(() => this.runAsync(['passwd', name]))
        .then((out) => {
          const found = parsePasswd(out ?? '');
          for (const e of found) if (e.name === name) this.table.add(e);
          this.asked.set(name, { user: this.table.get(name), at: this.now() });
        }, () => this.asked.set(name, { user: c.user, at: this.now() })) // getent failed: keep what we knew
        .finally(() => this.reasking.delete(name));
    }
    return c.user;
  };

  /** The uid's first name, or undefined when unknown. */
  nameOf(uid: number): string | undefined {
    this.refresh();
    const n = this.table.nameOf(uid);
    if (n !== undefined) return n;
    const c = this.names.get(uid);
    if (c && this.now() - c.at < this.missTtlMs) return c.name;
    let name: string | undefined;
    try {
      name = parsePasswd(this.run(['passwd', String(uid)]) ?? '')[0]?.name;
    } catch {
      name = c?.name;
    }
    this.names.set(uid, { name, at: this.now() });
    return name;
  }

  /** A group by name (getent group NAME), kept for missTtlMs. */
  group(name: string): GroupEntry | undefined {
    if (typeof name !== 'string' || !NAME.test(name)) return undefined;
    const c = this.groups.get(name);
    if (c && this.now() - c.at < this.missTtlMs) return c.group;
    let group: GroupEntry | undefined;
    try {
      group = parseGroup(this.run(['group', name]) ?? '').find((g) => g.name === name);
    } catch {
      group = c?.group;
    }
    this.groups.set(name, { group, at: this.now() });
    return group;
  }

  private refresh(): void {
    let stamp: string;
    try {
      const st = statSync(this.o.passwdFile ?? '/etc/passwd');
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.stamp) {
      if (this.now() - this.loadedAt >= this.ttlMs) this.refreshInBackground(stamp);
      return;
    }
    // First read, or /etc/passwd changed (a user added, removed, renumbered): read it now, so
    // that no answer, and no uid the kill path signals, comes from the old file.
    try {
      this.table = new UserTable(parsePasswd(this.run(['passwd']) ?? ''));
      this.asked.clear();
      this.names.clear();
    } catch {
      /* getent failed: keep the last table, try again after the TTL */
    }
    this.stamp = stamp;
    this.loadedAt = this.now();
  }

  /** Only the TTL passed (sources without a change signal, such as LDAP): the old table answers until getent is done. */
  private refreshInBackground(stamp: string): void {
    if (this.refreshing) return;
    this.refreshing = true;
    // after this turn of the event loop: the answer being decided is written before getent is spawned
    const read = new Promise<void>((r) => setImmediate(r)).then(() => this.runAsync(['passwd']));
    read.then(
      (out) => {
        // a read of a file that has changed since belongs to the synchronous path above
        if (this.stamp !== stamp) return;
        this.table = new UserTable(parsePasswd(out ?? ''));
        // Each name asked alone is due to be asked again (lookup does so now; lookupCached in the background).
        for (const [n, c] of this.asked) this.asked.set(n, { ...c, at: Math.min(c.at, this.now() - this.missTtlMs) });
        this.names.clear();
        this.loadedAt = this.now();
      },
      () => {
        this.loadedAt = this.now(); // getent failed: keep the last table, try again after the TTL
      },
    ).finally(() => (this.refreshing = false));
  }
}

let shared: NssUsers | undefined;

/** The process's one cached view of the user database. */
export function systemUsers(): NssUsers {
  return (shared ??= new NssUsers());
}
