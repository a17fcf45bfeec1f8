// Liveness from values, not from leases: etcd lets any client keep any lease alive
// (LeaseKeepAlive needs no permission), so a key that merely still exists proves nothing. A
// writer proves it is alive by changing its value; an observer calls it dead once it has seen no
// change for longer than the TTL by its own clock (no clock of the writer is trusted). Pure.

export interface Seen {
  /** The key's mod_revision when last seen to change. */
  mod: number;
  /** The observer's clock when it saw that change (or first saw the key). */
  at: number;
}

export class Freshness<K> {
  private readonly seen = new Map<K, Seen>();

  /** Records the key's current mod_revision; returns true when it changed (or is new). */
  observe(k: K, mod: number, now: number): boolean {
    const s = this.seen.get(k);
    if (s && s.mod >= mod) return false;
    this.seen.set(k, { mod, at: now });
    return true;
  }

  forget(k: K): void {
    this.seen.delete(k);
  }

  get(k: K): Seen | undefined {
    return this.seen.get(k);
  }

  /** Seen to change within the last ttlMs (by the observer's clock). */
  fresh(k: K, now: number, ttlMs: number): boolean {
    const s = this.seen.get(k);
    return !!s && now - s.at <= ttlMs;
  }

  keys(): IterableIterator<K> {
    return this.seen.keys();
  }

  clear(): void {
    this.seen.clear();
  }
}

/** A monotonic clock in epoch milliseconds: wall-clock steps do not age or rejuvenate what was seen. */
export const observationClock = { now: (): number => performance.timeOrigin + performance.now() };
