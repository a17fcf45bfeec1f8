// The imperative shell around the planner: a work queue fed by the cache's watches and by
// timers; each pass takes the queued keys, runs the pure planner with one `now` over the part
// of the cached state those keys can affect (plan/scope.ts; the whole state on a resync), and
// writes what it decided as etcd transactions, each fenced on the leader's election key and
// compare-and-swapped on every calendar, spec and status it relies on.
import { randomBytes } from 'node:crypto';
import type { IRequestOp } from 'etcd3';
import type { Calendar, DecodeProblem, KiwiEvent } from '../../../crds/api/index.js';
import { allocationMilli, compare, encodeLedger, keys, putOp, rangeOp, type Compare, type Ledger, type Logger, type Store } from '../../../crds/api/index.js';
import { chunkGroup, groupActions, NodeWakes, packChunks, planSteps, type Action, type NodeAction, type PlanInput, type PlanResult, type Scope, type TxnChunk } from '../plan/index.js';
import type { UserLookup } from '../../../crds/api/users.js';
import { ClusterCache, type ChangeKey } from './cache.js';
import type { GroupLookup } from './groups.js';
import { planInputOf, type PlanInputOptions } from './plan-input.js';
import { WorkQueue } from './queue.js';


/** The longest a pass waits for changes to gather after a slow pass (see run()). */
const MAX_COALESCE_MS = 500;
/** Bookings planned at once, at most (unless one part alone is larger): about 50 ms of planning. */
const PIECE_BOOKINGS = 2000;
/** The longest the planner runs before it lets other work (keepalives, watches) run. */
const PAUSE_AFTER_MS = 20;
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export interface Fence {
  /** The election key and the create revision it had when we won. */
  key: string;
  createRevision: number;
}

export interface ReconcilerOptions {
  store: Store;
  fence: Fence;
  log: Logger;
  clock?: Clock;
  /** Periodic full pass, ms (default 60 s). */
  resyncMs?: number;
  /**
   * A cache started and kept by the caller across leadership terms (operator.ts): the term starts
   * on it as it is, with no snapshot of its own. Without it the reconciler makes, starts and stops its own.
   */
  cache?: ClusterCache;
  /** Transaction groups written in parallel (default 32). */
  parallel?: number;
  /** The user database (crds/api/nss.ts): admission's protected and duplicate rules. */
  users?: UserLookup;
  /** Unix groups by name (crds/api/nss.ts), for the pools' allowGroups. */
  groups?: GroupLookup;
  /** Resolves these users ahead, without blocking (crds/api/nss.ts prefetch), so that the pass's `users` lookups answer from memory. */
  prefetchUsers?: (names: Iterable<string>) => Promise<void>;
  /** Called when a fenced write finds that we are no longer the leader. */
  onDeposed?: () => void;
  /** Metrics hooks (the operator counts there; the reconciler only reports). */
  observer?: ReconcilerObserver;
  /** Powers a node off or on once a pass's decision to do so is written (operator/src/power/act.ts). */
  onPower?: (a: NodeAction & { power: NonNullable<NodeAction['power']> }) => void;
}

export interface ReconcilerObserver {
  /** A pass ended (successfully or not) after `seconds`. */
  pass?(seconds: number): void;
  /** A transaction committed these actions (called before the cache takes the writes in). */
  committed?(actions: Action[]): void;
  /** A transaction's compare-and-swap lost (not the fence): re-read and retried. */
  conflict?(): void;
}

export interface PassStats {
  passes: number;
  /** Passes that planned every booking (a resync, a config change, a booking free to go anywhere). */
  wholePasses: number;
  /** Bookings given to the planner, summed over passes. */
  planned: number;
  actions: number;
  txns: number;
  conflicts: number;
}

export class Reconciler {
  readonly queue = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 5_000 });
  readonly cache: ClusterCache;
  readonly stats: PassStats = { passes: 0, wholePasses: 0, planned: 0, actions: 0, txns: 0, conflicts: 0 };
  private readonly clock: Clock;
  private readonly log: Logger;
  private timer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private stopped = false;
  private deposed = false;
  /** When power saving needs a pass over a node (a wake, an idle end, a timeout): not calendar times. */
  private readonly powerDue = new NodeWakes();
  private eventSeq = 0;
  /** The time the last pass spent planning (partsOf and the planner), ms: run()'s coalescing wait. */
  private planMs = 0;
  /** The `now` of the last pass that planned: calendar times after it are still to come. */
  private plannedUpTo?: number;
  private readonly eventPrefix = randomBytes(3).toString('hex');

  constructor(private readonly opts: ReconcilerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log;
    const onChange = (ks: ChangeKey[]) => ks.forEach((k) => this.queue.add(k));
    if (opts.cache) {
      this.cache = opts.cache;
      this.cache.listen(onChange, (p) => this.reportInvalid(p));
    } else this.cache = new ClusterCache(opts.store, onChange, opts.log, undefined, (p) => this.reportInvalid(p));
  }

  async start(): Promise<void> {
    if (this.opts.cache) this.queue.add('resync'); // synced already, by the watch: the first pass covers everything
    else await this.cache.start(); // snapshot: queues 'resync', so the first pass covers everything
    this.loop = this.run();
    const every = this.opts.resyncMs ?? 60_000;
    this.resyncTimer = setInterval(() => this.queue.add('resync'), every);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await this.loop?.catch(() => undefined);
    if (this.opts.cache) this.cache.listen(); // the next term's, still current
    else await this.cache.stop();
  }

  /** An ignored stored value (a Node, the ClusterConfig, a status): an event on the object its key names. */
  private reportInvalid(p: DecodeProblem): void {
    if (!p.ref || this.deposed) return; // a key that names no object: the cache's log line is all
    const ev: KiwiEvent = { time: new Date(this.clock.now()).toISOString(), kind: p.ref.kind, name: p.ref.name, ...(p.ref.namespace ? { namespace: p.ref.namespace } : {}), type: 'Warning', reason: 'Invalid', message: `ignored: ${p.problem}`, source: 'kiwi-operator' };
    this.opts.store.recordEvent(ev).catch((err) => this.log.warn({ err, key: p.key }, 'could not record the event of an invalid value'));
  }

  private async run(): Promise<void> {
    let lastPassMs = 0;
    for (;;) {
      // Under a stream of changes, passes one key apart would each pay a pass's fixed costs
      // (and a whole pass, when the scope is everything, costs O(bookings)). Waiting as long as
      // the last pass planned (its CPU, at most MAX_COALESCE_MS) lets changes gather into one
      // batch: planning stays at most half the time. Not its writes' round trips: on an idle
      // cluster a pass plans for well under a millisecond and waits ~1-5 ms for etcd, and
      // waiting that again made every booking right after another wait twice (issue 22).
      const planMs = this.planMs;
      if (planMs > 1) await new Promise((r) => setTimeout(r, Math.min(planMs, MAX_COALESCE_MS)));
      const batch = await this.queue.getBatch();
      if (!batch || this.stopped) return;
      const t0 = performance.now();
      this.planMs = 0;
      try {
        await this.pass(new Set(batch));
      } catch (err) {
        this.log.error({ err, keys: batch.slice(0, 10) }, 'pass failed; retrying with backoff');
        for (const k of batch) this.queue.addRateLimited(k);
      } finally {
        for (const k of batch) this.queue.done(k);
        lastPassMs = performance.now() - t0;
        this.opts.observer?.pass?.(lastPassMs / 1000);
      }
    }
  }

  /**
   * One pass: plan what the batch can affect and write what differs. The affected part is cut
   * into pieces that share no node, planned one after another with a pause in between, so that
   * a pass over 100,000 bookings never holds the event loop long enough to miss a lease
   * keepalive (the planner is synchronous).
   */
  async pass(batch: Set<string>): Promise<void> {
    if (this.deposed) return;
    this.stats.passes++;
    const since = this.clock.now();
    const asOf = this.cache.revision; // what the parts were computed from
    const tParts = performance.now();
    const parts = this.partsOf(batch, since);
    this.planMs += performance.now() - tParts;
    if (parts === 'all' || parts.whole) this.stats.wholePasses++;
    let nextWake = this.cache.index.nextTime(since); // a scoped plan knows only its own calendars' times
    if (parts === 'all' || parts.whole) this.powerDue.clear();
    for (const part of parts === 'all' ? [undefined] : pieces(parts.scopes)) {
      if (this.deposed || this.stopped) return;
      const slice = part ? this.cache.slice(part, asOf) : undefined;
      if (part && !slice) {
        // A booking of this piece changed while earlier pieces were planned: a later pass plans it, scoped anew.
        for (const k of part.bookings) this.queue.add(`booking:${k}`);
        for (const n of part.nodes) this.queue.add(`node:${n}`);
        continue;
      }
      // The planner is synchronous: a user it has to ask getent about would block it (and the lease) per name.
      if (this.opts.prefetchUsers) await this.opts.prefetchUsers(usersOf(slice?.bookings ?? this.cache.bookings()));
      const input = this.planInput(this.clock.now(), slice);
      this.stats.planned += input.bookings.length;
      const t0 = performance.now();
      const planned = await this.planPausing(input);
      this.planMs += performance.now() - t0;
      nextWake = min(nextWake, planned.nextWake);
      this.powerDue.planned(input.nodes.keys(), planned.nodeWakes);
      await this.write(planned.actions, input, batch);
      await new Promise((r) => setImmediate(r));
    }
    this.plannedUpTo = since;
    nextWake = min(nextWake, this.powerDue.next());
    if (this.timer) clearTimeout(this.timer);
    if (nextWake !== undefined && !this.stopped) {
      this.timer = setTimeout(() => this.queue.add('timer'), Math.min(Math.max(nextWake - this.clock.now(), 0) + 1, 2 ** 31 - 1));
    }
  }

  /**
   * plan(input), pausing every PAUSE_AFTER_MS so that lease keepalives and watches run: a part
   * can be large (a booking free to go on any node makes the whole cluster one part).
   */
  private async planPausing(input: PlanInput): Promise<PlanResult> {
    const steps = planSteps(input);
    let since = performance.now();
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() - since < PAUSE_AFTER_MS) continue;
      await new Promise((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }

  /** Writes the actions as fenced, compare-and-swapped transactions. */
  private async write(actions: Action[], input: PlanInput, batch: Set<string>): Promise<void> {
    // A key waiting out its backoff is left for its turn, unless this batch is its turn; and
    // with it its group (what must be written in order with it: a start after an expiry).
    const waits = (a: Action) => {
      const k = actionKey(a);
      return !batch.has(k) && !batch.has('resync') && this.queue.isBackingOff(k);
    };
    const ready = groupActions(actions).filter((g) => !g.some(waits));
    if (!ready.length) return;
    const ledgers = new Map<string, Ledger>();
    for (const [n, av] of input.accounts ?? []) if (av.ledger) ledgers.set(n, av.ledger);
    const groups = ready.map((g) => chunkGroup(g, input.calendars, undefined, ledgers));
    // Independent single-transaction groups share transactions; the rest go in order.
    const work = [...packChunks(groups.filter((g) => g.length === 1).map((g) => g[0])).map((c) => [c]), ...groups.filter((g) => g.length > 1)];
    this.stats.actions += ready.reduce((n, g) => n + g.length, 0);
    await this.runLimited(work, (chunks) => this.writeGroup(chunks, input));
  }

  /**
   * The parts of the cluster this batch can affect: the closure of the changed bookings and
   * nodes and of the nodes whose calendars reach a start or an end since the last pass, cut into
   * parts that share nothing. A resync, a config change or the first pass covers every booking
   * and node (`whole`). 'all': one part is everything (a booking free to go on any node).
   */
  private partsOf(batch: Set<string>, now: number): { scopes: Scope[]; whole: boolean } | 'all' {
    const index = this.cache.index;
    // Pool limits and orders tie a user's bookings on any node together: with pools, passes are whole.
    if (this.cache.pools().length) return 'all';
    if (this.plannedUpTo === undefined || batch.has('resync') || batch.has('config')) {
      const scopes = index.components(this.cache.bookingKeys(), [...this.cache.nodes().keys(), ...this.cache.calendars.keys()]);
      return scopes ? { scopes, whole: true } : 'all';
    }
    const bookings: string[] = [];
    const nodes = index.due(this.plannedUpTo, now);
    nodes.push(...this.powerDue.due(now));
    for (const k of batch) {
      const i = k.indexOf(':');
      const kind = k.slice(0, i);
      if (kind === 'booking') bookings.push(k.slice(i + 1));
      else if (kind === 'account') bookings.push(...this.cache.waitersOf(k.slice(i + 1)));
      else if (kind === 'node' || kind === 'heartbeat' || kind === 'calendar') nodes.push(k.slice(i + 1));
    }
    const scopes = index.components(bookings, nodes);
    if (scopes) this.log.debug({ changed: batch.size, parts: scopes.length, bookings: scopes.reduce((n, s) => n + s.bookings.size, 0) }, 'pass scope');
    return scopes ? { scopes, whole: false } : 'all';
  }

  /** What a pass plans (planInputOf: the dry run plans the same). */
  planInput(now: number, slice?: PlanInputOptions['slice']): PlanInput {
    return planInputOf(this.cache, { now, users: this.opts.users, groups: this.opts.groups, ...(slice ? { slice } : {}) });
  }

  private async runLimited<T>(items: T[], fn: (t: T) => Promise<void>): Promise<void> {
    let i = 0;
    const n = Math.min(this.opts.parallel ?? 32, items.length);
    await Promise.all(Array.from({ length: n }, async () => {
      while (i < items.length && !this.deposed) await fn(items[i++]);
    }));
  }

  /** A group's chunks in order; the first that fails stops the group (the next pass re-plans). */
  private async writeGroup(chunks: TxnChunk[], input: PlanInput): Promise<void> {
    const calRev = new Map<string, number>();
    const ledgerRev = new Map<string, number>();
    for (const c of chunks) {
      for (const n of c.calendars.keys()) if (!calRev.has(n)) calRev.set(n, input.calendars.get(n)?.modRevision ?? 0);
      for (const n of c.ledgers.keys()) if (!ledgerRev.has(n)) ledgerRev.set(n, input.accounts?.get(n)?.statusRevision ?? 0);
      if (!c.valid) {
        this.log.error({ actions: c.actions.map(actionKey) }, 'refusing to write a transaction that would leave a calendar overlapping; will re-plan');
        for (const a of c.actions) this.queue.addRateLimited(actionKey(a));
        return;
      }
      const ok = await this.writeChunk(c, calRev, ledgerRev, input);
      if (!ok) return;
    }
  }

  private async writeChunk(c: TxnChunk, calRev: Map<string, number>, ledgerRev: Map<string, number>, input: PlanInput): Promise<boolean> {
    const { store, fence } = this.opts;
    const cmp: Compare[] = [compare(fence.key, 'Create', 'Equal', fence.createRevision)];
    const ops: IRequestOp[] = [];
    const writes: { key: string; value: unknown }[] = [];
    const touched: string[] = [];
    for (const [n, entries] of c.calendars) {
      const k = keys.calendar(n);
      cmp.push(compare(k, 'Mod', 'Equal', calRev.get(n)!));
      const value: Calendar = { node: n, entries };
      ops.push(putOp(k, value));
      writes.push({ key: k, value });
      touched.push(k);
    }
    // The ledgers, compare-and-swapped like the calendars: a reserve is taken only from the ledger planned on.
    for (const [name, l] of c.ledgers) {
      const k = keys.status({ kind: 'Account', name });
      const av = input.accounts?.get(name);
      cmp.push(compare(k, 'Mod', 'Equal', ledgerRev.get(name)!));
      const value = encodeLedger(l, av ? allocationMilli(av.account) : undefined);
      ops.push(putOp(k, value));
      writes.push({ key: k, value });
      touched.push(keys.spec({ kind: 'Account', name }), k);
    }
    for (const a of c.actions) {
      if (a.kind === 'booking') {
        const ref = { kind: 'Booking' as const, namespace: a.namespace, name: a.name };
        const sk = keys.spec(ref);
        const stk = keys.status(ref);
        touched.push(sk, stk);
        if (a.specRevision > 0) {
          cmp.push(compare(sk, 'Mod', 'Equal', a.specRevision), compare(stk, 'Mod', 'Equal', a.statusRevision));
        } else {
          cmp.push(compare(sk, 'Create', 'Equal', 0));
        }
        if (a.status) {
          ops.push(putOp(stk, a.status));
          writes.push({ key: stk, value: a.status });
        }
      } else {
        const ref = { kind: 'Node' as const, name: a.name };
        const stk = keys.status(ref);
        touched.push(keys.spec(ref), stk);
        cmp.push(compare(keys.spec(ref), 'Create', 'Greater', 0), compare(stk, 'Mod', 'Equal', a.statusRevision));
        if (a.heartbeatRevision !== undefined) {
          // A NotReady: lost when a beat landed after the cache judged the key stale (the refresh reads it).
          cmp.push(compare(keys.heartbeat(a.name), 'Mod', 'Equal', a.heartbeatRevision));
          touched.push(keys.heartbeat(a.name));
        }
        ops.push(putOp(stk, a.status));
        writes.push({ key: stk, value: a.status });
      }
      for (const ev of a.events) ops.push(store.eventOp(ev, `${String(++this.eventSeq).padStart(8, '0')}${this.eventPrefix}`));
    }
    this.stats.txns++;
    let r;
    try {
      r = await store.txn('write plan', cmp, ops, [rangeOp(fence.key)]);
    } catch (err) {
      this.log.error({ err, actions: c.actions.map(actionKey) }, 'transaction failed; retrying with backoff');
      for (const a of c.actions) this.queue.addRateLimited(actionKey(a));
      return false;
    }
    if (r.succeeded) {
      const rev = Number(r.header.revision);
      this.opts.observer?.committed?.(c.actions);
      this.cache.applyLocal(rev, writes);
      for (const a of c.actions) if (a.kind === 'node' && a.power) this.opts.onPower?.({ ...a, power: a.power });
      for (const n of c.calendars.keys()) calRev.set(n, rev);
      for (const n of c.ledgers.keys()) ledgerRev.set(n, rev);
      for (const a of c.actions) {
        this.queue.forget(actionKey(a));
        this.log.info(
          a.kind === 'booking'
            ? { booking: a.key, transition: a.transition, phase: a.status?.phase, nodes: a.status?.nodes?.slice(0, 8), start: a.status?.startTime, end: a.status?.endTime, revision: rev }
            : { node: a.name, transition: a.transition, revision: rev },
          a.kind === 'booking' ? `booking ${a.key}: ${a.transition}` : `node ${a.name}: ${a.transition}`,
        );
      }
      return true;
    }
    const leader = r.responses[0]?.response_range.kvs[0];
    if (!leader || Number(leader.create_revision) !== this.opts.fence.createRevision) {
      this.deposed = true;
      this.log.warn({ fence: this.opts.fence }, 'a fenced write found another leader (or none): stepping down');
      this.opts.onDeposed?.();
      return false;
    }
    this.stats.conflicts++;
    this.opts.observer?.conflict?.();
    this.log.debug({ actions: c.actions.map(actionKey) }, 'compare-and-swap lost; re-reading and retrying');
    for (const a of c.actions) this.queue.addRateLimited(actionKey(a));
    await this.cache.refresh(touched).catch((err) => this.log.warn({ err }, 'refresh failed'));
    return false;
  }
}

/** Parts that share nothing, gathered into pieces of about PIECE_BOOKINGS bookings. */
function pieces(parts: Scope[]): Scope[] {
  const out: Scope[] = [];
  let cur: Scope | undefined;
  for (const p of parts) {
    if (!cur || cur.bookings.size + p.bookings.size > PIECE_BOOKINGS) {
      if (cur) out.push(cur);
      cur = { bookings: new Set(p.bookings), nodes: new Set(p.nodes) };
      continue;
    }
    for (const k of p.bookings) cur.bookings.add(k);
    for (const n of p.nodes) cur.nodes.add(n);
  }
  if (cur) out.push(cur);
  return out;
}

/** The users of these bookings (a booking's user is the namespace of its key). */
function* usersOf(bookings: Iterable<{ key: string }>): Iterable<string> {
  for (const b of bookings) yield b.key.slice(0, b.key.indexOf('/'));
}

function min(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

export function actionKey(a: Action): string {
  return a.kind === 'booking' ? `booking:${a.key}` : `node:${a.name}`;
}

