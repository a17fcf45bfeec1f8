// The operator's view of etcd: one consistent snapshot (a single transaction over spec,
// status, calendars and heartbeats, so every part is read at one revision), then watches from
// the revision after it (crds/api/listwatch.ts, the one list-then-watch). Its own writes are
// applied at once (by revision), so the next pass does not redo them while the watch catches
// up. A watch etcd cancels (compaction) re-snapshots, retried until etcd answers.
// Every value is untrusted (users write their bookings, nodes their Node, straight into etcd if
// they like): each object is decoded on its own (crds/api/decode.ts, with the schema). A booking
// that does not decode is handed to the planner as invalid, which refuses it under its key's name;
// a Node or ClusterConfig that does not is ignored, and reported once per revision (onInvalid).
import type { IKeyValue } from 'etcd3';
import type { Booking, Calendar, ClusterConfig, KindName, Pool } from '../../../crds/api/index.js';
import { API_VERSION, CLUSTER_CONFIG_NAME, decodeLedger, effectiveConfig, ROOT, ListWatch, decodeObject, entryUid, keys, parseValue, rangeOp, refFromKey, type DecodeProblem, type WatchEvent, type Logger, type RawKv, type Store } from '../../../crds/api/index.js';
import { schemaCheck } from '../../../crds/api/validate.js';
import { RefIndex, nodeMayHaveFailed, type AccountView, type BookingView, type CalendarView, type NodeView, type Scope } from '../plan/index.js';
import { Freshness, observationClock } from '../election/freshness.js';
import { heartbeatPeriodMs, heartbeatTtlMs } from '../../../crds/api/heartbeat.js';
import { keyOwner, limitReason } from '../../../crds/api/roles.js';
import { KeyUsage, sumUsage, type Usage } from '../grants/usage.js';

/**
 * One key as held: its value as a string, decoded when the object is rebuilt (touch). A string,
 * not the Buffer the client read: that Buffer is a view into the whole gRPC message it came in
 * (a watch response, the snapshot), and holding one value held the message.
 */
interface Rec {
  /** Absent for a booking status we wrote ourselves: the booking's view holds it decoded (statusValue encodes it again when needed). */
  value?: string;
  mod: number;
  create: number;
  version: number;
}

/** A put as applied: what etcd (or our own committed write) says of one key; `parsed` is the value already decoded, when we wrote it. */
interface Put {
  key: string;
  value?: string;
  mod: number;
  create: number;
  version: number;
  parsed?: unknown;
}

export type ChangeKey = string; // booking:ns/name, node:name, calendar:name, heartbeat:name, config

const PREFIXES = [ROOT + 'spec/', ROOT + 'status/', keys.calendarPrefix(), keys.heartbeatPrefix()];

export class ClusterCache {
  private readonly specs = new Map<string, Rec>(); // by full key
  private readonly statuses = new Map<string, Rec>();
  readonly calendars = new Map<string, CalendarView>();
  /**
   * Node heartbeats: alive while the daemon keeps rewriting the value, judged by this cache's
   * own clock (a key that merely exists proves nothing: anyone can keep its lease alive).
   */
  private readonly beats = new Freshness<string>();
  private readonly beatTtl = new Map<string, number>(); // node -> ms the value may stay unchanged
  /** node -> the heartbeat key's mod_revision (0: absent) as of revision `at`: a NotReady's compare. */
  private readonly beatKey = new Map<string, { mod: number; at: number }>();
  private beatTimer?: NodeJS.Timeout;
  /** Deleted keys and the revision they were deleted at, so a late put of an older revision is ignored. */
  private readonly tombstones = new Map<string, number>();
  /** Views for the planner, rebuilt per object when it changes (not per pass). */
  private readonly bookingViews = new Map<string, BookingView>();
  private readonly nodeViews = new Map<string, NodeView>();
  private clusterConfig?: ClusterConfig;
  /** The valid Pool objects by name (an invalid one is ignored and reported, as a Node is). */
  private readonly poolObjects = new Map<string, Pool>();
  /** Accounting: the accounts with their ledgers, and which bookings wait for each one's units. */
  private readonly accountViews = new Map<string, AccountView>();
  private readonly waiting = new Map<string, Set<string>>();
  private readonly waitingOn = new Map<string, string>();
  /** Per user (a namespace): the keys of their bookings, schedules and subscriptions, valid or not, and the bytes of their values. */
  private readonly usage = new KeyUsage();
  /** The user's other keys that count against their limits (the dry-run server's count of /kiwi/dryrun/<user>/, which it registers). */
  alsoCounted?: { get(user: string): Usage | undefined; byUser(): ReadonlyMap<string, Usage> };
  /** Keys reported as invalid, and at which revision: each bad revision is reported once. */
  private readonly reported = new Map<string, number>();
  /** Which bookings and nodes refer to which, kept in step with the views: what a pass must plan together. */
  index = new RefIndex();
  private readonly lw: ListWatch;
  revision = 0;

  constructor(
    private readonly store: Store,
    private onChange: (keys: ChangeKey[]) => void,
    private readonly log: Logger,
    private readonly clock = observationClock,
    /** A Node, ClusterConfig or status that is not valid was ignored (an event naming the key is the caller's). */
    private onInvalid: (p: DecodeProblem) => void = () => undefined,
  ) {
    // One watcher per prefix: a watcher over the range from calendars to status would carry
    // every event, election and dry-run key too.
    this.lw = new ListWatch(store, {
      what: 'snapshot',
      list: PREFIXES.map((prefix) => ({ prefix })),
      onList: (kvs, rev) => this.snapshot(kvs, rev),
      onEvents: (evs) => this.watched(evs),
      onBroken: (err) => this.log.warn({ err }, 'watch broke; taking a new snapshot'),
      onListFailed: (err, retryMs) => this.log.error({ err, retryMs }, 'snapshot failed; retrying'),
    });
  }

  /**
   * Who hears changes and ignored values from now on: the leading term's reconciler, or nobody
   * while the operator stands by. The cache itself lives across terms (operator.ts).
   */
  listen(onChange: (keys: ChangeKey[]) => void = () => undefined, onInvalid: (p: DecodeProblem) => void = () => undefined): void {
    this.onChange = onChange;
    this.onInvalid = onInvalid;
  }

  async start(): Promise<void> {
    await this.lw.start();
    this.beatTimer = setInterval(() => this.expireHeartbeats(), 250);
  }

  async stop(): Promise<void> {
    clearInterval(this.beatTimer);
    await this.lw.stop();
  }

  /**
   * Is the node's heartbeat value still changing (seen to within its TTL, and one beat period
   * of slack, by our clock)? The slack is for one write stalled by an etcd member that stopped
   * answering: gRPC keepalives notice it in about 2 s, and with a 3 s TTL a write due just then
   * came 3.1 s after the one before (the fault suite, raft leader SIGSTOPped).
   */
  private heartbeatAlive(node: string): boolean {
    const ttl = this.beatTtl.get(node) ?? 0;
    return this.beats.fresh(node, this.clock.now(), ttl && ttl + heartbeatPeriodMs(ttl / 1000));
  }

  /** Records a heartbeat put or delete; returns the change key when the node's readiness input flipped. */
  private beat(node: string, kv: Put, deleted: boolean): ChangeKey | undefined {
    // A deleted key (its lease revoked or expired) is one that stopped changing: the node is
    // NotReady once its last change is a TTL old. etcd 3.4 (before 3.4.28) revokes live leases
    // when a paused raft leader resumes (etcd-io/etcd#12528); the daemon puts its key again
    // under a new lease within a beat, and that costs no NotReady.
    const mod = kv.mod;
    if (!deleted) {
      this.beatTtl.set(node, heartbeatTtlMs(kv.value));
      this.beats.observe(node, mod, this.clock.now());
    }
    if ((this.beatKey.get(node)?.at ?? -1) <= mod) this.beatKey.set(node, { mod: deleted ? 0 : mod, at: mod });
    // A refresh of a live node, or a heartbeat of no Node (yet): nothing to plan. A Node created
    // later reads its readiness from `beats` then. A stale node's view keeps the key's revision
    // current (a delete), so that its NotReady compares what is there.
    const nv = this.nodeViews.get(node);
    if (!nv) return undefined;
    if (nv.heartbeat === this.heartbeatAlive(node)) {
      if (!nv.heartbeat && nv.heartbeatRevision !== this.beatRevision(node)) this.nodeViews.set(node, { ...nv, heartbeatRevision: this.beatRevision(node) });
      return undefined;
    }
    this.touch(keys.spec({ kind: 'Node', name: node }));
    return `heartbeat:${node}`;
  }

  private beatRevision(node: string): number {
    return this.beatKey.get(node)?.mod ?? 0;
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

  /** A (re-)list: everything anew, at one revision; then every booking and node is planned. */
  private snapshot(kvs: IKeyValue[][], rev: number): void {
    this.specs.clear();
    this.statuses.clear();
    this.calendars.clear();
    this.beats.clear();
    this.beatTtl.clear();
    this.beatKey.clear();
    this.tombstones.clear();
    const [spec, status, cal, hb] = kvs;
    this.usage.clear();
    for (const kv of spec) this.setSpec(kv.key.toString(), rec(put(kv)));
    for (const kv of status) this.statuses.set(kv.key.toString(), rec(put(kv)));
    for (const kv of cal) this.calendars.set(calName(kv.key.toString()), calView(put(kv)));
    for (const kv of hb) this.beat(hbName(kv.key.toString()), put(kv), false); // each gets a full TTL from now
    // A node its status calls Ready whose heartbeat key is gone gets one TTL from now as well,
    // as a deleted key seen by the watch does: a lease revoked by a resumed old raft leader
    // (etcd-io/etcd#12528) just before this snapshot (a new leader's) costs no NotReady when the
    // daemon puts its key again under a new lease in time.
    const nodeStatus = keys.statusPrefix('Node');
    for (const [k, r] of this.statuses) {
      const name = k.slice(nodeStatus.length);
      const v = k.startsWith(nodeStatus) && !this.beats.get(name) ? parseValue(r.value ?? '') : undefined;
      if (!v || !('value' in v) || (v.value as { phase?: unknown } | null)?.phase !== 'Ready') continue;
      this.beats.observe(name, 0, this.clock.now());
      this.beatTtl.set(name, heartbeatTtlMs(undefined));
    }
    this.bookingViews.clear();
    this.nodeViews.clear();
    this.clusterConfig = undefined;
    this.poolObjects.clear();
    this.accountViews.clear();
    this.waiting.clear();
    this.waitingOn.clear();
    this.reported.clear();
    this.index = new RefIndex();
    for (const [n, c] of this.calendars) this.index.setCalendar(n, c.entries);
    for (const k of this.specs.keys()) this.touch(k);
    this.revision = rev;
    this.log.debug({ revision: rev, specs: spec.length, calendars: cal.length }, 'snapshot');
    this.onChange(['resync']);
  }

  /** The events of one watch response, applied in order. */
  private watched(evs: WatchEvent[]): void {
    const changed: ChangeKey[] = [];
    for (const ev of evs) {
      const k = this.apply(put(ev.kv), ev.deleted);
      if (k) changed.push(k);
    }
    if (changed.length) this.onChange(changed);
  }

  /** Applies one put or delete if it is newer than what is held; returns what it changed. */
  private apply(kv: Put, deleted: boolean): ChangeKey | undefined {
    const key = kv.key;
    const mod = kv.mod;
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
      if (map === this.specs) this.setSpec(key, undefined);
      else map.delete(key);
      this.tombstones.set(key, mod);
    } else if (map === this.specs) this.setSpec(key, rec(kv));
    else map.set(key, rec(kv));
    this.touch(key, deleted ? undefined : kv.parsed);
    return changeKey(key);
  }

  /** Our own committed writes, at revision `rev`: put (value) or delete (undefined). */
  applyLocal(rev: number, writes: { key: string; value: unknown }[]): void {
    const woken: ChangeKey[] = [];
    for (const w of writes) {
      if (w.key.startsWith(keys.statusPrefix('Account'))) woken.push(`account:${w.key.slice(keys.statusPrefix('Account').length)}`);
      const cur = this.specs.get(w.key) ?? this.statuses.get(w.key);
      // A calendar is held decoded only, and so is a booking's status (in the booking's view): neither is encoded again (the txn did).
      const value = w.key.startsWith(keys.calendarPrefix()) || w.key.startsWith(keys.statusPrefix('Booking')) ? undefined : JSON.stringify(w.value ?? null);
      this.apply({ key: w.key, value, parsed: w.value, mod: rev, create: cur?.create ?? rev, version: (cur?.version ?? 0) + 1 }, w.value === undefined);
    }
    if (woken.length) this.onChange(woken);
  }

  /** Re-reads some keys (after a lost compare-and-swap) and takes what is newer. */
  async refresh(keysToRead: string[]): Promise<void> {
    for (let i = 0; i < keysToRead.length; i += 100) {
      const part = keysToRead.slice(i, i + 100);
      const r = await this.store.txn('refresh', [], part.map((k) => rangeOp(k)));
      const rev = Number(r.header.revision);
      part.forEach((k, j) => {
        const kv = r.responses[j].response_range.kvs[0];
        if (kv) this.apply(put(kv), false);
        else this.apply({ key: k, value: '', mod: rev, create: 0, version: 0 }, true);
      });
    }
  }

  /** Puts or removes a spec key, keeping each user's usage in step. */
  private setSpec(key: string, r: Rec | undefined): void {
    const owner = keyOwner(key); // a user's booking, schedule or subscription
    if (owner) this.usage.set(key, owner, r && Buffer.byteLength(r.value ?? ''));
    if (r) this.specs.set(key, r);
    else this.specs.delete(key);
  }

  /** Per user, everything that counts against their limits: these keys and `alsoCounted` (the flood detector's input). */
  heldByUser(): Map<string, Usage> {
    return sumUsage(this.usage.byUser(), this.alsoCounted?.byUser() ?? new Map());
  }

  /** Why a user is past a ClusterConfig userLimits limit (these keys and `alsoCounted` together), or '': their new bookings and dry runs are refused then. */
  limitReason(user: string): string {
    const [u, d] = [this.usage.get(user), this.alsoCounted?.get(user)];
    if (!u && !d) return '';
    return limitReason(user, { keys: (u?.keys ?? 0) + (d?.keys ?? 0), bytes: (u?.bytes ?? 0) + (d?.bytes ?? 0) }, effectiveConfig(this.clusterConfig).userLimits, 1);
  }

  /** The refusal of a new booking of a user past a limit, or ''. */
  private overLimit(user: string): string {
    const why = this.limitReason(user);
    return why && `${why}: delete some (kiwictl delete booking NAME) before booking again`;
  }

  /**
   * Rebuilds the planner's view of the object a spec or status key belongs to. `own`: the value
   * of a status we just wrote ourselves (the planner's, so it needs no check).
   */
  private touch(key: string, own?: unknown): void {
    const ref = refFromKey(key);
    if (!ref) return;
    const s = this.specs.get(keys.spec(ref));
    const st = this.statuses.get(keys.status(ref));
    if (ref.kind === 'Booking' && st) {
      const path = `${ref.namespace}/${ref.name}`;
      const old = this.bookingViews.get(path);
      // Our own status write over a valid booking whose spec is as planned: the view takes the
      // status as written, without decoding and checking the spec again (a third of the CPU of
      // applying a write at 100,000 bookings).
      if (own !== undefined && key === keys.status(ref) && s && old && !old.invalid && old.specRevision === s.mod && st.mod >= s.create) {
        const booking = { ...old.booking, status: own as Booking['status'] };
        this.bookingViews.set(path, { ...old, booking, statusRevision: st.mod });
        this.index.setBooking(path, booking);
        this.setWaiting(path, booking);
        return;
      }
      st.value ??= own !== undefined && key === keys.status(ref) ? JSON.stringify(own) : JSON.stringify(old?.booking.status ?? null);
    }
    const decode = <K extends KindName>(kind: K) => {
      const d = s ? decodeObject(kind, raw(keys.spec(ref), s), st && raw(keys.status(ref), st), schemaCheck) : undefined;
      if (d?.ok && d.statusProblem) this.report(d.statusProblem, st!.mod);
      return d;
    };
    if (ref.kind === 'Booking') {
      const d = decode('Booking');
      const path = `${ref.namespace}/${ref.name}`;
      if (!s || !d) {
        this.bookingViews.delete(path);
        this.index.setBooking(path, undefined);
        this.setWaiting(path, undefined);
        return;
      }
      // A new booking of a user beyond their limits is refused; what they hold already goes on.
      const over = d.ok && !d.object.status?.phase ? this.overLimit(ref.namespace!) : '';
      const view: BookingView = d.ok && !over
        ? { key: path, booking: d.object, specRevision: s.mod, statusRevision: d.statusRevision, createRevision: s.create }
        : { key: path, booking: refusedBooking(key, ref.name, ref.namespace!, s, st), specRevision: s.mod, statusRevision: st?.mod ?? 0, createRevision: s.create, invalid: d.ok ? over : d.problem };
      this.bookingViews.set(path, view);
      this.index.setBooking(path, d.ok && !over ? d.object : undefined);
      this.setWaiting(path, view.booking);
    } else if (ref.kind === 'Account') {
      const d = decode('Account');
      if (d && !d.ok) this.report(d, s!.mod);
      if (!d || !d.ok) {
        this.accountViews.delete(ref.name);
        return;
      }
      const st = d.object.status;
      const l = decodeLedger(st, typeof st?.period === 'string' ? st.period : 'Total');
      this.accountViews.set(ref.name, { account: d.object, statusRevision: d.statusRevision, ...('ledger' in l ? { ledger: l.ledger } : { problem: l.problem }) });
    } else if (ref.kind === 'Node') {
      const d = decode('Node');
      if (d && !d.ok) this.report(d, s!.mod);
      if (!d || !d.ok) {
        this.nodeViews.delete(ref.name);
        this.index.setNode(ref.name, undefined, false);
        return;
      }
      this.nodeViews.set(ref.name, { node: d.object, statusRevision: d.statusRevision, heartbeat: this.heartbeatAlive(ref.name), heartbeatRevision: this.beatRevision(ref.name) });
      this.index.setNode(ref.name, d.object.metadata?.labels, true, nodeMayHaveFailed(d.object));
    } else if (ref.kind === 'Pool') {
      const d = decode('Pool');
      if (d && !d.ok) this.report(d, s!.mod);
      if (d?.ok) this.poolObjects.set(ref.name, d.object);
      else this.poolObjects.delete(ref.name);
    } else if (ref.kind === 'ClusterConfig' && ref.name === CLUSTER_CONFIG_NAME) {
      const d = decode('ClusterConfig');
      if (d && !d.ok) this.report(d, s!.mod);
      this.clusterConfig = d?.ok ? d.object : undefined;
    }
  }

  /** A booking that waits for an account's units (Pending with no slot, status.account set): woken when the ledger changes. */
  private setWaiting(key: string, b: Booking | undefined): void {
    const st = b?.status;
    const acct = st?.phase === 'Pending' && !st.startTime && typeof st.account === 'string' ? st.account : undefined;
    const old = this.waitingOn.get(key);
    if (old === acct) return;
    if (old !== undefined) {
      this.waiting.get(old)?.delete(key);
      this.waitingOn.delete(key);
    }
    if (acct !== undefined) {
      let set = this.waiting.get(acct);
      if (!set) this.waiting.set(acct, (set = new Set()));
      set.add(key);
      this.waitingOn.set(key, acct);
    }
  }

  /** Bookings waiting for this account's units. */
  waitersOf(account: string): string[] {
    return [...(this.waiting.get(account) ?? [])];
  }

  /** The accounts by name (accounting); the planner reads it and must not change it. */
  accounts(): Map<string, AccountView> {
    return this.accountViews;
  }

  private report(p: DecodeProblem, mod: number): void {
    if (this.reported.get(p.key) === mod) return;
    this.reported.set(p.key, mod);
    this.log.warn({ key: p.key, problem: p.problem }, 'ignoring a stored value that is not valid');
    this.onInvalid(p);
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

  /** The valid Pool objects, by name. */
  pools(): Pool[] {
    return [...this.poolObjects.values()].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  }

  /** The ClusterConfig, when it is there and valid (else the defaults apply). */
  config(): ClusterConfig | undefined {
    return this.clusterConfig;
  }
}

function put(kv: IKeyValue): Put {
  return { key: kv.key.toString(), value: kv.value.toString(), mod: Number(kv.mod_revision), create: Number(kv.create_revision), version: Number(kv.version) };
}

const rec = (p: Put): Rec => ({ value: p.value, mod: p.mod, create: p.create, version: p.version });

/** The key as decodeObject reads it. */
const raw = (key: string, r: Rec): RawKv => ({ key, value: r.value ?? '', modRevision: r.mod, createRevision: r.create, version: r.version });

/** What the planner gets for a key that holds no valid booking: only what the key and etcd say, to refuse it by. */
function refusedBooking(key: string, name: string, namespace: string, s: Rec, st: Rec | undefined): Booking {
  const b: Booking = { apiVersion: API_VERSION, kind: 'Booking', metadata: { name, namespace, uid: entryUid(key, s.create), generation: s.version || 1, resourceVersion: String(s.mod) }, spec: {} as Booking['spec'] };
  const status = st && st.mod >= s.create ? parseValue(st.value ?? '') : undefined; // an older status is an earlier object's
  if (status && 'value' in status && status.value !== null && typeof status.value === 'object' && !Array.isArray(status.value)) b.status = status.value as Booking['status'];
  return b;
}

/** Only the operator writes calendars; still, one that does not parse is empty (the planner rewrites it), not a crash. */
function calView(kv: Put): CalendarView {
  const p = 'parsed' in kv ? { value: kv.parsed } : parseValue(kv.value ?? '');
  const entries = 'value' in p && p.value !== null && typeof p.value === 'object' && Array.isArray((p.value as Calendar).entries) ? (p.value as Calendar).entries : [];
  return { entries, modRevision: kv.mod };
}

const calName = (k: string) => k.slice(keys.calendarPrefix().length);
const hbName = (k: string) => k.slice(keys.heartbeatPrefix().length);

function changeKey(key: string): ChangeKey | undefined {
  const ref = refFromKey(key);
  if (!ref) return undefined;
  if (ref.kind === 'Booking') return `booking:${ref.namespace}/${ref.name}`;
  if (ref.kind === 'Node') return `node:${ref.name}`;
  // A ledger changes with every booking its account pays for: it wakes only what waits for it.
  if (ref.kind === 'Account') return ref.part === 'status' ? `account:${ref.name}` : 'config';
  if (ref.kind === 'Subscription' || ref.kind === 'BookingSchedule') return undefined; // kinds the planner does not read
  return 'config';
}
