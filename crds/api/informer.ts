// An informer, as client-go has: list a kind, then watch it from the list's revision, keeping
// a local cache of whole objects (spec and status merged), on the one list-then-watch
// (listwatch.ts). One whose revision was compacted away re-lists and reports the difference,
// so a consumer never misses a change, only intermediate states.
import type { IKeyValue } from 'etcd3';
import type { KindName, ObjectOfKind } from './types.js';
import { ROOT, keys, prefixEnd, refFromKey } from './keys.js';
import type { Store, Stored } from './store.js';
import { decodeObject, rawKv, type DecodeProblem, type ObjectCheck } from './decode.js';
import { ListWatch } from './listwatch.js';

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
  private readonly lw: ListWatch;

  constructor(
    store: Store,
    private readonly kind: K,
    private readonly opts: InformerOptions<ObjectOfKind<K>>,
  ) {
    // Spec and status read at ONE revision (one transaction), and the watch goes on from it: two
    // reads at two revisions made the watch replay, over the later read, values older than it
    // (a status went backwards until the replay caught up). ONE watcher over the range that
    // holds both (/kiwi/spec/ .. /kiwi/status/): the events of one transaction (a delete of spec
    // and status, say) arrive together and in order, which two watchers would not guarantee.
    // Other kinds' events in that range are skipped.
    this.lw = new ListWatch(store, {
      what: `list ${kind}`,
      list: [{ prefix: keys.specPrefix(kind, opts.namespace) }, { prefix: keys.statusPrefix(kind, opts.namespace) }],
      watch: [{ start: ROOT + 'spec/', end: prefixEnd(ROOT + 'status/') }],
      onList: (kvs) => this.listed(kvs[0], kvs[1]),
      onEvents: (evs) => evs.forEach((e) => this.onChange(e.kv, e.deleted)),
      onBroken: (err) => opts.onError?.(err),
      onListFailed: (err) => opts.onError?.(err),
    });
  }

  /** The revision of the last list, or of the last change seen since. */
  get revision(): number {
    return this.lw.revision;
  }

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
    await this.lw.start();
  }

  async stop(): Promise<void> {
    await this.lw.stop();
  }

  /** A (re-)list: the cache anew, and what changed since the last one as events. */
  private listed(spec: IKeyValue[], status: IKeyValue[]): void {
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
    this.opts.onSync?.(this.list(), this.lw.revision);
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
