// The operator's view of etcd: one consistent snapshot (a single transaction over spec,
// status, calendars and heartbeats, so every part is read at one revision), then watches from
// the revision after it. Its own writes are applied at once (by revision), so the next pass
// does not redo them while the watch catches up. A watch etcd cancels (compaction) re-snapshots.
import type { IKeyValue, Watcher } from 'etcd3';
import type { Booking, Calendar, ClusterConfig, Node } from '../../../crds/api/index.js';
import { CLUSTER_CONFIG_NAME, ROOT, cancelWatchers, keys, rangeOp, refFromKey, type Logger, type Store } from '../../../crds/api/index.js';
import { RefIndex, type BookingView, type CalendarView, type NodeView, type Scope } from '../plan/index.js';
import { Freshness, observationClock } from '../election/freshness.js';
import { heartbeatTtlMs } from '../../../crds/api/heartbeat.js';

interface Rec<T> {
  value: T;
  mod: number;
  create: number;
}

export type ChangeKey = string; // booking:ns/name, node:name, calendar:name, heartbeat:name, config

const PREFIXES = [ROOT + 'spec/', ROOT + 'status/', keys.calendarPrefix(), keys.heartbeatPrefix()];

export class ClusterCache {
  private readonly specs = new Map<string, Rec<any>>(); // by full key
  private readonly statuses = new Map<string, Rec<any>>();
  readonly calendars = new Map<string, CalendarView>();
  /**
   * Node heartbeats: alive while the daemon keeps rewriting the value, judged by this cache's
   * own clock (a key that merely exists proves nothing: anyone can keep its lease alive).
   */
  private readonly beats = new Freshness<string>();
  private readonly beatTtl = new Map<string, number>(); // node -> ms the value may stay unchanged
  private beatTimer?: NodeJS.Timeout;
  /** Deleted keys and the revision they were deleted at, so a late put of an older revision is ignored. */
  private readonly tombstones = new Map<string, number>();
  /** Views for the planner, rebuilt per object when it changes (not per pass). */
  private readonly bookingViews = new Map<string, BookingView>();
  private readonly nodeViews = new Map<string, NodeView>();
  /** Which bookings and nodes refer to which, kept in step with the views: what a pass must plan together. */
  index = new RefIndex();
  private watchers: Watcher[] = [];
  private stopped = false;
  revision = 0;

  constructor(
    private readonly store: Store,
    private readonly onChange: (keys: ChangeKey[]) => void,
    private readonly log: Logger,
    private readonly clock = observationClock,
  ) {}

  async start(): Promise<void> {
    await this.snapshot();
    this.beatTimer = setInterval(() => this.expireHeartbeats(), 250);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.beatTimer);
    await this.cancelWatchers();
  }

  /** Is the node's heartbeat value still changing (seen to within its TTL by our clock)? */
  private heartbeatAlive(node: string): boolean {
    return this.beats.fresh(node, this.clock.now(), this.beatTtl.get(node) ?? 0);
  }

  /** Records a heartbeat put or delete; returns the change key when the node's readiness input flipped. */
  private beat(node: string, kv: IKeyValue, deleted: boolean): ChangeKey | undefined {
    if (deleted) {
      this.beats.forget(node);
      this.beatTtl.delete(node);
    } else {
      this.beatTtl.set(node, heartbeatTtlMs(kv.value));
      this.beats.observe(node, Number(kv.mod_revision), this.clock.now());
    }
    // A refresh of a live node, or a heartbeat of no Node (yet): nothing to plan. A Node created
    // later reads its readiness from `beats` then.
    const nv = this.nodeViews.get(node);
    if (!nv || nv.heartbeat === this.heartbeatAlive(node)) return undefined;
    this.touch(keys.spec({ kind: 'Node', name: node }));
    return `heartbeat:${node}`;
  }

  /** Nodes whose heartbeat value stopped changing: NotReady input, whatever keeps their lease alive. */
  private expireHeartbeats(): void {
    const changed: ChangeKey[] = [];
    for (const n of this.beats.keys()) {
      if (!this.nodeViews.get(n)?.heartbeat || this.heartbeatAlive(n)) continue;
      this.log.info({ node: n, ttlMs: this.beatTtl.get(n), lastChangeMsAgo: Math.round(this.clock.now() - this.beats.get(n)!.at) }, 'node heartbeat value stopped changing');
      this.touch(keys.spec({ kind: 'Node', name: n }));
      changed.push(`heartbeat:${n}`);
    }
    if (changed.length) this.onChange(changed);
  }

  private async cancelWatchers(): Promise<void> {
    const ws = this.watchers;
    this.watchers = [];
    await cancelWatchers(ws);
  }

  private async snapshot(): Promise<void> {
    await this.cancelWatchers();
    if (this.stopped) return;
    const r = await this.store.txn('snapshot', [], PREFIXES.map((p) => rangeOp(p, true)));
    const rev = Number(r.header.revision);
    this.specs.clear();
    this.statuses.clear();
    this.calendars.clear();
    this.beats.clear();
    this.beatTtl.clear();
    this.tombstones.clear();
    const [spec, status, cal, hb] = r.responses.map((x) => x.response_range.kvs);
    for (const kv of spec) this.specs.set(kv.key.toString(), rec(kv));
    for (const kv of status) this.statuses.set(kv.key.toString(), rec(kv));
    for (const kv of cal) this.calendars.set(calName(kv.key.toString()), calView(kv));
    for (const kv of hb) this.beat(hbName(kv.key.toString()), kv, false); // each gets a full TTL from now
    this.bookingViews.clear();
    this.nodeViews.clear();
    this.index = new RefIndex();
    for (const [n, c] of this.calendars) this.index.setCalendar(n, c.entries);
    for (const k of this.specs.keys()) this.touch(k);
    this.revision = rev;
    this.log.debug({ revision: rev, specs: spec.length, calendars: cal.length }, 'snapshot');
    this.onChange(['resync']);
    await this.watchFrom(rev + 1);
  }

  private async watchFrom(rev: number): Promise<void> {
    let resnapping = false;
    for (const prefix of PREFIXES) {
      const w = this.store.etcd.watch().prefix(prefix).startRevision(String(rev)).watcher();
      w.on('data', (res) => {
        const changed: ChangeKey[] = [];
        for (const ev of res.events) {
          const k = this.apply(ev.kv, ev.type === 'Delete');
          if (k) changed.push(k);
        }
        if (changed.length) this.onChange(changed);
      });
      w.on('error', (err: Error) => {
        this.watchers = this.watchers.filter((x) => x !== w);
        if (this.stopped || resnapping) return;
        resnapping = true;
        this.log.warn({ err }, 'watch broke; taking a new snapshot');
        this.snapshot().catch((e) => this.log.error({ err: e }, 'snapshot failed'));
      });
      this.watchers.push(w);
    }
    await Promise.all(this.watchers.map((w) => new Promise<void>((resolve) => {
      w.once('connected', () => resolve());
      w.once('error', () => resolve());
    })));
  }

  /** Applies one put or delete if it is newer than what is held; returns what it changed. */
  private apply(kv: IKeyValue, deleted: boolean): ChangeKey | undefined {
    const key = kv.key.toString();
    const mod = Number(kv.mod_revision);
    this.revision = Math.max(this.revision, mod);
    if (key.startsWith(keys.heartbeatPrefix())) return this.beat(hbName(key), kv, deleted);
    if (key.startsWith(keys.calendarPrefix())) {
      const n = calName(key);
      const cur = this.calendars.get(n);
      if (cur && cur.modRevision >= mod) return undefined;
      if (deleted) this.calendars.delete(n);
      else this.calendars.set(n, calView(kv));
      this.index.setCalendar(n, this.calendars.get(n)?.entries);
      return `calendar:${n}`;
    }
    const map = key.startsWith(ROOT + 'spec/') ? this.specs : this.statuses;
    const cur = map.get(key);
    if (cur && cur.mod >= mod) return undefined;
    if ((this.tombstones.get(key) ?? 0) >= mod) return undefined;
    if (deleted) {
      map.delete(key);
      this.tombstones.set(key, mod);
    } else map.set(key, rec(kv));
    this.touch(key);
    return changeKey(key);
  }

  /** Our own committed writes, at revision `rev`: put (value) or delete (undefined). */
  applyLocal(rev: number, writes: { key: string; value: unknown }[]): void {
    for (const w of writes) {
      const kv = { key: Buffer.from(w.key), value: Buffer.from(JSON.stringify(w.value ?? null)), mod_revision: String(rev), create_revision: String(rev) } as unknown as IKeyValue;
      const cur = this.specs.get(w.key) ?? this.statuses.get(w.key);
      if (cur) (kv as any).create_revision = String(cur.create);
      this.apply(kv, w.value === undefined);
    }
  }

  /** Re-reads some keys (after a lost compare-and-swap) and takes what is newer. */
  async refresh(keysToRead: string[]): Promise<void> {
    for (let i = 0; i < keysToRead.length; i += 100) {
      const part = keysToRead.slice(i, i + 100);
      const r = await this.store.txn('refresh', [], part.map((k) => rangeOp(k)));
      const rev = Number(r.header.revision);
      part.forEach((k, j) => {
        const kv = r.responses[j].response_range.kvs[0];
        if (kv) this.apply(kv, false);
        else this.apply({ key: Buffer.from(k), value: Buffer.from(''), mod_revision: String(rev), create_revision: '0' } as unknown as IKeyValue, true);
      });
    }
  }

  /** Rebuilds the planner's view of the object a spec or status key belongs to. */
  private touch(key: string): void {
    const ref = refFromKey(key);
    if (!ref) return;
    if (ref.kind === 'Booking') {
      const path = `${ref.namespace}/${ref.name}`;
      const s = this.specs.get(keys.spec(ref));
      if (!s) {
        this.bookingViews.delete(path);
        this.index.setBooking(path, undefined);
        return;
      }
      const st = this.statuses.get(keys.status(ref));
      const b = { ...(s.value as Booking), metadata: { ...(s.value as Booking).metadata, resourceVersion: String(s.mod) } };
      if (st) b.status = st.value;
      this.bookingViews.set(path, { key: path, booking: b, specRevision: s.mod, statusRevision: st?.mod ?? 0, createRevision: s.create });
      this.index.setBooking(path, b);
    } else if (ref.kind === 'Node') {
      const s = this.specs.get(keys.spec(ref));
      if (!s) {
        this.nodeViews.delete(ref.name);
        this.index.setNode(ref.name, undefined, false);
        return;
      }
      const st = this.statuses.get(keys.status(ref));
      const n = { ...(s.value as Node) };
      if (st) n.status = st.value;
      this.nodeViews.set(ref.name, { node: n, statusRevision: st?.mod ?? 0, heartbeat: this.heartbeatAlive(ref.name) });
      this.index.setNode(ref.name, n.metadata?.labels);
    }
  }

  bookings(): BookingView[] {
    return [...this.bookingViews.values()];
  }

  bookingKeys(): IterableIterator<string> {
    return this.bookingViews.keys();
  }

  booking(key: string): BookingView | undefined {
    return this.bookingViews.get(key);
  }

  /**
   * The part of the state a scope covers, in the planner's terms; undefined when the spec of one
   * of its bookings changed after `asOf` (the revision the scope was computed at): it may now name
   * nodes outside the scope, so the scope no longer holds everything its bookings touch.
   */
  slice(scope: Scope, asOf = Infinity): { bookings: BookingView[]; nodes: Map<string, NodeView>; calendars: Map<string, CalendarView> } | undefined {
    const bookings: BookingView[] = [];
    for (const k of scope.bookings) {
      const v = this.bookingViews.get(k);
      if (v && v.specRevision > asOf) return undefined;
      if (v) bookings.push(v);
    }
    const nodes = new Map<string, NodeView>();
    const calendars = new Map<string, CalendarView>();
    for (const n of scope.nodes) {
      const nv = this.nodeViews.get(n);
      if (nv) nodes.set(n, nv);
      const c = this.calendars.get(n);
      if (c) calendars.set(n, c);
    }
    return { bookings, nodes, calendars };
  }

  /** The nodes by name; the planner reads it and must not change it. */
  nodes(): Map<string, NodeView> {
    return this.nodeViews;
  }

  config(): ClusterConfig | undefined {
    return this.specs.get(keys.spec({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME }))?.value;
  }
}

function rec(kv: IKeyValue): Rec<any> {
  return { value: JSON.parse(kv.value.toString()), mod: Number(kv.mod_revision), create: Number(kv.create_revision) };
}

function calView(kv: IKeyValue): CalendarView {
  const c = JSON.parse(kv.value.toString()) as Calendar;
  return { entries: c.entries ?? [], modRevision: Number(kv.mod_revision) };
}

const calName = (k: string) => k.slice(keys.calendarPrefix().length);
const hbName = (k: string) => k.slice(keys.heartbeatPrefix().length);

function changeKey(key: string): ChangeKey | undefined {
  const ref = refFromKey(key);
  if (!ref) return undefined;
  if (ref.kind === 'Booking') return `booking:${ref.namespace}/${ref.name}`;
  if (ref.kind === 'Node') return `node:${ref.name}`;
  return 'config';
}
