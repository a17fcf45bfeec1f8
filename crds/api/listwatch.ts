// List-then-watch, written once (client-go's reflector): read some keys and prefixes in ONE
// transaction (so every part is at one revision), hand them over, then watch from the revision
// after it; the events come in etcd's order, one watch response at a time. A watch that breaks
// resumes from its last revision (etcd3 does this); one etcd cancels (its revision compacted
// away) lists again, retried with backoff while etcd does not answer, until it succeeds or
// stop(). The informer, the operator's cache and the daemon's own-keys watch are built on it;
// what they make of the keys (decoding, diffs, views) is theirs.
import type { IKeyValue, IRequestOp, Watcher } from 'etcd3';
import { rangeOp, type Store } from './store.js';

/** A key, a prefix, or a range [start, end). */
export type Span = { key: string } | { prefix: string } | { start: string; end: string | Buffer };

export interface WatchEvent {
  kv: IKeyValue;
  deleted: boolean;
}

export interface ListWatchOptions {
  /** What is read, for the transaction's name in logs and errors ("list Node", "own keys of n1"). */
  what: string;
  /** Read in one transaction. */
  list: Span[];
  /** Watched from the list's revision + 1, one watcher each (default: `list`). */
  watch?: Span[];
  /** Every (re-)list: the kvs of each span of `list`, in order, and the revision they were read at. Before any event after it. */
  onList(kvs: IKeyValue[][], revision: number): void;
  /** The events of one watch response. */
  onEvents(events: WatchEvent[]): void;
  /** A watch broke (etcd cancelled it, e.g. compaction): a relist follows. */
  onBroken?(err: Error): void;
  /** A relist failed; it is tried again after `retryMs`. */
  onListFailed?(err: Error, retryMs: number): void;
}

const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5000;

export class ListWatch {
  private watchers: Watcher[] = [];
  private stopped = false;
  private relisting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The revision of the last list, or of the last event seen since. */
  revision = 0;

  constructor(
    private readonly store: Store,
    private readonly o: ListWatchOptions,
  ) {}

  /** Lists and watches once; a list that fails throws (the caller decides whether to retry: relist()). */
  async start(): Promise<void> {
    await this.listAndWatch();
  }

  /** Lists again and watches anew, retried with backoff until it succeeds or stop(); concurrent calls share one. */
  relist(): Promise<void> {
    if (this.relisting) return this.relisting;
    this.relisting = (async () => {
      let delay = FIRST_RETRY_MS;
      while (!this.stopped) {
        try {
          await this.listAndWatch();
          return;
        } catch (err) {
          this.o.onListFailed?.(err as Error, delay);
          await new Promise((r) => (this.retryTimer = setTimeout(r, delay)));
          delay = Math.min(delay * 2, MAX_RETRY_MS);
        }
      }
    })().finally(() => (this.relisting = undefined));
    return this.relisting;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.cancelWatchers();
  }

  /** A relist is under way (or waiting to retry): the view may be behind etcd. */
  get relistPending(): boolean {
    return this.relisting !== undefined;
  }

  private async cancelWatchers(): Promise<void> {
    const ws = this.watchers;
    this.watchers = [];
    await cancelWatchers(ws);
  }

  private async listAndWatch(): Promise<void> {
    await this.cancelWatchers();
    if (this.stopped) return;
    const r = await this.store.txn(this.o.what, [], this.o.list.map(rangeOfSpan));
    if (this.stopped) return;
    const rev = Number(r.header.revision);
    this.revision = rev;
    this.o.onList(r.responses.map((x) => x.response_range.kvs), rev);
    await this.watchFrom(rev + 1);
  }

  private async watchFrom(rev: number): Promise<void> {
    let broken = false;
    const ws: Watcher[] = [];
    for (const span of this.o.watch ?? this.o.list) {
      const w = watchBuilder(this.store, span).startRevision(String(rev)).watcher();
      w.on('data', (res) => {
        if (this.stopped || !res.events.length) return;
        for (const ev of res.events) this.revision = Math.max(this.revision, Number(ev.kv.mod_revision));
        this.o.onEvents(res.events.map((ev) => ({ kv: ev.kv, deleted: ev.type === 'Delete' })));
      });
      w.on('error', (err: Error) => {
        // etcd already dropped this watcher: cancelling it again would wait for an answer that never comes
        this.watchers = this.watchers.filter((x) => x !== w);
        if (this.stopped || broken) return;
        broken = true;
        this.o.onBroken?.(err);
        void this.relist();
      });
      ws.push(w);
      this.watchers.push(w);
    }
    await Promise.all(ws.map((w) => new Promise<void>((resolve) => {
      w.once('connected', () => resolve());
      w.once('error', () => resolve());
    })));
  }
}

function rangeOfSpan(s: Span): IRequestOp {
  return 'key' in s ? rangeOp(s.key) : 'prefix' in s ? rangeOp(s.prefix, true) : { request_range: { key: Buffer.from(s.start), range_end: Buffer.from(s.end) } };
}

function watchBuilder(store: Store, s: Span) {
  const b = store.etcd.watch();
  return 'key' in s ? b.key(s.key) : 'prefix' in s ? b.prefix(s.prefix) : b.inRange({ start: s.start, end: s.end });
}

/** Cancels watchers; one etcd already cancelled never answers a cancel, so none is awaited for long. */
export async function cancelWatchers(ws: Watcher[]): Promise<void> {
  await Promise.all(ws.map((w) => Promise.race([w.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())])));
}
