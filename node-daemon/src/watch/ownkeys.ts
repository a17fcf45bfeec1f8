// Watches only the daemon's own keys: its calendar, its Node (spec and status) and the
// ClusterConfig "default". Reads all four at one revision, then watches each from the next
// (crds/api/listwatch.ts, the one list-then-watch); one etcd cancels (compaction) re-reads.
// While etcd is unreachable it keeps retrying; the daemon goes on enforcing its last view
// meanwhile. confirm() re-reads the revisions to prove the view current.
import type { IKeyValue } from 'etcd3';
import { decodeObject, keys, ListWatch, rangeOp, rawKv, CLUSTER_CONFIG_NAME, type Calendar, type ClusterConfig, type Store, type Logger, type Node } from '../../../crds/api/index.js';

export interface OwnKeysHandlers {
  onCalendar(cal: Calendar | undefined): void;
  onNode(node: Node | undefined, statusRevision: number): void;
  onConfig(cc: ClusterConfig | undefined): void;
  /** The view was confirmed against etcd at this local time. */
  onSynced(at: number): void;
}

type Part = 'calendar' | 'nodeSpec' | 'nodeStatus' | 'config';

const PARTS: Part[] = ['calendar', 'nodeSpec', 'nodeStatus', 'config'];

export class OwnKeysWatch {
  private stopped = false;
  private readonly kvs = new Map<Part, IKeyValue | undefined>();
  private readonly keyOf: Record<Part, string>;
  private readonly lw: ListWatch;

  constructor(
    private readonly store: Store,
    private readonly node: string,
    private readonly h: OwnKeysHandlers,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.keyOf = {
      calendar: keys.calendar(node),
      nodeSpec: keys.spec({ kind: 'Node', name: node }),
      nodeStatus: keys.status({ kind: 'Node', name: node }),
      config: keys.spec({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME }),
    };
    const partOf = new Map(PARTS.map((p) => [this.keyOf[p], p]));
    this.lw = new ListWatch(store, {
      what: `read own keys of node ${node}`,
      list: PARTS.map((p) => ({ key: this.keyOf[p] })),
      onList: (kvs) => this.listed(kvs),
      onEvents: (evs) => {
        for (const e of evs) {
          const p = partOf.get(e.kv.key.toString());
          if (p) this.change(p, e.deleted ? undefined : e.kv);
        }
      },
      onBroken: (err) => this.log.warn({ err, node }, 'watch cancelled by etcd; re-reading own keys'),
      onListFailed: (err) => this.log.warn({ err, node }, 'cannot read own keys from etcd; enforcing the last view and retrying'),
    });
  }

  /** Starts syncing in the background; resolves after the first successful sync or `waitMs`. */
  async start(waitMs = 3000): Promise<boolean> {
    const first = this.resync();
    return Promise.race([first.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), waitMs).unref())]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.lw.stop();
  }

  /** Re-reads everything and re-watches; retried with backoff until it succeeds or stop(). */
  resync(): Promise<void> {
    return this.lw.relist();
  }

  private listed(kvs: IKeyValue[][]): void {
    PARTS.forEach((p, i) => this.kvs.set(p, kvs[i][0]));
    this.deliver('calendar');
    this.deliver('nodeSpec');
    this.deliver('config');
    this.h.onSynced(this.now());
  }

  private change(p: Part, kv: IKeyValue | undefined): void {
    if (this.stopped) return;
    this.kvs.set(p, kv);
    this.deliver(p === 'nodeStatus' ? 'nodeSpec' : p);
    this.h.onSynced(this.now());
  }

  private deliver(p: Part): void {
    try {
      if (p === 'calendar') {
        const kv = this.kvs.get('calendar');
        this.h.onCalendar(kv ? (JSON.parse(kv.value.toString()) as Calendar) : undefined);
      } else if (p === 'config') {
        // Objects through the one codec (crds/api/decode.ts): identity from the key, a value of
        // another kind or name refused, a status older than its spec never joined.
        const kv = this.kvs.get('config');
        const d = kv && decodeObject('ClusterConfig', rawKv(kv));
        if (d && !d.ok) throw new Error(d.problem);
        this.h.onConfig(d ? (d.object as ClusterConfig) : undefined);
      } else {
        const spec = this.kvs.get('nodeSpec');
        const status = this.kvs.get('nodeStatus');
        if (!spec) return this.h.onNode(undefined, status ? Number(status.mod_revision) : 0);
        const d = decodeObject('Node', rawKv(spec), status ? rawKv(status) : undefined);
        if (!d.ok) throw new Error(d.problem);
        this.h.onNode(d.object as Node, status ? Number(status.mod_revision) : 0);
      }
    } catch (err) {
      this.log.error({ err, key: this.keyOf[p] }, 'cannot parse own key; keeping the previous value');
    }
  }

  /**
   * Proves the view current: reads the mod revisions of the own keys and compares them with
   * what the watch delivered. Equal: synced now. Different: a missed change, so re-read.
   */
  async confirm(): Promise<boolean> {
    if (this.lw.relistPending || this.stopped) return false;
    const parts = PARTS;
    const r = await this.store.txn(`confirm own keys of node ${this.node}`, [], parts.map((p) => ({ request_range: { ...rangeOp(this.keyOf[p]).request_range!, keys_only: true } })));
    const same = parts.every((p, i) => (r.responses[i].response_range.kvs[0]?.mod_revision ?? '0') === (this.kvs.get(p)?.mod_revision ?? '0'));
    if (same) {
      this.h.onSynced(this.now());
      return true;
    }
    await this.resync();
    return true;
  }
}
