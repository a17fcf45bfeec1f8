// Reading objects for `get` and `describe` with the small gRPC client of wire.ts instead of the
// Store over etcd3: a read needs none of etcd3's start-up cost (see wire.ts). Writes keep using
// the Store (client/index.ts, over wire-etcd.ts), which stays the one place that writes. The object
// assembly mirrors Store.listStored: spec and status read in one transaction (one revision),
// resourceVersion = the spec key's mod_revision.
import type { KindName, ObjectOfKind, KiwiEvent } from '../../../crds/api/types.js';
import { keys, prefixEnd, refString, type ObjectRef } from '../../../crds/api/keys.js';
import { kindInfo } from '../../../crds/api/kinds.js';
import { ForbiddenError, InvalidError, UnavailableError } from '../../../crds/api/errors.js';
import { matches } from '../../../crds/api/selector.js';
import { decodeObject, parseValue, unreadableError } from '../../../crds/api/decode.js';
import type { ListOptions } from '../../../crds/api/store.js';
import { decodeTxnRanges, encodeTxnRanges, Sessions, unaryCall, WireError, type TxnRangesResult, type WireKv, type WireSecurity } from './wire.js';

/** What get and describe need; the Store has the same methods, so either can serve them. */
export interface Reader {
  get<K extends KindName>(ref: ObjectRef & { kind: K }): Promise<ObjectOfKind<K> | undefined>;
  /** Each key decoded on its own: one that is not a valid object is left out (opts.onInvalid). */
  list<K extends KindName>(kind: K, opts?: ListOptions): Promise<ObjectOfKind<K>[]>;
  listEvents(ref: ObjectRef): Promise<KiwiEvent[]>;
}


export class EtcdReader implements Reader {
  /** One connection per endpoint for all calls of this reader (and one login, with a user). */
  readonly sessions: Sessions;
  constructor(
    readonly endpoints: string[],
    readonly timeoutMs: number,
    security: WireSecurity = {},
  ) {
    this.sessions = new Sessions(security);
  }

  /** Reads several ranges in one transaction: one revision for all of them. */
  async ranges(what: string, ranges: { key: string; prefix?: boolean; end?: string }[]): Promise<WireKv[][]> {
    return (await this.rangesAt(what, ranges)).ranges;
  }

  /** ranges(), with the revision they were read at (where a watch of them starts). */
  async rangesAt(what: string, ranges: { key: string; prefix?: boolean; end?: string }[]): Promise<TxnRangesResult> {
    const msg = encodeTxnRanges(ranges.map((r) => ({ key: Buffer.from(r.key), ...(r.end !== undefined ? { rangeEnd: Buffer.from(r.end) } : r.prefix ? { rangeEnd: prefixEnd(r.key) } : {}) })));
    let last: WireError | undefined;
    for (const ep of this.endpoints) {
      try {
        return decodeTxnRanges(await unaryCall(ep, '/etcdserverpb.KV/Txn', msg, this.timeoutMs, this.sessions));
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        // 7 permission denied, 16 unauthenticated: the next member would say the same
        if (e.code === 7 || e.code === 16) throw new ForbiddenError(`${what}: permission denied by etcd (${e.message})`);
        if (e.code !== 14 && e.code !== 4) throw new Error(`${what}: etcd answered: ${e.message}`);
        last = e;
      }
    }
    throw new UnavailableError(`${what}: etcd at ${this.endpoints.join(',')} did not answer (${last?.message})`);
  }

  async get<K extends KindName>(ref: ObjectRef & { kind: K }): Promise<ObjectOfKind<K> | undefined> {
    const [spec, status] = await this.ranges(`get ${ref.kind} ${refString(ref)}`, [{ key: keys.spec(ref) }, { key: keys.status(ref) }]);
    if (!spec[0]) return undefined;
    const d = decodeObject(ref.kind, spec[0], status[0]);
    if (!d.ok) throw unreadableError(ref, d);
    return d.object;
  }

  async list<K extends KindName>(kind: K, opts: ListOptions = {}): Promise<ObjectOfKind<K>[]> {
    const [spec, status] = await this.ranges(`list ${kindInfo(kind).plural}`, [
      { key: keys.specPrefix(kind, opts.namespace), prefix: true },
      { key: keys.statusPrefix(kind, opts.namespace), prefix: true },
    ]);
    const statusAt = keys.statusPrefix(kind).length;
    const statuses = new Map<string, WireKv>();
    for (const kv of status) statuses.set(kv.key.slice(statusAt), kv);
    const specAt = keys.specPrefix(kind).length;
    const out: ObjectOfKind<K>[] = [];
    for (const kv of spec) {
      const d = decodeObject(kind, kv, statuses.get(kv.key.slice(specAt)));
      if (!d.ok) opts.onInvalid?.(d);
      else if (!opts.selector || matches(opts.selector, d.object.metadata.labels)) out.push(d.object);
    }
    return out;
  }

  async listEvents(ref: ObjectRef): Promise<KiwiEvent[]> {
    const [r] = await this.ranges(`list events of ${ref.kind} ${refString(ref)}`, [{ key: keys.eventPrefix(ref), prefix: true }]);
    // A node writes its own events: one that does not parse is left out, not a failed listing.
    return r.flatMap((kv) => {
      const p = parseValue(kv.value);
      return 'value' in p && p.value !== null && typeof p.value === 'object' ? [p.value as KiwiEvent] : [];
    });
  }
}

/**
 * One object from its spec and status keys, decoded as every reader does (crds/api/decode.ts);
 * a stored value that is not a valid object counts as none here: applying over it repairs it.
 */
function assemble(ref: ObjectRef, spec: WireKv | undefined, status: WireKv | undefined): KiwiObjectAny | undefined {
  if (!spec) return undefined;
  const d = decodeObject(ref.kind, spec, status);
  return d.ok ? d.object : undefined;
}

/** Refs read per transaction (two ranges each: etcd's default --max-txn-ops is 128). */
const MANY_PER_TXN = 64;
const MANY_IN_FLIGHT = 8;

/**
 * Many objects by reference, in transactions of 64 and 8 of them in flight: `apply --dry-run`
 * and `diff` of 100,000 documents read in about a second instead of one round trip each. Each
 * transaction reads at one revision; the whole set need not.
 */
export async function getMany(reader: Reader, refs: ObjectRef[]): Promise<(KiwiObjectAny | undefined)[]> {
  const out: (KiwiObjectAny | undefined)[] = new Array(refs.length);
  const chunks: number[] = [];
  for (let i = 0; i < refs.length; i += MANY_PER_TXN) chunks.push(i);
  const readChunk = async (from: number) => {
    const part = refs.slice(from, from + MANY_PER_TXN);
    if (reader instanceof EtcdReader) {
      const rs = await reader.ranges(`read ${part.length} objects`, part.flatMap((r) => [{ key: keys.spec(r) }, { key: keys.status(r) }]));
      part.forEach((r, j) => (out[from + j] = assemble(r, rs[2 * j][0], rs[2 * j + 1][0])));
    } else {
      // The Store (credentials or TLS): one get each, in parallel within the chunk.
      const got = await Promise.all(part.map((r) => reader.get(r as ObjectRef & { kind: KindName }).catch((e) => (e instanceof InvalidError ? undefined : Promise.reject(e)))));
      got.forEach((o, j) => (out[from + j] = o as KiwiObjectAny | undefined));
    }
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(MANY_IN_FLIGHT, chunks.length) }, async () => {
      while (next < chunks.length) await readChunk(chunks[next++]);
    }),
  );
  return out;
}

type KiwiObjectAny = ObjectOfKind<KindName>;

/** Raw values of one key or a prefix, through whichever reader this is (wire, or the Store). */
export async function rawValues(reader: Reader, key: string, prefix = false): Promise<{ key: string; value: string }[]> {
  if (reader instanceof EtcdReader) {
    const [r] = await reader.ranges(`read ${key}`, [{ key, prefix }]);
    return r.map((kv) => ({ key: kv.key, value: kv.value }));
  }
  const store = reader as unknown as { rawRange(p: string, isPrefix?: boolean): Promise<{ kvs: { key: Buffer; value: Buffer }[] }> };
  const r = await store.rawRange(key, prefix);
  return r.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString() }));
}
