// An informer, as client-go has: list a kind, then watch it from the list's revision, keeping
// a local cache of whole objects (spec and status merged). A watch that breaks resumes from
// its last revision (etcd3 does this); one whose revision was compacted away re-lists and
// reports the difference, so a consumer never misses a change, only intermediate states.
import type { Watcher, IKeyValue } from 'etcd3';
import type { KindName, ObjectOfKind } from './types.js';
import { ROOT, keys, prefixEnd, refFromKey } from './keys.js';
import { rangeOp, type Store, type Stored } from './store.js';
import { decodeObject, rawKv, type DecodeProblem, type ObjectCheck } from './decode.js';

export type InformerEvent<T> =
  | { type: 'ADDED' | 'MODIFIED'; object: T; old?: T }
  | { type: 'DELETED'; object: T };

export interface InformerOptions<T> {
  namespace?: string;
  onEvent: (ev: InformerEvent<T>) => void;
  /** Called after every (re-)list with the whole cache. */
  onSync?: (items: T[], revision: number) => void;
  onError?: (err: Error) => void;
  /** A key whose value is not a valid object (left out of the cache). */
  onInvalid?: (p: DecodeProblem) => void;
  /** Also check each object so (validate.ts schemaCheck: the schema); default: the key's structure only. */
  check?: ObjectCheck;
}

export class Informer<K extends KindName> {
  private readonly cache = new Map<string, Stored<ObjectOfKind<K>>>();
  private readonly specs = new Map<string, IKeyValue>();
  private readonly statuses = new Map<string, IKeyValue>();
  private watchers: Watcher[] = [];
  private stopped = false;
  revision = 0;

  constructor(
    private readonly store: Store,
    private readonly kind: K,
    private readonly opts: InformerOptions<ObjectOfKind<K>>,
  ) {}

  get(path: string): ObjectOfKind<K> | undefined {
    return this.cache.get(path)?.object;
  }
  getStored(path: string): Stored<ObjectOfKind<K>> | undefined {
    return this.cache.get(path);
  }
  list(): ObjectOfKind<K>[] {
    return [...this.cache.values()].map((s) => s.object);
  }

  async start(): Promise<void> {
    await this.relist();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.cancelWatchers();
  }

  private async cancelWatchers(): Promise<void> {
    const ws = this.watchers;
    this.watchers = [];
    await cancelWatchers(ws);
  }

  private async relist(): Promise<void> {
    await this.cancelWatchers();
    if (this.stopped) return;
    const specPrefix = keys.specPrefix(this.kind, this.opts.namespace);
    const statusPrefix = keys.statusPrefix(this.kind, this.opts.namespace);
    // Spec and status read at ONE revision (one transaction), and the watch goes on from it: two
    // reads at two revisions made the watch replay, over the later read, values older than it
    // (a status went backwards until the replay caught up).
    const r = await this.store.txn(`list ${this.kind}`, [], [rangeOp(specPrefix, true), rangeOp(statusPrefix, true)]);
    const rev = Number(r.header.revision);
    const [spec, status] = r.responses.map((x) => x.response_range.kvs);
    const before = new Map(this.cache);
    this.specs.clear();
    this.statuses.clear();
    for (const kv of spec) this.specs.set(pathOf(kv.key.toString()), kv);
    for (const kv of status) this.statuses.set(pathOf(kv.key.toString()), kv);
    this.cache.clear();
    for (const p of this.specs.keys()) this.rebuild(p, false);
    for (const [p, old] of before) {
      const now = this.cache.get(p);
      if (!now) this.opts.onEvent({ type: 'DELETED', object: old.object });
      else if (JSON.stringify(now.object) !== JSON.stringify(old.object)) this.opts.onEvent({ type: 'MODIFIED', object: now.object, old: old.object });
    }
    for (const [p, now] of this.cache) if (!before.has(p)) this.opts.onEvent({ type: 'ADDED', object: now.object });
    this.revision = rev;
    this.opts.onSync?.(this.list(), rev);
    await this.watchFrom(rev + 1);
  }

  /**
   * Watches spec and status from `rev` with ONE watcher over the range that holds both
   * (/kiwi/spec/ .. /kiwi/status/): the events of one transaction (a delete of spec and status,
   * say) then arrive together and in order, which two watchers would not guarantee. Other
   * kinds' events in that range are skipped. A watch etcd cancels (compaction) re-lists.
   */
  private async watchFrom(rev: number): Promise<void> {
    let relisting = false;
    const w = this.store.etcd
      .watch()
      .inRange({ start: ROOT + 'spec/', end: prefixEnd(ROOT + 'status/') })
      .startRevision(String(rev))
      .watcher();
    w.on('put', (kv) => this.onChange(kv, false));
    w.on('delete', (kv) => this.onChange(kv, true));
    w.on('error', (err: Error) => {
      // etcd already dropped this watcher: cancelling it again would wait for an answer that never comes
      this.watchers = this.watchers.filter((x) => x !== w);
      if (this.stopped || relisting) return;
      relisting = true;
      this.opts.onError?.(err);
      this.relist().catch((e) => this.opts.onError?.(e));
    });
    this.watchers.push(w);
    await new Promise<void>((resolve) => {
      w.once('connected', () => resolve());
      w.once('error', () => resolve());
    });
  }

  private onChange(kv: IKeyValue, deleted: boolean): void {
    const key = kv.key.toString();
    const ref = refFromKey(key);
    if (!ref || ref.kind !== this.kind) return;
    if (this.opts.namespace !== undefined && ref.namespace !== this.opts.namespace) return;
    const p = pathOf(key);
    const map = ref.part === 'spec' ? this.specs : this.statuses;
    if (deleted) map.delete(p);
    else map.set(p, kv);
    this.revision = Math.max(this.revision, Number(kv.mod_revision));
    this.rebuild(p, true);
  }

  private rebuild(p: string, emit: boolean): void {
    const old = this.cache.get(p);
    const spec = this.specs.get(p);
    const st = this.statuses.get(p);
    // Each key decoded on its own: one that is not a valid object is as if absent (and reported).
    const d = spec ? decodeObject(this.kind, rawKv(spec), st ? rawKv(st) : undefined, this.opts.check) : undefined;
    if (d && !d.ok) this.opts.onInvalid?.(d);
    if (!d || !d.ok) {
      this.cache.delete(p);
      if (emit && old) this.opts.onEvent({ type: 'DELETED', object: old.object });
      return;
    }
    const obj = d.object;
    const stored = { object: obj, specRevision: d.specRevision, statusRevision: d.statusRevision };
    this.cache.set(p, stored);
    if (emit) this.opts.onEvent(old ? { type: 'MODIFIED', object: obj, old: old.object } : { type: 'ADDED', object: obj });
  }
}

/** "/kiwi/spec/bookings/alice/bk1" -> "alice/bk1" (the object's path within its kind). */
function pathOf(key: string): string {
  return key.split('/').slice(4).join('/');
}

/** Cancels watchers; one etcd already cancelled never answers a cancel, so none is awaited for long. */
export async function cancelWatchers(ws: Watcher[]): Promise<void> {
  await Promise.all(ws.map((w) => Promise.race([w.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())])));
}
