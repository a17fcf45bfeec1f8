// Decoding what etcd holds into Kiwi objects. Every stored value is untrusted input: a user or
// a node may have written it straight into etcd, past kiwictl. So each key is decoded on its own,
// and a value that does not parse, is not an object of its kind, or claims another name than its
// key is a Problem naming the key, never an exception (one bad key must not fail a listing nor
// crash the operator). Identity comes from the key and from etcd, never from the value: namespace
// and name from the key, uid from the key's create revision (entryUid), resourceVersion from its
// mod revision, generation from its version (how many times the key was written since it was
// created: a user cannot hold it still while changing the spec). Light on purpose (no ajv): kiwictl's reads use it; callers that hold the schema
// validator pass it in as `check`.
import type { KindName, ObjectOfKind } from './types.js';
import { API_VERSION } from './types.js';
import { entryUid, isKeySegment, refFromKey, refString, type ObjectRef } from './keys.js';
import { kindInfo } from './kinds.js';
import { InvalidError } from './errors.js';

/** etcd3's key-value (IKeyValue) as decodeObject reads it. */
export function rawKv(kv: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string; version: string }): RawKv {
  return { key: kv.key.toString(), value: kv.value, modRevision: kv.mod_revision, createRevision: kv.create_revision, version: kv.version };
}

/** One key as read from etcd, whatever client read it. */
export interface RawKv {
  key: string;
  value: string | Buffer;
  modRevision: number | string;
  /** 0 or absent where the client did not read it (then the uid cannot be derived: a problem). */
  createRevision?: number | string;
  /** The key's version (1 when created, +1 each put); 0 or absent where not read (then the generation is unknown: a problem). */
  version?: number | string;
}

export interface DecodeProblem {
  key: string;
  ref?: ObjectRef;
  problem: string;
}

export type Decoded<K extends KindName> =
  | { ok: true; object: ObjectOfKind<K>; specRevision: number; statusRevision: number; createRevision: number; statusProblem?: DecodeProblem }
  | ({ ok: false } & DecodeProblem);

/** A schema check for a whole object: '' when it passes, else what is wrong. `bytes`: its size as stored (spec and status values). */
export type ObjectCheck = (obj: unknown, where: string, bytes: number) => string;

const byteLength = (v: string | Buffer) => (typeof v === 'string' ? Buffer.byteLength(v) : v.length);

/** JSON.parse that returns the problem instead of throwing (deep nesting, bad bytes, anything). */
export function parseValue(value: string | Buffer): { value: unknown } | { problem: string } {
  try {
    return { value: JSON.parse(typeof value === 'string' ? value : value.toString('utf8')) };
  } catch (e) {
    const msg = e instanceof RangeError ? 'nested too deeply' : (e as Error).message.split('\n')[0].slice(0, 120);
    return { problem: `is not JSON (${msg})` };
  }
}

/** Deeper than any Kiwi object nests (as load.ts refuses in input): refused before anything recurses into it. */
export const MAX_STORED_DEPTH = 64;

/** Does `v` nest deeper than `max`? Iterative: a value nested 100,000 deep must not overflow the stack here. */
export function nestsDeeper(v: unknown, max = MAX_STORED_DEPTH): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) return true;
    for (const y of Array.isArray(x) ? x : Object.values(x)) if (y !== null && typeof y === 'object') stack.push([y, d + 1]);
  }
  return false;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const clip = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? String(v);

/**
 * The object stored under spec key `spec.key` (with its status key's value, if any). The spec
 * key must be a key of `kind`; the value must be a JSON object of that kind whose metadata
 * names exactly the key. A status that does not parse is dropped (statusProblem), the object kept:
 * whoever owns the status writes a fresh one.
 */
export function decodeObject<K extends KindName>(kind: K, spec: RawKv, status?: RawKv, check?: ObjectCheck): Decoded<K> {
  const key = spec.key;
  const ref = refFromKey(key);
  const fail = (problem: string, r: ObjectRef | undefined = ref): Decoded<K> => ({ ok: false, key, ...(r ? { ref: { kind: r.kind, name: r.name, ...(r.namespace !== undefined ? { namespace: r.namespace } : {}) } } : {}), problem: `${key}: ${problem}` });
  if (!ref || ref.part !== 'spec' || ref.kind !== kind) return fail(`is not a ${kind} spec key`, undefined);
  if (!isKeySegment(ref.name, 'name') || (ref.namespace !== undefined && !isKeySegment(ref.namespace, 'user')))
    return fail(`names no valid ${kind}: the name (and a Booking's namespace, its user) in the key must be lower-case letters, digits, "-" and "."`);
  const createRevision = Number(spec.createRevision ?? 0);
  if (!createRevision) return fail('was read without its create revision, so its uid is unknown');
  const version = Number(spec.version ?? 0);
  if (!version) return fail('was read without its version, so its generation is unknown');
  const parsed = parseValue(spec.value);
  if ('problem' in parsed) return fail(parsed.problem);
  const o = parsed.value;
  if (!isMap(o)) return fail(`holds ${o === null ? 'null' : Array.isArray(o) ? 'an array' : `a ${typeof o}`}, not a ${kind} object`);
  if (nestsDeeper(o)) return fail(`nests deeper than ${MAX_STORED_DEPTH} levels`);
  if (o.apiVersion !== API_VERSION) return fail(`apiVersion is ${clip(o.apiVersion)}, not ${API_VERSION}`);
  if (o.kind !== kind) return fail(`kind is ${clip(o.kind)}, not ${kind}`);
  const m = o.metadata;
  if (!isMap(m)) return fail('metadata is not an object');
  if (m.name !== ref.name) return fail(`metadata.name is ${clip(m.name)}, but the key names ${JSON.stringify(ref.name)}: refused (an object is known by its key only)`);
  if (m.namespace !== ref.namespace)
    return fail(ref.namespace === undefined ? `metadata.namespace is ${clip(m.namespace)}, but a ${kind} has none` : `metadata.namespace is ${clip(m.namespace)}, but the key is in namespace ${JSON.stringify(ref.namespace)}: refused (a booking's user is the namespace of its key)`);
  for (const f of ['labels', 'annotations'] as const) {
    const v = m[f];
    if (v !== undefined && (!isMap(v) || Object.values(v).some((x) => typeof x !== 'string'))) return fail(`metadata.${f} is not a map of strings`);
  }
  if (o.spec !== undefined && !isMap(o.spec)) return fail('spec is not an object');
  // Identity from etcd, whatever the value says.
  m.uid = entryUid(key, createRevision);
  m.resourceVersion = String(spec.modRevision);
  // Every write of the spec key counts, whatever the value claims: a raw write that kept the
  // generation it was admitted at while changing the spec skipped admission.
  m.generation = version;
  if ('status' in o) delete o.status; // status lives under its own key
  const where = `${kind} ${refString(ref)}`;
  let statusProblem: DecodeProblem | undefined;
  // The real revision even of a status ignored: the owner's compare-and-swap over it must hold.
  const statusRevision = status ? Number(status.modRevision) : 0;
  // A status written before this key was (re-)created belongs to an earlier object of the same name.
  if (status && Number(status.modRevision) < createRevision) status = undefined;
  if (status) {
    const st = parseValue(status.value);
    const why = 'problem' in st ? st.problem : !isMap(st.value) ? 'is not an object' : nestsDeeper(st.value) ? `nests deeper than ${MAX_STORED_DEPTH} levels` : '';
    if (why) statusProblem = { key: status.key, ref, problem: `${status.key}: ${why}; the status is ignored` };
    else o.status = (st as { value: unknown }).value;
  }
  if (check) {
    const specBytes = byteLength(spec.value);
    let why = check(o, where, specBytes + ('status' in o ? byteLength(status!.value) : 0));
    if (why && 'status' in o) {
      // Is it the status (written by a node, say) or the object itself?
      delete o.status;
      const without = check(o, where, specBytes);
      if (!without) statusProblem = { key: status!.key, ref, problem: `${status!.key}: ${why}; the status is ignored` };
      why = without;
    }
    if (why) return fail(why);
  }
  return { ok: true, object: o as unknown as ObjectOfKind<K>, specRevision: Number(spec.modRevision), statusRevision, createRevision, ...(statusProblem ? { statusProblem } : {}) };
}

/** The error of reading one object whose stored value is not valid: names the key and the way out. */
export function unreadableError(ref: ObjectRef, p: DecodeProblem): InvalidError {
  const del = `kiwictl delete ${kindInfo(ref.kind).singular} ${ref.name}${ref.namespace ? ` -n ${ref.namespace}` : ''}`;
  return new InvalidError(`${ref.kind} ${refString(ref)} cannot be read: ${p.problem}; delete it (${del}) and create it again`);
}
