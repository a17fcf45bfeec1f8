// The system's user database through NSS (getent), cached; the rules are crds/api/users.ts.
//
// `getent passwd` lists every source that enumerates (files, extrausers, LDAP/SSSD when they
// enumerate), in nsswitch.conf order: that table answers most lookups with no process spawned,
// and it is read again at once when /etc/passwd changes (one stat per lookup: the PAM path stays
// fast), and in the background when older than ttlMs: the lookup that finds it old answers from
// it while getent runs (a synchronous `getent passwd` took 3 ms, up to 14, and was paid by the
// first PAM check after every quiet half minute). A name not in it (LDAP/SSSD without enumeration) is asked
// alone (`getent passwd NAME`, blocking, the first time only) and the answer, found or not, kept;
// past missTtlMs it still answers while getent asks again in the background.
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
  private readonly run: Getent;
  private readonly runAsync: GetentAsync;
  private refreshing = false;
  private readonly asking = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly o: NssOptions = {}) {
    this.ttlMs = o.ttlMs ?? 30_000;
    this.missTtlMs = o.missTtlMs ?? 5_000;
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
    if (c) {
      if (this.now() - c.at >= this.missTtlMs) this.askAgain(`passwd:${name}`, ['passwd', name], (out) => this.asked.set(name, { user: this.addFound(name, out), at: this.now() }), () => (c.at = this.now()));
      return c.user;
    }
    let user: SystemUser | undefined;
    try {
      user = this.addFound(name, this.run(['passwd', name]));
    } catch {
      user = undefined; // getent failed: unknown until it answers
    }
    this.asked.set(name, { user, at: this.now() });
    return user;
  };

  /** getent's answer for one name, added to the table so the duplicate rule applies to it. */
  private addFound(name: string, out: string | undefined): SystemUser | undefined {
    for (const e of parsePasswd(out ?? '')) if (e.name === name) this.table.add(e);
    return this.table.get(name);
  }

  /** The uid's first name, or undefined when unknown. */
  nameOf(uid: number): string | undefined {
    this.refresh();
    const n = this.table.nameOf(uid);
    if (n !== undefined) return n;
    const c = this.names.get(uid);
    if (c) {
      if (this.now() - c.at >= this.missTtlMs) this.askAgain(`uid:${uid}`, ['passwd', String(uid)], (out) => this.names.set(uid, { name: parsePasswd(out ?? '')[0]?.name, at: this.now() }), () => (c.at = this.now()));
      return c.name;
    }
    let name: string | undefined;
    try {
      name = parsePasswd(this.run(['passwd', String(uid)]) ?? '')[0]?.name;
    } catch {
      name = undefined;
    }
    this.names.set(uid, { name, at: this.now() });
    return name;
  }

  /** A group by name (getent group NAME), kept for missTtlMs. */
  group(name: string): GroupEntry | undefined {
    if (typeof name !== 'string' || !NAME.test(name)) return undefined;
    const c = this.groups.get(name);
    if (c) {
      if (this.now() - c.at >= this.missTtlMs) this.askAgain(`group:${name}`, ['group', name], (out) => this.groups.set(name, { group: parseGroup(out ?? '').find((g) => g.name === name), at: this.now() }), () => (c.at = this.now()));
      return c.group;
    }
    let group: GroupEntry | undefined;
    try {
      group = parseGroup(this.run(['group', name]) ?? '').find((g) => g.name === name);
    } catch {
      group = undefined;
    }
    this.groups.set(name, { group, at: this.now() });
    return group;
  }

  /**
   * An answer asked alone and older than missTtlMs: it still answers while getent asks again
   * without blocking (a blocking `getent passwd NAME` held the operator's planner 10-20 ms every
   * missTtlMs per name that the enumerated table lacks). One question per key at a time; a
   * failed one keeps the old answer for another missTtlMs.
   */
  private askAgain(key: string, args: string[], answered: (out: string | undefined) => void, failed: () => void): void {
    if (this.asking.has(key)) return;
    this.asking.add(key);
    // after this turn of the event loop: the answer being decided is written before getent is spawned
    new Promise<void>((r) => setImmediate(r))
      .then(() => this.runAsync(args))
      .then(answered, failed)
      .finally(() => this.asking.delete(key));
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
