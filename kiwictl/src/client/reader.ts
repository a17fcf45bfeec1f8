// Reading objects for `get` and `describe` with the small gRPC client of wire.ts instead of the
// Store over etcd3: a read needs none of etcd3's start-up cost (see wire.ts). Writes and watches
// keep using the Store (client/index.ts), which stays the one place that writes. The object
// assembly mirrors Store.listStored: spec and status read in one transaction (one revision),
// resourceVersion = the spec key's mod_revision.
import type { KindName, ObjectOfKind, KiwiEvent } from '../../../crds/api/types.js';
import { keys, prefixEnd, refString, type ObjectRef } from '../../../crds/api/keys.js';
import { kindInfo } from '../../../crds/api/kinds.js';
import { ForbiddenError, UnavailableError } from '../../../crds/api/errors.js';
import { matches, type Requirement } from '../../../crds/api/selector.js';
import { decodeTxnRanges, encodeTxnRanges, unaryCall, WireError, type WireKv, type WireSecurity } from './wire.js';

/** What get and describe need; the Store has the same methods, so either can serve them. */
export interface Reader {
  get<K extends KindName>(ref: ObjectRef & { kind: K }): Promise<ObjectOfKind<K> | undefined>;
  list<K extends KindName>(kind: K, opts?: { namespace?: string; selector?: Requirement[] }): Promise<ObjectOfKind<K>[]>;
  listEvents(ref: ObjectRef): Promise<KiwiEvent[]>;
}


export class EtcdReader implements Reader {
  constructor(
    private readonly endpoints: string[],
    private readonly timeoutMs: number,
    private readonly security: WireSecurity = {},
  ) {}

  /** Reads several ranges in one transaction: one revision for all of them. */
  async ranges(what: string, ranges: { key: string; prefix?: boolean }[]): Promise<WireKv[][]> {
    const msg = encodeTxnRanges(ranges.map((r) => ({ key: Buffer.from(r.key), ...(r.prefix ? { rangeEnd: prefixEnd(r.key) } : {}) })));
    let last: WireError | undefined;
    for (const ep of this.endpoints) {
      try {
        return decodeTxnRanges(await unaryCall(ep, '/etcdserverpb.KV/Txn', msg, this.timeoutMs, this.security)).ranges;
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
    return assemble<ObjectOfKind<K>>(spec[0], status[0]);
  }

  async list<K extends KindName>(kind: K, opts: { namespace?: string; selector?: Requirement[] } = {}): Promise<ObjectOfKind<K>[]> {
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
      const obj = assemble<ObjectOfKind<K>>(kv, statuses.get(kv.key.slice(specAt)))!;
      if (!opts.selector || matches(opts.selector, obj.metadata.labels)) out.push(obj);
    }
    return out;
  }

  async listEvents(ref: ObjectRef): Promise<KiwiEvent[]> {
    const [r] = await this.ranges(`list events of ${ref.kind} ${refString(ref)}`, [{ key: keys.eventPrefix(ref), prefix: true }]);
    return r.map((kv) => JSON.parse(kv.value) as KiwiEvent);
  }
}

function assemble<T>(spec: WireKv | undefined, status: WireKv | undefined): T | undefined {
  if (!spec) return undefined;
  const obj = JSON.parse(spec.value);
  obj.metadata.resourceVersion = String(spec.modRevision);
  if (status) obj.status = JSON.parse(status.value);
  return obj as T;
}
