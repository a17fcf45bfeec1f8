// The key layout in etcd (DESIGN.md, "Keys in etcd"). Every key Kiwi reads or writes is made here,
// and so is the one identity derived from a key: the entry uid calendars and daemons go by.
import { createHash, randomBytes } from 'node:crypto';
import type { KindName } from './types.js';
import { kindInfo } from './kinds.js';

export const ROOT = '/kiwi/';

export interface ObjectRef {
  kind: KindName;
  name: string;
  namespace?: string;
}

function path(kind: KindName, name?: string, namespace?: string): string {
  const info = kindInfo(kind);
  let p = info.plural + '/';
  if (info.namespaced && namespace !== undefined) p += namespace + '/';
  if (name !== undefined) p += name;
  return p;
}

export const keys = {
  spec: (r: ObjectRef) => ROOT + 'spec/' + path(r.kind, r.name, r.namespace),
  status: (r: ObjectRef) => ROOT + 'status/' + path(r.kind, r.name, r.namespace),
  /** Prefix of all spec keys of a kind, or of one namespace of it. */
  specPrefix: (kind: KindName, namespace?: string) => ROOT + 'spec/' + path(kind, undefined, namespace),
  statusPrefix: (kind: KindName, namespace?: string) => ROOT + 'status/' + path(kind, undefined, namespace),
  calendar: (node: string) => ROOT + 'calendars/nodes/' + node,
  calendarPrefix: () => ROOT + 'calendars/nodes/',
  heartbeat: (node: string) => ROOT + 'heartbeats/nodes/' + node,
  heartbeatPrefix: () => ROOT + 'heartbeats/nodes/',
  election: () => ROOT + 'election/operator',
  /** Events of one object; the suffix (time and a counter) keeps them in order. */
  eventPrefix: (r: ObjectRef) => ROOT + 'events/' + path(r.kind, r.name, r.namespace) + '/',
  event: (r: ObjectRef, suffix: string) => keys.eventPrefix(r) + suffix,
  eventsRoot: () => ROOT + 'events/',
  /**
   * Usage records sort by the time they are filed at (RFC 3339 with milliseconds, UTC: fixed
   * width), then namespace and name: a period is one range read, and old ones go first.
   * Outside /kiwi/spec/, so the operator's cache and every informer never load them.
   */
  usagePrefix: () => ROOT + 'usage/',
  usage: (filedAt: string, namespace: string, name: string) => ROOT + 'usage/' + filedAt + '/' + namespace + '/' + name,
  /**
   * Notifications (operator/src/notify): what each booking's user was last told (the cursor), and
   * the outbox of events not yet delivered, one key per sink and event (the event's idempotency
   * key). Written only by the leading operator, outside /kiwi/spec/, so no informer loads them.
   */
  notifySeenPrefix: () => ROOT + 'notify/seen/',
  notifySeen: (namespace: string, name: string) => ROOT + 'notify/seen/' + namespace + '/' + name,
  outboxPrefix: () => ROOT + 'notify/outbox/',
  outbox: (sink: string, id: string) => ROOT + 'notify/outbox/' + sink + '/' + id,
  /** The operator's mark on a user whose write grants it revoked (operator/src/grants); written by the operator only. */
  revoked: (user: string) => ROOT + 'grants/revoked/' + user,
  revokedPrefix: () => ROOT + 'grants/revoked/',
};

/** Kinds by the plural their keys use (refFromKey runs for every key of a snapshot). */
const KIND_OF_PLURAL = new Map((['Booking', 'Node', 'ClusterConfig', 'Pool', 'Account', 'Subscription', 'BookingSchedule'] as KindName[]).map((k) => [kindInfo(k).plural, k]));

/** Parses a spec or status key back into the object it names. */
export function refFromKey(key: string): (ObjectRef & { part: 'spec' | 'status' }) | undefined {
  const m = /^\/kiwi\/(spec|status)\/([a-z]+)\/(.+)$/.exec(key);
  if (!m) return undefined;
  const [, part, plural, rest] = m;
  const kind = KIND_OF_PLURAL.get(plural);
  if (!kind) return undefined;
  const segs = rest.split('/');
  if (kindInfo(kind).namespaced) {
    if (segs.length !== 2) return undefined;
    return { part: part as 'spec' | 'status', kind, namespace: segs[0], name: segs[1] };
  }
  if (segs.length !== 1) return undefined;
  return { part: part as 'spec' | 'status', kind, name: segs[0] };
}

/** An object's name (a Node's, a Booking's, the ClusterConfig's): a DNS-1123 subdomain. */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const NAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A new Booking's name when none is given (kiwictl alloc, kiwi-web): bk-<5 lower-case letters and digits>. */
export function randomName(bytes: Uint8Array = randomBytes(5)): string {
  let s = 'bk-';
  for (let i = 0; i < 5; i++) s += NAME_ALPHABET[bytes[i] % NAME_ALPHABET.length];
  return s;
}

/** A Unix user name, as a Booking's namespace and spec.user. */
export const USER_PATTERN = /^[a-z_][a-z0-9_.-]*[$]?$/;

/** Can this be one segment of an object's key (a name, or a Booking's namespace)? */
export function isKeySegment(s: string, what: 'name' | 'user'): boolean {
  return what === 'name' ? s.length <= 253 && NAME_PATTERN.test(s) : s.length <= 32 && USER_PATTERN.test(s);
}

export function refString(r: ObjectRef): string {
  return r.namespace ? `${r.namespace}/${r.name}` : r.name;
}

/** The end of the range of all keys that start with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  let i = b.length - 1;
  while (i >= 0 && b[i] === 0xff) i--;
  const end = Buffer.from(b.subarray(0, i + 1));
  end[i]++;
  return end;
}

/**
 * What an entry uid (the id calendars, the daemons and cgroup names use for one booking's life)
 * looks like: lower-case letters, digits and "-", at most 63, nothing that could name a path
 * ("." or "..", "/"). Never taken from a stored value: see entryUid().
 */
export const ENTRY_UID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isEntryUid(s: unknown): s is string {
  return typeof s === 'string' && ENTRY_UID_PATTERN.test(s);
}

/**
 * The uid of the object stored under `specKey` since etcd created that key at `createRevision`:
 * derived from etcd, never from the value (a user could copy an older booking's uid into theirs).
 * The create revision alone is not enough (one transaction creates many keys at one revision),
 * so a hash of the key goes with it. A booking deleted and created again gets a new one.
 */
export function entryUid(specKey: string, createRevision: number | string): string {
  return `${Number(createRevision)}-${createHash('sha256').update(specKey).digest('hex').slice(0, 16)}`;
}
