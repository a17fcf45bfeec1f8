// The store: Kiwi objects over etcd, with the key layout of keys.ts. Spec and status live
// under separate keys (a status subresource); resourceVersion is the spec key's mod_revision
// and every spec update is a compare-and-swap on it. Transient etcd errors are retried with
// backoff; a lost compare-and-swap is a ConflictError and is never retried here.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Etcd3, IKeyValue, IRequestOp, IResponseOp } from 'etcd3';
import type { IPolicy } from 'cockatiel';
import type { KiwiObject, KindName, ObjectOfKind, KiwiEvent } from './types.js';
import { kindInfo } from './kinds.js';
import { entryUid, keys, prefixEnd, refString, type ObjectRef } from './keys.js';
import { AlreadyExistsError, ConflictError, ForbiddenError, InvalidError, NotFoundError, UnavailableError, KiwiError } from './errors.js';
import { isTransient, retryPolicy } from './retry.js';
import { rfc3339 } from './time.js';
import { decodeObject, parseValue, rawKv, unreadableError, type DecodeProblem } from './decode.js';
import type { Requirement } from './selector.js';
import { matches } from './selector.js';

export interface Stored<T extends KiwiObject = KiwiObject> {
  object: T;
  specRevision: number;
  /** mod_revision of the status key, 0 when there is no status yet. */
  statusRevision: number;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

const enc = (s: string) => Buffer.from(s);

/** etcd's default --max-txn-ops: the most operations one transaction may hold. */
export const MAX_TXN_OPS = 128;


export function rangeOp(key: string, prefix = false, revision?: number): IRequestOp {
  return { request_range: { key: enc(key), ...(prefix ? { range_end: prefixEnd(key) } : {}), ...(revision ? { revision } : {}) } };
}
export function putOp(key: string, value: unknown, lease?: string): IRequestOp {
  return { request_put: { key: enc(key), value: enc(JSON.stringify(value)), ...(lease ? { lease } : {}) } };
}
export function deleteOp(key: string, prefix = false): IRequestOp {
  return { request_delete_range: { key: enc(key), ...(prefix ? { range_end: prefixEnd(key) } : {}) } };
}
export type Compare = { key: string; target: 'Mod' | 'Create' | 'Version'; result: 'Equal' | 'Less' | 'Greater'; value: number };
export function compare(key: string, target: Compare['target'], result: Compare['result'], value: number): Compare {
  return { key, target, result, value };
}

/** What is stored under a spec key: the object without status, resourceVersion and generation (etcd's revision and version say those). */
function specValue(obj: KiwiObject): { metadata: object } {
  const { resourceVersion: _rv, generation: _g, ...meta } = obj.metadata;
  const { status: _status, ...rest } = obj as KiwiObject & { status?: unknown };
  return { ...rest, metadata: meta };
}

/** Options of a listing: one namespace, a label selector, and what to do with a key that is not a valid object. */
export interface ListOptions {
  namespace?: string;
  selector?: Requirement[];
  /** Called for each key skipped because its value is not a valid object (see decode.ts). */
  onInvalid?: (p: DecodeProblem) => void;
}

export class Store {
  private readonly policy: IPolicy;

  constructor(
    readonly etcd: Etcd3,
    private readonly opts: { endpoints?: string[]; retries?: number } = {},
  ) {
    this.policy = retryPolicy(opts.retries ?? 3);
  }

  /** Runs one etcd call under the retry policy and turns etcd's errors into Kiwi's. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(fn);
    } catch (err) {
      throw this.translate(err, what);
    }
  }

  translate(err: unknown, what: string): Error {
    if (err instanceof KiwiError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    if (/permission denied/i.test(msg)) return new ForbiddenError(`${what}: permission denied by etcd (${msg})`);
    if (isTransient(err)) {
      const where = this.opts.endpoints?.join(',') ?? 'the configured endpoints';
      return new UnavailableError(
        `${what}: etcd at ${where} did not answer (${msg.split('\n')[0]}). Is it running? For a local trial run "kiwictl dev up"; otherwise set --endpoints or KIWI_ENDPOINTS.`,
      );
    }
    return err instanceof Error ? err : new Error(msg);
  }

  /** One transaction: all compares hold, then `success` runs; otherwise `failure`. */
  async txn(what: string, compares: Compare[], success: IRequestOp[], failure: IRequestOp[] = [], attempts?: { n: number }) {
    return this.call(what, () => {
      if (attempts) attempts.n++;
      return this.etcd.kv.txn({
        compare: compares.map((c) => ({
          key: enc(c.key),
          target: c.target,
          result: c.result,
          ...(c.target === 'Mod' ? { mod_revision: c.value } : c.target === 'Create' ? { create_revision: c.value } : { version: c.value }),
        })) as any,
        success,
        failure,
      });
    });
  }

  /** One object with its revisions; an InvalidError naming the key when its stored value is not a valid object. */
  async getStored<K extends KindName>(ref: ObjectRef & { kind: K }): Promise<Stored<ObjectOfKind<K>> | undefined> {
    const r = await this.txn(`get ${ref.kind} ${refString(ref)}`, [], [rangeOp(keys.spec(ref)), rangeOp(keys.status(ref))]);
    const spec = r.responses[0].response_range.kvs[0];
    if (!spec) return undefined;
    const status = r.responses[1].response_range.kvs[0];
    const d = decodeObject(ref.kind, rawKv(spec), status ? rawKv(status) : undefined);
    if (!d.ok) throw unreadableError(ref, d);
    return { object: d.object, specRevision: d.specRevision, statusRevision: d.statusRevision };
  }

  async get<K extends KindName>(ref: ObjectRef & { kind: K }): Promise<ObjectOfKind<K> | undefined> {
    return (await this.getStored(ref))?.object;
  }

  async mustGet<K extends KindName>(ref: ObjectRef & { kind: K }): Promise<ObjectOfKind<K>> {
    const o = await this.get(ref);
    if (!o) throw notFound(ref);
    return o;
  }

  /**
   * Lists a kind (one namespace, or all), spec and status read at one revision. Each key is
   * decoded on its own: one whose value is not a valid object is left out (`invalid`, and
   * opts.onInvalid), never failing the listing.
   */
  async listStored<K extends KindName>(kind: K, opts: ListOptions = {}): Promise<{ items: Stored<ObjectOfKind<K>>[]; invalid: DecodeProblem[]; revision: number }> {
    const r = await this.txn(`list ${kindInfo(kind).plural}`, [], [
      rangeOp(keys.specPrefix(kind, opts.namespace), true),
      rangeOp(keys.statusPrefix(kind, opts.namespace), true),
    ]);
    const statuses = new Map<string, IKeyValue>();
    const sp = keys.statusPrefix(kind).length;
    for (const kv of r.responses[1].response_range.kvs) statuses.set(kv.key.toString().slice(sp), kv);
    const specLen = keys.specPrefix(kind).length;
    const items: Stored<ObjectOfKind<K>>[] = [];
    const invalid: DecodeProblem[] = [];
    for (const kv of r.responses[0].response_range.kvs) {
      const st = statuses.get(kv.key.toString().slice(specLen));
      const d = decodeObject(kind, rawKv(kv), st ? rawKv(st) : undefined);
      if (!d.ok) {
        invalid.push(d);
        opts.onInvalid?.(d);
        continue;
      }
      if (opts.selector && !matches(opts.selector, d.object.metadata.labels)) continue;
      items.push({ object: d.object, specRevision: d.specRevision, statusRevision: d.statusRevision });
    }
    return { items, invalid, revision: Number(r.header.revision) };
  }

  async list<K extends KindName>(kind: K, opts: ListOptions = {}): Promise<ObjectOfKind<K>[]> {
    return (await this.listStored(kind, opts)).items.map((s) => s.object);
  }

  /**
   * Creates an object: a new uid, generation 1, creationTimestamp now. Status, if given, is
   * written with it (for the programs that own status; users' status is dropped by apply).
   */
  async create<T extends KiwiObject>(obj: T, opts: { now?: Date } = {}): Promise<T> {
    const stored = stampNew(structuredClone(obj), opts.now ?? new Date());
    const key = keys.spec(refOf(stored));
    const ops = [putOp(key, specValue(stored))];
    if ((stored as any).status !== undefined) ops.push(putOp(keys.status(refOf(stored)), (stored as any).status));
    const what = `create ${stored.kind} ${refString(refOf(stored))}`;
    const r = await this.txn(what, [compare(key, 'Create', 'Equal', 0)], ops, [rangeOp(key)]);
    if (!r.succeeded) {
      // A retried call whose first attempt did commit finds exactly its own value: that is success.
      const existing = r.responses[0].response_range.kvs[0];
      if (existing?.value.toString() !== ops[0].request_put!.value!.toString()) throw new AlreadyExistsError(`${stored.kind} ${refString(refOf(stored))} already exists`);
      return withIdentity(stored, key, existing);
    }
    return withIdentity(stored, key, { create_revision: r.header.revision, mod_revision: r.header.revision, version: '1' });
  }

  /**
   * Replaces spec, labels and annotations if metadata.resourceVersion is still current.
   * generation (the key's version) goes up with the write; uid and creationTimestamp are kept.
   */
  async update<T extends KiwiObject>(obj: T): Promise<T> {
    const ref = refOf(obj);
    const rv = Number(obj.metadata.resourceVersion);
    if (!rv) throw new ConflictError(`update ${obj.kind} ${refString(ref)}: metadata.resourceVersion is required`);
    const key = keys.spec(ref);
    const current = await this.getStored(ref);
    if (!current) throw notFound(ref);
    if (current.specRevision !== rv) throw conflict(ref, rv, current.specRevision);
    const next = merged(current.object, obj);
    if (isDeepStrictEqual(specValue(next), specValue(current.object))) return current.object as T;
    const attempts = { n: 0 };
    const value = nonced(specValue(next));
    const r = await this.txn(`update ${obj.kind} ${refString(ref)}`, [compare(key, 'Mod', 'Equal', rv)], [putOp(key, value)], [rangeOp(key)], attempts);
    if (!r.succeeded) {
      const now = r.responses[0].response_range.kvs[0];
      // A retried call whose first attempt committed finds its own value (its nonce): success.
      // Anything else, even somebody's identical change (two `extend +10m` from one state), is
      // a conflict, so that the caller re-reads and both changes count.
      if (attempts.n > 1 && now && now.value.toString() === JSON.stringify(value)) return withIdentity(next, key, now);
      throw conflict(ref, rv, now ? Number(now.mod_revision) : 0);
    }
    next.metadata.resourceVersion = String(r.header.revision);
    next.metadata.generation = (current.object.metadata.generation ?? 0) + 1; // the compare held: one put since the version read
    return next as T;
  }

  /**
   * Creates the object, or updates it to match, or leaves it alone when nothing changed.
   * A resourceVersion given in the object is a precondition; without one, the current is used.
   */
  async apply<T extends KiwiObject>(obj: T): Promise<{ object: T; action: ApplyAction }> {
    return (await this.applyAll([obj]))[0];
  }

  /**
   * Applies a batch all or nothing: every object is read, compared and planned first, then all
   * changes are written in one transaction that holds only if none of them changed meanwhile
   * (a ConflictError, nothing written, otherwise). etcd takes at most MAX_TXN_OPS writes in one
   * transaction; a larger batch is written in several, each all or nothing.
   */
  async applyAll<T extends KiwiObject>(objs: T[], opts: { now?: Date } = {}): Promise<{ object: T; action: ApplyAction }[]> {
    const refs = objs.map(refOf);
    const specKeys = refs.map((r) => keys.spec(r));
    const seen = new Set<string>();
    for (const [i, k] of specKeys.entries()) {
      if (seen.has(k)) throw new InvalidError(`${objs[i].kind} ${refString(refs[i])} is given twice in one apply`);
      seen.add(k);
    }
    const current: (IKeyValue | undefined)[] = [];
    for (let i = 0; i < specKeys.length; i += MAX_TXN_OPS) {
      const r = await this.txn('read objects to apply', [], specKeys.slice(i, i + MAX_TXN_OPS).map((k) => rangeOp(k)));
      for (const resp of r.responses) current.push(resp.response_range.kvs[0]);
    }
    const now = opts.now ?? new Date();
    const results: { object: T; action: ApplyAction }[] = [];
    const writes: { i: number; key: string; value: string; compare: Compare }[] = [];
    objs.forEach((obj, i) => {
      const ref = refs[i];
      const kv = current[i];
      if (!kv) {
        if (obj.metadata.resourceVersion) throw notFound(ref);
        const created = stampNew(withoutStatus(structuredClone(obj)), now);
        results.push({ object: created, action: 'created' });
        writes.push({ i, key: specKeys[i], value: JSON.stringify(specValue(created)), compare: compare(specKeys[i], 'Create', 'Equal', 0) });
        return;
      }
      const d = decodeObject(obj.kind, rawKv(kv));
      const curRev = Number(kv.mod_revision);
      if (!d.ok) {
        // What is stored is no valid object (written past kiwictl): applying over it repairs it, still compare-and-swapped.
        if (obj.metadata.resourceVersion && Number(obj.metadata.resourceVersion) !== curRev) throw conflict(ref, Number(obj.metadata.resourceVersion), curRev);
        const repaired = stampNew(withoutStatus(structuredClone(obj)), now);
        results.push({ object: repaired, action: 'configured' });
        writes.push({ i, key: specKeys[i], value: JSON.stringify(specValue(repaired)), compare: compare(specKeys[i], 'Mod', 'Equal', curRev) });
        return;
      }
      const cur = d.object as KiwiObject;
      const rv = obj.metadata.resourceVersion ? Number(obj.metadata.resourceVersion) : curRev;
      if (rv !== curRev) throw conflict(ref, rv, curRev);
      const next = merged(cur, obj);
      if (isDeepStrictEqual(specValue(next), specValue(cur))) {
        results.push({ object: cur as T, action: 'unchanged' });
        return;
      }
      results.push({ object: next, action: 'configured' });
      writes.push({ i, key: specKeys[i], value: JSON.stringify(nonced(specValue(next))), compare: compare(specKeys[i], 'Mod', 'Equal', curRev) });
    });
    for (let c = 0; c < writes.length; c += MAX_TXN_OPS) {
      const chunk = writes.slice(c, c + MAX_TXN_OPS);
      const what = chunk.length === 1 ? `apply ${objs[chunk[0].i].kind} ${refString(refs[chunk[0].i])}` : `apply ${chunk.length} objects`;
      const r = await this.txn(what, chunk.map((w) => w.compare), chunk.map((w) => ({ request_put: { key: enc(w.key), value: enc(w.value) } })), chunk.map((w) => rangeOp(w.key)));
      let revision = Number(r.header.revision);
      let found: IKeyValue[] | undefined;
      if (!r.succeeded) {
        // A retried call whose first attempt committed finds exactly its own values: success.
        const now = r.responses.map((x) => x.response_range.kvs[0]);
        if (!chunk.every((w, j) => now[j]?.value.toString() === w.value)) {
          const changed = chunk.filter((w, j) => now[j]?.value.toString() !== w.value).map((w) => `${objs[w.i].kind} ${refString(refs[w.i])}`);
          throw new ConflictError(`${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` and ${changed.length - 3} more` : ''} changed while being applied; nothing of this apply was written${c > 0 ? ` after the first ${c} changes` : ''}: apply again`);
        }
        found = now as IKeyValue[];
      }
      chunk.forEach((w, j) => {
        const had = current[w.i];
        // The compares held, so each key was put once since it was read (or created).
        withIdentity(results[w.i].object, w.key, found?.[j] ?? { create_revision: had?.create_revision ?? String(revision), mod_revision: String(revision), version: String(had ? Number(had.version) + 1 : 1) });
      });
    }
    return results;
  }

  /** Writes status. With expectedStatusRevision, only if nobody wrote it since (0: no status yet). */
  async updateStatus<K extends KindName>(
    ref: ObjectRef & { kind: K },
    status: NonNullable<ObjectOfKind<K>['status']>,
    opts: { expectedStatusRevision?: number; lease?: string } = {},
  ): Promise<number> {
    const sk = keys.status(ref);
    const compares = [compare(keys.spec(ref), 'Create', 'Greater', 0)];
    if (opts.expectedStatusRevision !== undefined) compares.push(compare(sk, 'Mod', 'Equal', opts.expectedStatusRevision));
    const r = await this.txn(`update status of ${ref.kind} ${refString(ref)}`, compares, [putOp(sk, status, opts.lease)], [rangeOp(keys.spec(ref)), rangeOp(sk)]);
    if (!r.succeeded) {
      if (r.responses[0].response_range.kvs.length === 0) throw notFound(ref);
      throw new ConflictError(`${ref.kind} ${refString(ref)}: its status was changed by somebody else (status revision ${r.responses[1].response_range.kvs[0]?.mod_revision ?? 0}, expected ${opts.expectedStatusRevision}); re-read it and try again`);
    }
    return Number(r.header.revision);
  }

  /**
   * Deletes the object's spec key; with resourceVersion, only if the spec is unchanged. Its
   * status key is left to its writer (the operator, a node): only they may write statuses, and
   * decodeObject never joins a status older than the spec key's creation to an object.
   */
  async delete(ref: ObjectRef, opts: { resourceVersion?: string } = {}): Promise<void> {
    const key = keys.spec(ref);
    const compares = opts.resourceVersion
      ? [compare(key, 'Mod', 'Equal', Number(opts.resourceVersion))]
      : [compare(key, 'Create', 'Greater', 0)];
    const r = await this.txn(`delete ${ref.kind} ${refString(ref)}`, compares, [deleteOp(key)], [rangeOp(key)]);
    if (!r.succeeded) {
      const now = r.responses[0].response_range.kvs[0];
      if (!now) throw notFound(ref);
      throw conflict(ref, Number(opts.resourceVersion), Number(now.mod_revision));
    }
  }

  /** Records an event; the returned op lets a caller put it into its own transaction instead. */
  eventOp(ev: KiwiEvent, seq: number | string = Date.now()): IRequestOp {
    const ref = { kind: ev.kind, name: ev.name, namespace: ev.namespace };
    return putOp(keys.event(ref, `${ev.time}-${String(seq).padStart(8, '0')}`), ev);
  }

  async recordEvent(ev: KiwiEvent): Promise<void> {
    await this.txn(`record event for ${ev.kind} ${ev.name}`, [], [this.eventOp(ev, randomUUID().slice(0, 8))]);
  }

  async listEvents(ref: ObjectRef): Promise<KiwiEvent[]> {
    const r = await this.call(`list events of ${ref.kind} ${refString(ref)}`, () => this.etcd.getAll().prefix(keys.eventPrefix(ref)).exec());
    // A node writes its own events: one that does not parse is left out, not a failed listing.
    return r.kvs.flatMap((kv) => {
      const p = parseValue(kv.value);
      return 'value' in p && p.value !== null && typeof p.value === 'object' ? [p.value as KiwiEvent] : [];
    });
  }

  /** Reads raw keys under a prefix (calendars, heartbeats). */
  async rawRange(prefix: string, isPrefix = true): Promise<{ kvs: IKeyValue[]; revision: number }> {
    const r = await this.txn(`read ${prefix}`, [], [rangeOp(prefix, isPrefix)]);
    return { kvs: r.responses[0].response_range.kvs, revision: Number(r.header.revision) };
  }
}

export function refOf(obj: KiwiObject): ObjectRef {
  return { kind: obj.kind, name: obj.metadata.name!, namespace: kindInfo(obj.kind).namespaced ? obj.metadata.namespace : undefined };
}

function notFound(ref: ObjectRef): NotFoundError {
  return new NotFoundError(`${ref.kind} ${refString(ref)} not found`);
}

function conflict(ref: ObjectRef, expected: number, actual: number): ConflictError {
  return new ConflictError(
    `${ref.kind} ${refString(ref)} was changed by somebody else (resourceVersion ${actual}, you had ${expected}); get it again and re-apply your change`,
  );
}

/**
 * What the store sets on an object it creates: generation 1, the creation time, and a random
 * metadata.uid that is only create()'s nonce (a retried create knows its own write by it):
 * every reader replaces it with etcd's (decode.ts), so nothing goes by a uid from a value.
 */
function stampNew<T extends KiwiObject>(obj: T, now: Date): T {
  obj.metadata = { ...obj.metadata, uid: randomUUID(), generation: 1, creationTimestamp: rfc3339(now) };
  delete obj.metadata.resourceVersion;
  return obj;
}

/**
 * The stored value with a fresh metadata.uid: every write's own nonce, as create()'s is, so a
 * retried write tells its own commit from another writer's identical value (which readers
 * never see: they take the uid from etcd).
 */
function nonced(value: { metadata: object }): { metadata: object } {
  return { ...value, metadata: { ...value.metadata, uid: randomUUID() } };
}

/** The identity etcd gave an object it stored: uid from the key's create revision, resourceVersion its mod revision, generation its version. */
function withIdentity<T extends KiwiObject>(obj: T, specKey: string, kv: Pick<IKeyValue, 'create_revision' | 'mod_revision' | 'version'>): T {
  obj.metadata.uid = entryUid(specKey, kv.create_revision);
  obj.metadata.resourceVersion = String(kv.mod_revision);
  obj.metadata.generation = Number(kv.version);
  return obj;
}


function withoutStatus<T extends KiwiObject>(obj: T): T {
  const { status: _s, ...rest } = obj as T & { status?: unknown };
  return rest as T;
}

/** The current object with the user-owned parts (spec, labels, annotations) of `obj`. */
export function merged<T extends KiwiObject>(current: KiwiObject, obj: T): T {
  const next = structuredClone(current) as any;
  next.spec = structuredClone((obj as any).spec);
  if (next.spec === undefined) delete next.spec;
  const m = obj.metadata;
  if (m.labels && Object.keys(m.labels).length) next.metadata.labels = { ...m.labels };
  else delete next.metadata.labels;
  if (m.annotations && Object.keys(m.annotations).length) next.metadata.annotations = { ...m.annotations };
  else delete next.metadata.annotations;
  return next as T;
}

export type { IResponseOp };
