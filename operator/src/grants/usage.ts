// What each user holds in etcd, counted per key: the keys of their bookings (the reconciler's
// cache counts those) and of their dry-run requests under /kiwi/dryrun/<user>/ (the dry-run
// server counts those; a request's lease is the client's own, so it can live as long as they
// keep it alive, and a key with no lease at all lives for ever). Both are that user's writes,
// so both count against userLimits and in the flood detector (decide.ts).
export interface Usage {
  readonly keys: number;
  readonly bytes: number;
}

/** Per user, the keys held and the bytes of their values, kept in step key by key. */
export class KeyUsage {
  private readonly byKey = new Map<string, { user: string; bytes: number }>();
  private readonly users = new Map<string, { keys: number; bytes: number }>();

  /** The key now holds `bytes` bytes of `user`'s, or nothing (undefined: deleted). */
  set(key: string, user: string, bytes: number | undefined): void {
    const old = this.byKey.get(key);
    if (old) {
      const u = this.users.get(old.user)!;
      u.keys--;
      u.bytes -= old.bytes;
      if (u.keys === 0) this.users.delete(old.user);
      this.byKey.delete(key);
    }
    if (bytes === undefined) return;
    const u = this.users.get(user) ?? { keys: 0, bytes: 0 };
    u.keys++;
    u.bytes += bytes;
    this.users.set(user, u);
    this.byKey.set(key, { user, bytes });
  }

  get(user: string): Usage | undefined {
    return this.users.get(user);
  }

  byUser(): ReadonlyMap<string, Usage> {
    return this.users;
  }

  clear(): void {
    this.byKey.clear();
    this.users.clear();
  }
}

/** Each user's usage summed over several counts. */
export function sumUsage(...parts: ReadonlyMap<string, Usage>[]): Map<string, Usage> {
  const out = new Map<string, { keys: number; bytes: number }>();
  for (const p of parts) for (const [user, u] of p) {
    const o = out.get(user) ?? { keys: 0, bytes: 0 };
    o.keys += u.keys;
    o.bytes += u.bytes;
    out.set(user, o);
  }
  return out;
}
