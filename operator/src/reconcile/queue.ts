// A rate-limited work queue, as client-go's: keys, not events; a key queued twice is there
// once; a key being processed is not handed out again until done() (it is re-queued then if
// it was added meanwhile); failures come back after a per-key exponential backoff.
export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: (() => void)[] = [];
  private down = false;
  private readonly base: number;
  private readonly max: number;

  constructor(opts: QueueOptions = {}) {
    this.base = opts.baseDelayMs ?? 5;
    this.max = opts.maxDelayMs ?? 5_000;
  }

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.down || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * Adds after a delay. A key already waiting keeps the earlier of its two deadlines, as
   * client-go's delaying queue does: a later call asking for a later time changes nothing.
   */
  addAfter(key: string, ms: number): void {
    if (this.down) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const t = this.timers.get(key);
    if (t) {
      if (t.at <= at) return;
      clearTimeout(t.timer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, Math.min(ms, 2 ** 31 - 1));
    this.timers.set(key, { at, timer });
  }

  /** The backoff a failure of `key` now waits: base * 2^(failures), capped. */
  backoff(key: string): number {
    return Math.min(this.base * 2 ** (this.failures.get(key) ?? 0), this.max);
  }

  addRateLimited(key: string): void {
    const d = this.backoff(key);
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    this.addAfter(key, d);
  }

  /** Is `key` waiting out a backoff? */
  isBackingOff(key: string): boolean {
    return this.timers.has(key) && (this.failures.get(key) ?? 0) > 0;
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Waits for at least one key, then takes every queued key (a batch); undefined when shut down. */
  async getBatch(): Promise<string[] | undefined> {
    while (!this.queue.length) {
      if (this.down) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const keys = this.queue.splice(0, this.queue.length);
    for (const k of keys) {
      this.dirty.delete(k);
      this.processing.add(k);
    }
    return keys;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  shutDown(): void {
    this.down = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
