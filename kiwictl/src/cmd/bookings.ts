// What the booking verbs (alloc, run, kill, extend, wait, drain) share: who the caller is and
// whether they may act for others, finding a booking by name, compare-and-swap spec changes,
// and watching one booking until a predicate holds. Light imports only; etcd3 comes in
// through ctx.client.store(), only where KIWI_WRITE_VIA/KIWI_READ_VIA=etcd3 ask for it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { isAdmin } from '../../../crds/api/users.js';
import type { Booking, ClusterConfig, KindName, ObjectOfKind } from '../../../crds/api/types.js';
import { ForbiddenError, InvalidError, NotFoundError, TimeoutError } from '../../../crds/api/errors.js';
import type { ObjectRef } from '../../../crds/api/keys.js';
import { guaranteedUpdate } from '../../../crds/api/update.js';
import { CLUSTER_CONFIG_NAME } from '../../../crds/api/config.js';
import { parseDuration } from '../../../crds/api/duration.js';
import type { Reader } from '../client/reader.js';
import { InterruptedError } from '../errors.js';
import type { Ctx } from './verb.js';

/** The user running kiwictl. */
export function callerName(): string {
  return userInfo().username;
}


export async function readConfig(reader: Reader): Promise<ClusterConfig | undefined> {
  return reader.get({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME });
}

/** Refuses unless the caller is an admin (a client-side check until etcd auth arrives). */
export async function requireAdmin(reader: Reader, what: string): Promise<void> {
  const caller = callerName();
  if (isAdmin(caller, (await readConfig(reader))?.spec?.admins, process.getuid?.())) return;
  throw new ForbiddenError(`${what} is for admins (root, or a user in ClusterConfig default's admins); you are ${caller}`);
}

/** Refuses acting on another user's booking unless the caller is an admin. */
export async function requireOwnerOrAdmin(reader: Reader, b: Booking, verb: string): Promise<void> {
  const caller = callerName();
  if (b.metadata.namespace === caller) return; // a booking's user is its namespace
  if (isAdmin(caller, (await readConfig(reader))?.spec?.admins, process.getuid?.())) return;
  throw new ForbiddenError(
    `booking ${b.metadata.namespace}/${b.metadata.name} belongs to ${b.metadata.namespace}; only they or an admin (root, or ClusterConfig admins) may ${verb} it`,
  );
}

/**
 * The client-side check of every verb that writes objects (apply, delete, edit, label, annotate,
 * as kill, extend and cordon check): a user writes only bookings in their own namespace; nodes,
 * the cluster config and other users' bookings are for admins. A friendly early refusal (exit 7);
 * etcd's roles are what enforce it.
 */
export async function requireMayWrite(reader: Reader, refs: ObjectRef[], verb: string): Promise<void> {
  const caller = callerName();
  const foreign = refs.filter((r) => !(r.kind === 'Booking' && r.namespace === caller));
  if (!foreign.length) return;
  if (isAdmin(caller, (await readConfig(reader))?.spec?.admins, process.getuid?.())) return;
  const r = foreign[0];
  const more = foreign.length > 1 ? ` (and ${foreign.length - 1} more object${foreign.length > 2 ? 's' : ''})` : '';
  if (r.kind === 'Booking')
    throw new ForbiddenError(`${verb} booking ${r.namespace}/${r.name}${more}: it belongs to ${r.namespace}; only they or an admin (root, or ClusterConfig admins) may ${verb} it; you are ${caller} (your bookings go in namespace ${caller})`);
  throw new ForbiddenError(`${verb} ${r.kind === 'Node' ? `node ${r.name}` : `clusterconfig ${r.name}`}${more}: that is for admins (root, or a user in ClusterConfig default's admins); you are ${caller}`);
}

/**
 * Whether a Unix user exists on this machine: `getent passwd` (so LDAP/SSSD users count), or
 * /etc/passwd where getent is missing.
 */
export function userExists(name: string): boolean {
  try {
    execFileSync('getent', ['passwd', name], { stdio: ['ignore', 'pipe', 'ignore'] });
    return true;
  } catch (e: any) {
    if (e?.code !== 'ENOENT') return false; // getent ran and found nobody (exit 2)
  }
  try {
    return readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.split(':')[0] === name);
  } catch {
    return false;
  }
}

export function bookingRef(namespace: string, name: string): ObjectRef & { kind: 'Booking' } {
  return { kind: 'Booking', namespace, name };
}

/**
 * Finds a booking by NAME (in -n NAMESPACE, else the caller's namespace, else the only booking
 * of that name in any namespace) or NAMESPACE/NAME.
 */
export async function findBooking(reader: Reader, arg: string, namespace?: string): Promise<Booking> {
  if (!arg) throw new InvalidError('a BOOKING name is required (see `kiwictl get bookings`)');
  const slash = arg.indexOf('/');
  if (slash > 0) {
    const ns = arg.slice(0, slash);
    const name = arg.slice(slash + 1);
    if (namespace && namespace !== ns) throw new InvalidError(`booking ${arg} is in namespace ${ns}, but -n says ${namespace}`);
    const b = await reader.get(bookingRef(ns, name));
    if (!b) throw new NotFoundError(`booking ${arg} not found; see \`kiwictl get bookings -A\``);
    return b;
  }
  const ns = namespace ?? callerName();
  const own = await reader.get(bookingRef(ns, arg));
  if (own) return own;
  if (namespace) throw new NotFoundError(`booking "${arg}" not found in namespace ${namespace}; see \`kiwictl get bookings -n ${namespace}\``);
  const all = (await reader.list('Booking')).filter((b) => b.metadata.name === arg);
  if (all.length === 1) return all[0];
  if (all.length > 1)
    throw new InvalidError(`${all.length} bookings are named "${arg}" (${all.map((b) => `${b.metadata.namespace}/${arg}`).join(', ')}); say which: NAMESPACE/NAME or -n NAMESPACE`);
  throw new NotFoundError(`booking "${arg}" not found (looked in namespace ${ns} and all others); see \`kiwictl get bookings -A\``);
}

/**
 * Reads the object, lets `change` edit a copy (return false: nothing to do), and writes it with
 * a compare-and-swap on its resourceVersion, re-reading and retrying when somebody else wrote
 * first. Returns the written object (with its new generation), or the unchanged one.
 */
export async function updateSpec<K extends KindName>(
  ctx: Ctx,
  ref: ObjectRef & { kind: K },
  change: (obj: ObjectOfKind<K>) => boolean,
): Promise<{ object: ObjectOfKind<K>; changed: boolean }> {
  return guaranteedUpdate(await ctx.client.writer(), ref, change);
}

export interface WatchOptions {
  /** ms; undefined waits for ever. */
  timeoutMs?: number;
  /** Ctrl-C. */
  signal?: AbortSignal;
  /** What is waited for, for the timeout message. */
  what: string;
}

/**
 * Watches one object (spec and status) and calls `check` with its current state, then on every
 * change, until `check` returns a value (not undefined): that value is returned. The object is
 * undefined once deleted. Times out with TimeoutError (exit 8); Ctrl-C gives InterruptedError.
 */
export async function watchUntil<K extends KindName, T>(
  ctx: Ctx,
  ref: ObjectRef & { kind: K },
  check: (obj: ObjectOfKind<K> | undefined) => T | undefined,
  o: WatchOptions,
): Promise<T> {
  let finish!: (v: T) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<T>((res, rej) => ((finish = res), (fail = rej)));
  let settled = false;
  const look = (obj: ObjectOfKind<K> | undefined) => {
    if (settled) return;
    try {
      const v = check(obj);
      if (v !== undefined) {
        settled = true;
        finish(v);
      }
    } catch (e) {
      settled = true;
      fail(e as Error);
    }
  };
  const onError = (err: Error) => ctx.err(`warning: watch interrupted (${err.message.split('\n')[0]}); resuming\n`);
  const watch = await watchObject(ctx, ref, look, (e) => {
    if (settled) return;
    settled = true;
    fail(e);
  }, onError);
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    if (settled) return;
    settled = true;
    fail(new InterruptedError(`interrupted while waiting for ${o.what}`));
  };
  if (o.timeoutMs !== undefined)
    timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      fail(new TimeoutError(`timed out after ${formatMs(o.timeoutMs!)} waiting for ${o.what}`));
    }, o.timeoutMs);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) onAbort();
  try {
    await Promise.race([watch.start(), done]);
    return await done;
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    await watch.stop();
  }
}

/**
 * One object's changes: over wire.ts, watching only its spec and status keys (client/watch.ts),
 * or, where the client is set to etcd3 (KIWI_WRITE_VIA/KIWI_READ_VIA=etcd3), the Store's
 * Informer over the object's namespace.
 */
async function watchObject<K extends KindName>(
  ctx: Ctx,
  ref: ObjectRef & { kind: K },
  look: (obj: ObjectOfKind<K> | undefined) => void,
  fail: (e: Error) => void,
  onError: (e: Error) => void,
): Promise<{ start(): Promise<void>; stop(): void | Promise<void> }> {
  const reader = await ctx.client.watcher();
  if (reader) {
    const { ObjectWatch } = await import('../client/watch.js');
    return new ObjectWatch(reader, ref, { onObject: look, onInvalid: fail, onError });
  }
  const store = await ctx.client.store();
  const { Informer } = await import('../../../crds/api/informer.js');
  const path = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
  const informer = new Informer(store, ref.kind, {
    namespace: ref.namespace,
    onSync: () => look(informer.get(path)),
    onEvent: (ev) => {
      if (ev.object.metadata.name === ref.name) look(ev.type === 'DELETED' ? undefined : ev.object);
    },
    onError,
  });
  return informer;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** --timeout as a duration (30s, 5m, 90) -> ms; "0" or absent: undefined (no limit). */
export function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined || text === '0' || text === '') return undefined;
  try {
    return parseDuration(text) * 1000;
  } catch (e) {
    throw new InvalidError(`--timeout ${text}: ${(e as Error).message}`);
  }
}

/** Timers, injectable for tests. */
export interface Ticker {
  every(ms: number, fn: () => void): () => void;
}
const realTicker: Ticker = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref?.();
    return () => clearInterval(t);
  },
};

/**
 * A live status line: on a terminal one line redrawn in place; otherwise a line per change.
 * `follow` redraws it every second on a terminal, so that "in 25s" counts down while nothing
 * else changes.
 */
export class StatusLine {
  private last = '';
  private drawn = false;
  private render?: () => string;
  private stop?: () => void;
  constructor(
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
    private readonly ticker: Ticker = realTicker,
  ) {}

  show(line: string): void {
    if (line === this.last) return;
    this.last = line;
    if (this.tty) {
      this.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else this.write(line + '\n');
  }

  /** Shows render() now and, on a terminal, again every second until done(). */
  follow(render: () => string): void {
    this.render = render;
    this.show(render());
    if (this.tty && !this.stop) this.stop = this.ticker.every(1000, () => this.render && this.show(this.render()));
  }

  /** Ends the redrawn line so that what follows starts on a fresh one. */
  done(): void {
    this.stop?.();
    this.stop = undefined;
    this.render = undefined;
    if (this.drawn) this.write('\n');
    this.drawn = false;
  }
}
