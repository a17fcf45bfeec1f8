// etcd's login token, kept between kiwictl commands, as kubectl keeps its credentials: with
// etcd auth on, every command otherwise starts with Auth/Authenticate, and etcd checks the
// password with bcrypt (cost 10 by default), which is most of a `kiwictl get` (~80 of ~190 ms).
//
// Where: $XDG_CACHE_HOME/kiwi/etcd-tokens/ (default ~/.cache/kiwi/etcd-tokens/), a directory
// of mode 0700, one file of mode 0600 per endpoint, user and password. The file's name is a hash
// of the three, so another user, another password (a changed or a wrong one) or another etcd
// never finds it, and a wrong password still fails as it did. A token is a password-equivalent
// for its lifetime only; the password itself sits in a 0600 file too (credentials.ts).
//
// Trust: a directory or file that is not this user's own (euid), or that others may read or
// write, a symlink, or a malformed file is ignored, never repaired; so HOME pointing at another
// user's home (sudo) just means no cache. A token is used until LIFETIME_MS after the login
// (etcd's simple tokens live 300 s after their last use, --auth-token-ttl); one etcd has
// forgotten (restart, shorter TTL) is answered "invalid auth token", and the caller logs in
// again and replaces it (wire.ts). KIWI_TOKEN_CACHE=off turns the cache off.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../crds/api/atomic-file.js';

/** How long a cached token is used after its login: below etcd's default TTL of 300 s. */
export const LIFETIME_MS = 240_000;

export interface TokenCache {
  get(endpoint: string, username: string, password: string): string | undefined;
  put(endpoint: string, username: string, password: string, token: string): void;
  forget(endpoint: string, username: string, password: string): void;
}

/** The cache directory, or undefined when the cache is off. */
export function tokenCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.KIWI_TOKEN_CACHE === 'off') return undefined;
  const home = env.HOME || safeHome();
  const base = env.XDG_CACHE_HOME || (home ? join(home, '.cache') : undefined);
  return base ? join(base, 'kiwi', 'etcd-tokens') : undefined;
}

function safeHome(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/** Owned by this user and closed to everyone else (no group or other bits). */
function ownedAndPrivate(st: { uid: number; mode: number }): boolean {
  return st.uid === process.geteuid!() && (st.mode & 0o077) === 0;
}

export class FileTokenCache implements TokenCache {
  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  private file(endpoint: string, username: string, password: string): string {
    return join(this.dir, createHash('sha256').update(`${endpoint}\0${username}\0${password}`).digest('hex').slice(0, 40));
  }

  private dirIsSafe(): boolean {
    try {
      const st = lstatSync(this.dir);
      return st.isDirectory() && ownedAndPrivate(st);
    } catch {
      return false;
    }
  }

  get(endpoint: string, username: string, password: string): string | undefined {
    if (!this.dirIsSafe()) return undefined;
    let fd: number | undefined;
    try {
      fd = openSync(this.file(endpoint, username, password), constants.O_RDONLY | constants.O_NOFOLLOW);
      const st = fstatSync(fd);
      if (!st.isFile() || !ownedAndPrivate(st) || st.size > 65536) return undefined;
      const v = JSON.parse(readFileSync(fd, 'utf8')) as { token?: unknown; expires?: unknown };
      if (typeof v?.token !== 'string' || !v.token || typeof v.expires !== 'number' || v.expires <= this.now()) return undefined;
      return v.token;
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  put(endpoint: string, username: string, password: string, token: string): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      if (!this.dirIsSafe()) return;
      // parallel kiwictl commands read a whole file or none
      writeFileAtomic(this.file(endpoint, username, password), JSON.stringify({ token, expires: this.now() + LIFETIME_MS }), { mode: 0o600, dirMode: 0o700 });
    } catch {
      // no cache this time (read-only home, full disk): the next command logs in again
    }
  }

  forget(endpoint: string, username: string, password: string): void {
    if (!this.dirIsSafe()) return;
    rmSync(this.file(endpoint, username, password), { force: true });
  }
}

/** The cache of this user, or undefined when it is off or there is no home to keep it in. */
export function userTokenCache(env: NodeJS.ProcessEnv = process.env): TokenCache | undefined {
  const dir = tokenCacheDir(env);
  return dir && process.geteuid ? new FileTokenCache(dir) : undefined;
}
